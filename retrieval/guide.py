"""Structured service guide (办事指南) for one 高效办成一件事 item.

The guide is the single verbatim source for materials, fees, time limits and legal basis:
the assistant quotes these fields, it never generates them. Field names follow the national
办事指南 elements (GB/T 39554-style 基本要素, 申请材料 sub-fields).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Confidence = Literal[
    "verified",
    "sourced_national",
    "sourced_hubei",
    "sourced_other_region",
    "sourced_third_party_low",
    "inferred_typical",
    "unknown",
]

# Shown beside every field whose fact is inferred or unknown, and on every guide that is sample data.
UNVERIFIED_NOTE = "（样例信息，未经核实，以湖北政务服务网现行办事指南为准）"
SAMPLE_NOTICE = (
    "本指南为govchat样例知识库内容，依据公开资料整理，具体以湖北政务服务网、鄂汇办现行办事指南为准。"
)

# Field groups in the order they are rendered; each becomes one block (and so at least one chunk).
FIELD_SECTIONS: dict[str, str] = {
    "summary": "事项简介",
    "bundled_items": "包含事项",
    "conditions": "办理条件",
    "materials": "申请材料",
    "steps": "办理流程",
    "time_limit": "办理时限",
    "visits": "到现场次数",
    "channels": "办理渠道",
    "fees": "收费标准",
    "departments": "责任部门",
    "legal_basis": "设定依据",
    "consult": "咨询方式",
    "faq": "常见问题",
}


class Material(BaseModel):
    """One entry of 申请材料, with the national sub-fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    necessity: Literal["必要", "非必要", "容缺"] = "必要"
    source: Literal["申请人自备", "政府部门核发", "数据共享", "其他"] = "申请人自备"
    form: Literal["纸质", "电子", "纸质或电子"] = "纸质或电子"
    original: Literal["原件", "复印件", "原件及复印件", "无需提交"] = "原件"
    copies: int = Field(default=1, ge=0)
    exemption: str = ""  # e.g. 可用电子证照免提交 / 数据共享免提交
    condition: str = ""  # human-readable situation in which it is needed, e.g. 非本省户籍
    note: str = ""

    def render(self) -> str:
        parts = [f"{self.necessity}", self.source, self.form, self.original]
        if self.copies:
            parts.append(f"{self.copies}份")
        line = f"{self.name}（{'，'.join(parts)}）"
        if self.condition:
            line += f"；适用情形：{self.condition}"
        if self.exemption:
            line += f"；{self.exemption}"
        if self.note:
            line += f"；说明：{self.note}"
        return line


class FAQ(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    q: str
    a: str


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    url: str = ""


class ServiceGuide(BaseModel):
    """A 一件事 service guide as shipped in YAML. ``id`` is the document id (e.g. ``birth``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    aliases: list[str] = Field(default_factory=list)  # colloquial names, also fed to the jieba dictionary
    audience: Literal["个人", "企业", "个人和企业"]
    region: str = "湖北省"
    item_code: str = ""  # 事项编码 / 一件事编码 where known
    handling_type: str = "承诺件"  # 即办件 / 承诺件
    summary: str
    bundled_items: list[str]
    departments: list[str]
    conditions: list[str]
    materials: list[Material]
    steps: list[str]
    time_limit: str
    visits: str
    channels: list[str]
    fees: str
    legal_basis: list[str]
    consult: str = "12345政务服务便民热线；鄂汇办APP在线咨询"
    faq: list[FAQ] = Field(default_factory=list)
    status: Literal["有效", "已修订", "废止"] = "有效"
    effective_from: date | None = None
    valid_until: date | None = None
    # Per-field confidence, from yijianshi_facts.json; inferred/unknown fields carry UNVERIFIED_NOTE.
    confidence: dict[str, Confidence] = Field(default_factory=dict)
    sample: bool = True  # sample data written for the demo KB
    sources: list[SourceRef] = Field(default_factory=list)

    @field_validator("confidence")
    @classmethod
    def _known_fields(cls, v: dict[str, Confidence]) -> dict[str, Confidence]:
        unknown = set(v) - set(FIELD_SECTIONS)
        if unknown:
            raise ValueError(f"confidence names unknown fields: {sorted(unknown)}")
        return v

    def is_unverified(self, field_name: str) -> bool:
        return self.confidence.get(field_name, "verified") in ("inferred_typical", "unknown")

    def field_text(self, field_name: str) -> str:
        """The verbatim rendering of one field group, as indexed and as quoted in answers."""
        value = getattr(self, field_name)
        if field_name == "materials":
            lines = [f"{i}. {m.render()}" for i, m in enumerate(value, 1)]
        elif field_name == "faq":
            lines = [f"问：{f.q}\n答：{f.a}" for f in value]
        elif field_name in ("conditions", "steps"):
            lines = [f"{i}. {s}" for i, s in enumerate(value, 1)]
        elif isinstance(value, list):
            lines = [f"- {s}" for s in value]
        else:
            lines = [str(value)]
        text = "\n".join(lines)
        if self.is_unverified(field_name):
            text += "\n" + UNVERIFIED_NOTE
        return text

    def sections(self) -> list[tuple[str, str, str]]:
        """(field name, section title, text) for every non-empty field group."""
        out = []
        for name, title in FIELD_SECTIONS.items():
            value = getattr(self, name)
            if not value:
                continue
            out.append((name, title, self.field_text(name)))
        return out


def dictionary_words(guide: ServiceGuide) -> list[str]:
    """Terms the tokenizer must keep whole: item names, aliases, bundled items, material names."""
    words = [guide.name.strip("“”\"'"), *guide.aliases, *guide.bundled_items]
    words += [m.name for m in guide.materials]
    out: list[str] = []
    for w in words:
        for part in w.replace("（", " ").replace("(", " ").replace("“", " ").replace("”", " ").split():
            part = part.strip("）)、，,")
            if 1 < len(part) <= 20 and part not in out:
                out.append(part)
    return out
