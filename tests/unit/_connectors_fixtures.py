"""Shared builders for the connectors unit tests: a small guide, a small workflow, the shipped catalog."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from connectors.catalog_loader import load_catalog, load_guides
from connectors.flow import FlowEngine
from connectors.types import Workflow
from retrieval.guide import Material, ServiceGuide
from tests.paths import REPO

TODAY = date(2025, 11, 25)
GUIDES_DIR = REPO / "retrieval" / "sample_kb" / "guides"


def small_guide(**overrides: Any) -> ServiceGuide:
    data: dict[str, Any] = {
        "id": "demo",
        "name": "演示“一件事”",
        "audience": "个人",
        "summary": "演示用指南。",
        "bundled_items": ["事项甲"],
        "departments": ["部门甲"],
        "conditions": ["条件甲"],
        "materials": [
            Material(name="居民身份证", exemption="可通过电子证照免提交"),
            Material(name="居住证", condition="非本省户籍"),
            Material(name="结婚证", necessity="容缺"),
            Material(name="清税信息", source="数据共享", original="无需提交", copies=0),
            Material(name="照片", necessity="非必要"),
        ],
        "steps": ["线上申请", "部门审核"],
        "time_limit": "5个工作日",
        "visits": "0次",
        "channels": ["鄂汇办APP"],
        "fees": "不收费",
        "legal_basis": ["某条例"],
        "confidence": {"materials": "inferred_typical"},
    }
    data.update(overrides)
    return ServiceGuide.model_validate(data)


def small_workflow_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "demo",
        "name": "演示“一件事”",
        "guide_id": "demo",
        "intro": "开始演示。",
        "keywords": ["演示事项"],
        "slots": [
            {
                "id": "huji",
                "kind": "choice",
                "label": "户籍",
                "prompt": "户籍在哪里？",
                "choices": [
                    {"value": "hubei", "label": "本省户籍", "synonyms": ["本省", "湖北"]},
                    {"value": "other", "label": "省外户籍", "synonyms": ["省外", "外省", "非本省"]},
                ],
            },
            {"id": "married", "kind": "yesno", "label": "已婚", "prompt": "是否已办理结婚登记？"},
            {
                "id": "city",
                "kind": "region",
                "label": "办理地",
                "prompt": "在哪个市州办理？",
                "validation": {"region_level": "city"},
            },
            {
                "id": "born",
                "kind": "date",
                "label": "出生日期",
                "prompt": "哪天出生的？",
                "validation": {"not_future": True},
            },
            {
                "id": "kids",
                "kind": "number",
                "label": "子女数",
                "prompt": "有几个孩子？",
                "required": False,
                "validation": {"min": 0, "max": 20, "integer": True},
                "ask_when": {"slot": "married", "equals": True},
            },
        ],
        "material_rules": [
            {"material": "居住证", "when": {"slot": "huji", "equals": "other"}},
            {"material": "结婚证", "when": {"slot": "married", "equals": True}},
            {
                "material": "照片",
                "when": [{"slot": "city", "in": ["420100"]}, {"slot": "huji", "equals": "hubei"}],
            },
        ],
        "eligibility": [{"when": {"slot": "born", "days_ago_gt": 365}, "message": "超过一年，不能联办。"}],
        "handoff": ["online_link", "caseworker", "ticket_12345"],
    }
    data.update(overrides)
    return data


def small_workflow(**overrides: Any) -> Workflow:
    return Workflow.model_validate(small_workflow_data(**overrides))


def small_engine() -> FlowEngine:
    return FlowEngine({"demo": small_workflow()}, {"demo": small_guide()}, today=lambda: TODAY)


@cache
def shipped() -> tuple[dict[str, ServiceGuide], dict[str, Workflow]]:
    guides = load_guides(Path(GUIDES_DIR))
    return guides, load_catalog(None, guides, require=guides)


def shipped_engine() -> FlowEngine:
    guides, catalog = shipped()
    return FlowEngine(catalog, guides, today=lambda: TODAY)
