"""PDF and Word loaders on real files built in the test, and their refusals of bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from _ingestparse_fixtures import write_docx, write_image_pdf, write_pdf

from retrieval.loaders import load_path
from retrieval.loaders.pdf import unwrap_lines
from retrieval.types import LoaderError

pytestmark = pytest.mark.unit

_LONG = (
    "The applicant submits the identity card and the household register to the service window, "
    "which checks them within five working days and replies in writing to the applicant."
)


def test_pdf_text_title_and_unwrapped_paragraphs(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "guide.pdf",
        ["Service rules", _LONG, "1. Identity card", "2. Household register"],
        title="Hubei Service Rules",
    )
    doc = load_path(path)
    assert doc.title == "Hubei Service Rules"
    assert doc.doc_type == "policy"
    assert doc.metadata["source"] == str(path)
    assert doc.metadata["pages"] == 1
    assert doc.metadata["status"] == "有效"
    lines = doc.text.split("\n")
    assert _LONG in lines  # the multi-line paragraph is one line again
    assert "1. Identity card" in lines and "2. Household register" in lines


def test_pdf_without_info_title_takes_its_first_short_line(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "notice_2025.pdf", ["Notice on Service Hours", "Windows open at nine."])
    doc = load_path(path)
    assert doc.title == "Notice on Service Hours"
    assert doc.doc_id == "notice-2025"
    assert doc.text == "Windows open at nine."


def test_pdf_encrypted_with_empty_user_password_still_loads(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "open.pdf", ["Readable by anyone."], user_password="")
    assert "Readable by anyone." in load_path(path).text


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n%garbage that is not a PDF body\n")
    return path


def _truncated(tmp_path: Path) -> Path:
    good = write_pdf(tmp_path / "good.pdf", ["Some text that will be cut off."])
    path = tmp_path / "truncated.pdf"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _not_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "fake.pdf"
    path.write_bytes(bytes(range(256)) * 8)
    return path


@pytest.mark.parametrize(
    ("make", "chinese", "english"),
    [
        (_broken, "损坏", "damaged"),
        (_truncated, "损坏", "damaged"),
        (_not_pdf, "损坏", "damaged"),
        (lambda t: write_pdf(t / "locked.pdf", ["secret"], user_password="pw"), "加密", "encrypted"),
        (lambda t: write_image_pdf(t / "scan.pdf", t), "扫描件", "OCR"),
    ],
)
def test_bad_pdfs_are_refused_with_a_bilingual_reason(
    tmp_path: Path, make, chinese: str, english: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(LoaderError) as err:
        load_path(path)
    message = str(err.value)
    assert message.startswith(str(path))
    assert chinese in message and english in message


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # a full-width Chinese line running on into the next is a hard wrap
        (
            ["湖北省推进政务服务标准化规范化便利化", "建设的实施意见。"],
            ["湖北省推进政务服务标准化规范化便利化建设的实施意见。"],
        ),
        # a sentence end, a numbered item or a heading is never joined
        (["申请人应当提交下列材料。", "身份证明材料。"], ["申请人应当提交下列材料。", "身份证明材料。"]),
        (
            ["申请人应当提交下列材料包括", "（一）居民身份证"],
            ["申请人应当提交下列材料包括", "（一）居民身份证"],
        ),
        (
            ["申请人应当提交下列材料包括", "第二条 本办法适用于"],
            ["申请人应当提交下列材料包括", "第二条 本办法适用于"],
        ),
        (["一、总体要求", "坚持以人民为中心的发展思想"], ["一、总体要求", "坚持以人民为中心的发展思想"]),
        # a short line (a title) is not a wrap
        (["通知", "各市州人民政府办公室请按照要求执行"], ["通知", "各市州人民政府办公室请按照要求执行"]),
        # Latin wraps join with a space; blank lines stay paragraph breaks
        (["the applicant must submit the", "identity card"], ["the applicant must submit the identity card"]),
        (["第一段内容很长很长很长", "", "第二段"], ["第一段内容很长很长很长", "", "第二段"]),
        ([], []),
    ],
)
def test_unwrap_lines(lines: list[str], expected: list[str]) -> None:
    assert unwrap_lines(lines) == expected


def test_docx_title_style_headings_and_tables(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "data_market.docx")
    doc = load_path(path)
    assert doc.doc_id == "data-market"
    assert doc.title == "湖北省数据要素市场建设办法"
    assert doc.metadata["source"] == str(path)
    assert doc.doc_type == "policy" and doc.metadata["status"] == "有效"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("第一章 总则", "为了促进数据要素市场健康发展，制定本办法。"),
        (
            "第一章 总则 > 适用范围",
            "本办法适用于本省行政区域内的数据交易活动。\n\n事项 | 时限\n\n数据登记 | 5个工作日",
        ),
        ("第二章 附则", "本办法自发布之日起施行。"),
    ]


def test_docx_without_heading_styles_falls_back_to_numbering(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for text in ("一、工作目标", "实现高频事项全程网办。", "二、保障措施", "加强组织领导。"):
        document.add_paragraph(text)
    path = tmp_path / "plan.docx"
    document.save(str(path))
    doc = load_path(path)
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("一、工作目标", "实现高频事项全程网办。"),
        ("二、保障措施", "加强组织领导。"),
    ]


@pytest.mark.parametrize("cut", ["half", "garbage", "empty_zip"])
def test_damaged_docx_is_refused(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "damaged.docx"
    if cut == "half":
        good = write_docx(tmp_path / "good.docx").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif cut == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip archive")
    else:
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "no word document in here")
    with pytest.raises(LoaderError) as err:
        load_path(path)
    assert str(err.value).startswith(str(path))
    assert "docx" in str(err.value)


def test_docx_with_no_text_is_empty(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(LoaderError, match="no text"):
        load_path(path)
