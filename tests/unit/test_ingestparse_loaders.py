"""Loaders for Markdown, text, HTML and guide YAML, and the suffix dispatch in ``load_path``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _ingestparse_fixtures import MATERIAL_NAMES, POLICY_PATH, guide_data, write_guide

from retrieval.guide import FIELD_SECTIONS
from retrieval.loaders import SUPPORTED_SUFFIXES, doc_id_from_stem, load_path
from retrieval.types import LoadedDocument, LoaderError

pytestmark = pytest.mark.unit


def _assert_well_formed(doc: LoadedDocument, path: Path) -> None:
    """What every consumer relies on: scalar metadata, source/doc_type/status, normalised text."""
    assert doc.blocks
    assert doc.metadata["source"] == str(path)
    assert doc.metadata["doc_type"] == doc.doc_type
    assert doc.metadata["status"] in ("有效", "已修订", "废止")
    for key, value in doc.metadata.items():
        assert isinstance(value, str | int | float | bool), (key, value)
    for block in doc.blocks:
        assert block.text.strip() == block.text and block.text
        assert "\r" not in block.text and "\n\n\n" not in block.text


# ---------------------------------------------------------------- Markdown


def test_shared_policy_loads_with_front_matter_and_numbered_sections() -> None:
    doc = load_path(POLICY_PATH)
    _assert_well_formed(doc, POLICY_PATH)
    assert doc.doc_id == "hubei-ai-industry-implementation-opinions-2025"
    assert doc.title == "湖北省人民政府办公厅关于加快推进人工智能产业发展的实施意见"
    assert doc.doc_type == "policy"
    assert doc.metadata["issuer"] == "湖北省人民政府办公厅"
    assert doc.metadata["signed"] == "2025-10-13"
    assert doc.metadata["published"] == "2025-10-23"
    assert doc.metadata["status"] == "有效"
    sections = [b.section for b in doc.blocks]
    assert sections == [
        "",
        "一、突破关键核心技术",
        "二、培育壮大产业能级",
        "三、夯实基础要素支撑",
        "四、打造普惠应用场景",
        "五、营造一流创新生态",
    ]
    # the title heading is the title, not body text; ASCII commas became Chinese ones
    assert doc.title not in doc.text
    assert doc.blocks[0].text.startswith("各市、州、县人民政府，省政府各部门：")
    assert doc.blocks[1].text.startswith("（一）推进优势领域集聚攻坚。")


def test_markdown_front_matter_metadata_and_heading_paths(tmp_path: Path) -> None:
    path = tmp_path / "notice.md"
    path.write_text(
        "---\n"
        "id: hb-notice-7\n"
        "title: 关于优化营商环境的通知\n"
        "issuer: 湖北省政务管理办\n"
        "doc_number: 鄂政管发〔2025〕7号\n"
        "doc_type: notice\n"
        "audience: [企业, 个体工商户]\n"
        "signed: 2025-03-01\n"
        "valid_until: '2026-12-31'\n"
        "published: 2025年3月5日\n"
        "status: 已修订\n"
        "empty_field:\n"
        "---\n\n"
        "# 关于优化营商环境的通知\n\n"
        "导语，**重点**见[附件](http://example.invalid/a.pdf)。\n\n"
        "## 办理指引\n\n### 申请条件\n\n1. 依法登记的企业\n2. 信用良好\n\n"
        "## 附则\n\n```\n# not a heading\n```\n",
        encoding="utf-8",
    )
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.doc_id == "hb-notice-7"
    assert doc.doc_type == "notice"
    assert doc.title == "关于优化营商环境的通知"
    assert doc.metadata["doc_number"] == "鄂政管发〔2025〕7号"
    assert doc.metadata["audience"] == "企业、个体工商户"
    assert doc.metadata["signed"] == "2025-03-01"
    assert doc.metadata["valid_until"] == "2026-12-31"
    assert doc.metadata["published"] == "2025-03-05"
    assert doc.metadata["status"] == "已修订"
    assert "empty_field" not in doc.metadata
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("", "导语，重点见附件。"),
        ("办理指引 > 申请条件", "1. 依法登记的企业\n2. 信用良好"),
        ("附则", "# not a heading"),
    ]


def test_markdown_front_matter_title_wins_over_a_different_lone_h1(tmp_path: Path) -> None:
    path = tmp_path / "revised.md"
    path.write_text(
        "---\ntitle: 湖北省政务服务条例\n---\n# 湖北省政务服务条例（2025年修订）\n\n## 第一章 总则\n\n正文。\n",
        encoding="utf-8",
    )
    doc = load_path(path)
    assert doc.title == "湖北省政务服务条例"
    assert [(b.section, b.text) for b in doc.blocks] == [("第一章 总则", "正文。")]


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("My Policy_2025", "my-policy-2025"),
        ("--A..B--", "a-b"),
        ("湖北政策", "doc-" + hashlib.sha1("湖北政策".encode()).hexdigest()[:8]),
        ("2025年政策", "doc-" + hashlib.sha1("2025年政策".encode()).hexdigest()[:8]),
        ("___", "doc-" + hashlib.sha1(b"___").hexdigest()[:8]),
    ],
)
def test_doc_id_from_file_stem(stem: str, expected: str) -> None:
    assert doc_id_from_stem(stem) == expected
    assert doc_id_from_stem(stem) == doc_id_from_stem(stem)


def test_markdown_without_front_matter_uses_stem_and_numbering_sections(tmp_path: Path) -> None:
    path = tmp_path / "实施方案.md"
    path.write_text("一、总体要求\n\n坚持问题导向。\n\n二、主要任务\n\n推进一网通办。\n", encoding="utf-8")
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.doc_id.startswith("doc-") and len(doc.doc_id) == 12
    assert doc.title == "实施方案"
    assert doc.doc_type == "policy" and doc.metadata["status"] == "有效"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("一、总体要求", "坚持问题导向。"),
        ("二、主要任务", "推进一网通办。"),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("---\ntitle: [unclosed\n---\n正文", "YAML"),
        ("---\n- a\n- b\n---\n正文", "映射"),
        ("---\ntitle: 无结束\n正文", "---"),
        ("---\nstatus: 作废\n---\n正文", "status"),
        ("---\ndoc_type: blog\n---\n正文", "doc_type"),
        ("---\nsigned: 2025-13-45\n---\n正文", "signed"),
        ("---\nissuer: {name: x}\n---\n正文", "issuer"),
        ("---\nid: 'has space'\n---\n正文", "id"),
        ("---\ntitle: 只有文件头\n---\n\n   \n", "正文"),
        ("", "正文"),
        ("\ufeff\u200b\n\n", "正文"),
    ],
)
def test_markdown_errors_name_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LoaderError) as err:
        load_path(path)
    assert str(path) in str(err.value)
    assert reason in str(err.value)


# ---------------------------------------------------------------- plain text


def test_text_file_title_line_and_sections(tmp_path: Path) -> None:
    path = tmp_path / "policy.txt"
    path.write_text(
        "\ufeff关于做好社保卡服务的通知\r\n\r\n一、服务内容\r\n社保卡申领、补换，全程网办。\r\n"
        "二、办理渠道\r\n鄂汇办ＡＰＰ,湖北政务服务网。\r\n",
        encoding="utf-8",
    )
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.doc_id == "policy"
    assert doc.title == "关于做好社保卡服务的通知"
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("一、服务内容", "社保卡申领、补换，全程网办。"),
        ("二、办理渠道", "鄂汇办APP，湖北政务服务网。"),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01\x02binary\xff\xfe", "binary"),
        ("湖北省政务服务".encode("gbk"), "UTF-8"),
        (b"", "no text"),
        (b" \r\n\t\r\n", "no text"),
    ],
)
def test_text_file_errors(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    with pytest.raises(LoaderError, match=reason) as err:
        load_path(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- HTML

_NOISY_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>关于开展一件事集成服务的通知_湖北省人民政府门户网站</title>
<meta name="PubDate" content="2025-06-01 09:30"><meta name="ContentSource" content="省政务管理办">
<style>.x{color:red}</style><script>var tracker = "SCRIPTNOISE";</script></head>
<body>
<header><div class="logo">SITEHEADER 湖北省人民政府</div></header>
<nav><a href="/">首页</a><a href="/zwgk">NAVNOISE 政务公开</a></nav>
<div class="breadcrumb">当前位置：首页 &gt; CRUMBNOISE</div>
<div class="layout">
  <aside><ul><li><a href="/1">ASIDENOISE 热点</a></li></ul></aside>
  <article>
    <h1>关于开展一件事集成服务的通知</h1>
    <p>各市、州人民政府:</p>
    <h2>一、工作目标</h2>
    <p>到2025年底，<span>实现</span><b>新生儿出生</b>等事项“一次办”。</p>
    <h2>二、工作措施</h2>
    <p>推行一表申请、一套材料。<br>优化线上办理流程。</p>
    <!-- COMMENTNOISE -->
  </article>
</div>
<footer>FOOTERNOISE 版权所有 湖北省人民政府办公厅</footer>
<div id="copyright">COPYNOISE ICP备案</div>
</body></html>"""


def test_html_keeps_article_text_and_drops_page_furniture(tmp_path: Path) -> None:
    path = tmp_path / "notice.html"
    path.write_text(_NOISY_PAGE, encoding="utf-8")
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.title == "关于开展一件事集成服务的通知"
    text = doc.text + " ".join(b.section for b in doc.blocks)
    for noise in ("SCRIPTNOISE", "SITEHEADER", "NAVNOISE", "CRUMBNOISE", "ASIDENOISE", "COMMENTNOISE",
                  "FOOTERNOISE", "COPYNOISE", "color:red"):  # fmt: skip
        assert noise not in text
    assert [(b.section, b.text) for b in doc.blocks] == [
        ("", "各市、州人民政府："),
        ("一、工作目标", "到2025年底，实现新生儿出生等事项“一次办”。"),
        ("二、工作措施", "推行一表申请、一套材料。\n\n优化线上办理流程。"),
    ]
    assert doc.metadata["published"] == "2025-06-01"
    assert doc.metadata["issuer"] == "省政务管理办"


def test_html_without_article_picks_densest_container(tmp_path: Path) -> None:
    links = "".join(f'<li><a href="/n{i}">相关链接{i}LINKNOISE</a></li>' for i in range(30))
    body = "".join(f"<p>第{i}段正文，介绍社保卡跨省通办的具体办理方式和所需材料。</p>" for i in range(5))
    page = (
        "<html><head><title>社保卡跨省通办 - 人社厅</title></head><body>"
        f'<div class="links"><ul>{links}</ul></div>'
        f'<div class="content"><div class="TRS_Editor">{body}</div></div></body></html>'
    )
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("utf-8"))
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.title == "社保卡跨省通办"
    assert "LINKNOISE" not in doc.text
    assert doc.text.count("段正文") == 5


def test_html5_article_header_title_is_kept_but_site_h1_is_not(tmp_path: Path) -> None:
    page = (
        "<html><body><header><h1>湖北省人民政府门户网站</h1></header>"
        "<article><header><h1>关于延长办事大厅服务时间的公告</h1><span>来源：省政务管理办</span></header>"
        "<p>自即日起，办事大厅周六上午正常办公。</p></article></body></html>"
    )
    path = tmp_path / "announcement.html"
    path.write_text(page, encoding="utf-8")
    doc = load_path(path)
    assert doc.title == "关于延长办事大厅服务时间的公告"
    assert doc.text == "自即日起，办事大厅周六上午正常办公。"


def test_html_declared_gbk_charset_is_honoured(tmp_path: Path) -> None:
    page = '<html><head><meta charset="gbk"></head><body><p>湖北政务服务网办事指南</p></body></html>'
    path = tmp_path / "legacy.html"
    path.write_bytes(page.encode("gbk"))
    assert "湖北政务服务网办事指南" in load_path(path).text


def test_html_deeply_nested_page_still_yields_its_text(tmp_path: Path) -> None:
    path = tmp_path / "deep.html"
    inner = "<p>深层正文内容，足够长的一段文字。</p>"
    path.write_text(
        "<html><body>" + "<div>" * 5000 + inner + "</div>" * 5000 + "</body></html>", encoding="utf-8"
    )
    assert load_path(path).text == "深层正文内容，足够长的一段文字。"


def test_html_with_only_navigation_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "nav.html"
    path.write_text(
        "<html><body><nav><a href='/'>首页</a></nav><script>x()</script></body></html>", encoding="utf-8"
    )
    with pytest.raises(LoaderError, match="no text"):
        load_path(path)


# ---------------------------------------------------------------- guide YAML


def test_guide_yaml_becomes_one_block_per_field_group(tmp_path: Path) -> None:
    path = write_guide(tmp_path / "birth.yaml")
    doc = load_path(path)
    _assert_well_formed(doc, path)
    assert doc.doc_id == "birth"
    assert doc.title == "新生儿出生一件事"
    assert doc.doc_type == "guide"
    assert doc.metadata["audience"] == "个人"
    assert doc.metadata["region"] == "湖北省"
    assert doc.metadata["item_name"] == "新生儿出生一件事"
    assert doc.metadata["valid_until"] == "2027-12-31"
    sections = [b.section for b in doc.blocks]
    assert sections == list(FIELD_SECTIONS.values())  # every field group is filled in
    keep_whole = {b.section for b in doc.blocks if b.keep_whole}
    assert keep_whole == {"申请材料", "办理条件", "办理流程"}
    materials = next(b for b in doc.blocks if b.section == "申请材料")
    for name in MATERIAL_NAMES:
        assert name in materials.text
    time_limit = next(b for b in doc.blocks if b.section == "办理时限")
    assert "样例信息" in time_limit.text  # inferred fields carry the unverified note


def _guide_without(field: str) -> dict[str, object]:
    data = guide_data()
    del data[field]
    return data


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("id: birth\nname: [unclosed\n", "YAML"),
        ("- just\n- a list\n", "映射"),
        ("", "映射"),
        (_guide_without("name"), "name"),
        (guide_data(unexpected_field="x"), "unexpected_field"),
        (guide_data(audience="外星人"), "audience"),
        (guide_data(valid_until="2027-02-30"), "valid_until"),
        (guide_data(id="Bad Id"), "id"),
    ],
)
def test_guide_errors_name_file_and_field(
    tmp_path: Path, content: str | dict[str, object], reason: str
) -> None:
    path = tmp_path / "guide.yml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        write_guide(path, content)
    with pytest.raises(LoaderError) as err:
        load_path(path)
    assert str(path) in str(err.value)
    assert reason in str(err.value)


# ---------------------------------------------------------------- dispatch


def test_supported_suffixes() -> None:
    assert {".md", ".txt", ".html", ".htm", ".pdf", ".docx", ".yaml", ".yml"} <= SUPPORTED_SUFFIXES


@pytest.mark.parametrize("name", ["slides.pptx", "old.doc", "archive.tar.gz", "README"])
def test_unknown_suffix_is_refused_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"whatever")
    with pytest.raises(LoaderError) as err:
        load_path(path)
    assert str(path) in str(err.value)
    assert "不支持" in str(err.value)


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="does not exist"):
        load_path(tmp_path / "missing.md")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(LoaderError, match="does not exist"):
        load_path(folder)


def test_suffix_match_is_case_insensitive_and_source_is_the_path_given(tmp_path: Path) -> None:
    path = tmp_path / "UPPER.MD"
    path.write_text("正文内容。", encoding="utf-8")
    doc = load_path(str(path))
    assert doc.metadata["source"] == str(path)
    assert doc.doc_id == "upper"
