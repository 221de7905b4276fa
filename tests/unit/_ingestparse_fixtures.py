"""Builders for real input files (PDF, .docx, guide YAML) used by the ingest/parse unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import yaml
from fpdf import FPDF
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
POLICY_PATH = (
    REPO / "retrieval" / "sample_kb" / "policies" / "hubei-ai-industry-implementation-opinions-2025.md"
)

MATERIAL_NAMES = (
    "出生医学证明",
    "父母双方居民身份证",
    "户口簿",
    "结婚证",
    "社会保障卡申领登记表",
    "医疗保险参保登记表",
)


def guide_data(**overrides: Any) -> dict[str, Any]:
    """A valid ServiceGuide mapping for the 新生儿出生一件事 (sample data)."""
    data: dict[str, Any] = {
        "id": "birth",
        "name": "新生儿出生一件事",
        "aliases": ["生娃办证", "出生一件事"],
        "audience": "个人",
        "region": "湖北省",
        "summary": "将出生医学证明办理、户口登记、医保参保、社保卡申领等事项集成办理。",
        "bundled_items": ["出生医学证明办理", "户口登记", "城乡居民医保参保登记", "社会保障卡申领"],
        "departments": ["省卫健委", "省公安厅", "省医保局", "省人社厅"],
        "conditions": ["新生儿在湖北省内医疗机构出生", "父母至少一方为湖北省户籍"],
        "materials": [
            {"name": MATERIAL_NAMES[0], "source": "政府部门核发"},
            {"name": MATERIAL_NAMES[1], "original": "原件及复印件", "copies": 2},
            {"name": MATERIAL_NAMES[2]},
            {"name": MATERIAL_NAMES[3], "necessity": "容缺", "exemption": "可用电子证照免提交"},
            {"name": MATERIAL_NAMES[4], "form": "电子", "copies": 0},
            {"name": MATERIAL_NAMES[5], "condition": "非本省户籍", "note": "在线填写"},
        ],
        "steps": ["在鄂汇办APP提交申请", "部门联合审核", "结果寄递或窗口领取"],
        "time_limit": "5个工作日",
        "visits": "0次",
        "channels": ["鄂汇办APP", "湖北政务服务网", "医院出生一件事窗口"],
        "fees": "不收费",
        "legal_basis": ["《中华人民共和国母婴保健法》", "《中华人民共和国户口登记条例》"],
        "faq": [{"q": "孩子出生多久内办理？", "a": "建议在出生后一个月内办理。"}],
        "status": "有效",
        "valid_until": "2027-12-31",
        "confidence": {"time_limit": "inferred_typical"},
    }
    data.update(overrides)
    return data


def write_guide(path: Path, data: dict[str, Any] | None = None) -> Path:
    path.write_text(
        yaml.safe_dump(data or guide_data(), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path


def write_pdf(
    path: Path,
    paragraphs: list[str],
    *,
    title: str | None = None,
    user_password: str | None = None,
) -> Path:
    """A real text PDF (core Helvetica font, so Latin text only)."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for para in paragraphs:
        pdf.multi_cell(0, 8, para, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.output(str(path))
    return path


def write_image_pdf(path: Path, tmp_dir: Path) -> Path:
    """A PDF whose only page content is a picture, like a scanned document."""
    image_path = tmp_dir / "scan.png"
    Image.new("RGB", (200, 100), (200, 30, 30)).save(image_path)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(image_path), x=10, y=10, w=100)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A .docx with a Title paragraph, two heading levels, body paragraphs and a table."""
    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("湖北省数据要素市场建设办法", style="Title")
    document.add_heading("第一章 总则", level=1)
    document.add_paragraph("为了促进数据要素市场健康发展，制定本办法。")
    document.add_heading("适用范围", level=2)
    document.add_paragraph("本办法适用于本省行政区域内的数据交易活动。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "事项"
    table.cell(0, 1).text = "时限"
    table.cell(1, 0).text = "数据登记"
    table.cell(1, 1).text = "5个工作日"
    document.add_heading("第二章 附则", level=1)
    document.add_paragraph("本办法自发布之日起施行。")
    document.save(str(path))
    return path
