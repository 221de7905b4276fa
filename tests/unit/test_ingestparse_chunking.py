"""Chunk boundaries: provisions start chunks, lists stay whole, nothing is lost, nothing odd leads."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from _ingestparse_fixtures import MATERIAL_NAMES, POLICY_PATH, guide_data, write_guide

from retrieval.chunking import chunk_document, split_block_text
from retrieval.loaders import load_path
from retrieval.normalize import normalize_text
from retrieval.types import Block, Chunk, LoadedDocument

pytestmark = pytest.mark.unit

# Punctuation a reader never expects at the start of a passage.
_BAD_START = set("，。；：、？！…”’」』）》】〕〉,.;:?!)]}")
_ITEM = re.compile(r"^（[一二三四五六七八九十]+）", re.MULTILINE)


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def _block_chunks(chunks: list[Chunk], section: str) -> list[Chunk]:
    return [c for c in chunks if c.section == section]


@pytest.mark.parametrize(("chunk_size", "chunk_min"), [(500, 40), (300, 40), (120, 20), (60, 10)])
def test_shared_policy_chunks_cover_everything_and_start_cleanly(chunk_size: int, chunk_min: int) -> None:
    doc = load_path(POLICY_PATH)
    chunks = chunk_document(doc, 3, chunk_size=chunk_size, chunk_min=chunk_min)

    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(c.chunk_id == Chunk.make_id(doc.doc_id, 3, c.ordinal) for c in chunks)
    for chunk in chunks:
        assert chunk.text and chunk.text[0] not in _BAD_START, chunk.text[:20]
        assert len(chunk.text) <= chunk_size + chunk_min
        assert chunk.title == doc.title and chunk.doc_id == doc.doc_id and chunk.version == 3
        assert chunk.metadata["section"] == chunk.section
        assert chunk.metadata["source"] == str(POLICY_PATH)
        assert chunk.metadata["doc_type"] == "policy" and chunk.metadata["status"] == "有效"

    for block in doc.blocks:
        in_block = _block_chunks(chunks, block.section)
        # every character of the body is in exactly one chunk, in order, within its block
        assert _squash("".join(c.text for c in in_block)) == _squash(block.text)
        # every numbered provision （一）…（十六） opens a chunk of its own
        for marker in _ITEM.findall(block.text):
            assert sum(c.text.startswith(marker) for c in in_block) == 1, marker


def test_shared_policy_default_chunks_are_one_per_provision() -> None:
    doc = load_path(POLICY_PATH)
    chunks = chunk_document(doc, 1)
    assert chunks[0].section == "" and chunks[0].text.startswith("各市、州、县人民政府，省政府各部门：")
    provisions = chunks[1:]
    assert [_ITEM.match(c.text).group(0) for c in provisions] == [  # type: ignore[union-attr]
        f"（{n}）"
        for n in [
            "一",
            "二",
            "三",
            "四",
            "五",
            "六",
            "七",
            "八",
            "九",
            "十",
            "十一",
            "十二",
            "十三",
            "十四",
            "十五",
            "十六",
        ]
    ]
    # （十）'s heading line and all five of its paragraphs stay together
    ten = provisions[9]
    assert ten.section == "四、打造普惠应用场景"
    assert ten.text.startswith("（十）赋能经济发展增动力\n\n“人工智能+”科研。")
    assert "“人工智能+”建造" in ten.text
    # the closing date and note join the last provision instead of standing alone
    assert chunks[-1].text.endswith("2025年10月13日\n\n（此件公开发布）")


def test_chunk_ids_are_stable_across_runs() -> None:
    first = chunk_document(load_path(POLICY_PATH), 7)
    second = chunk_document(load_path(POLICY_PATH), 7)
    assert [(c.chunk_id, c.text, c.section) for c in first] == [
        (c.chunk_id, c.text, c.section) for c in second
    ]
    assert first[0].chunk_id == "hubei-ai-industry-implementation-opinions-2025::v7::0000"


def test_guide_materials_list_is_one_prefixed_chunk(tmp_path: Path) -> None:
    doc = load_path(write_guide(tmp_path / "birth.yaml"))
    chunks = chunk_document(doc, 1)
    assert {c.section for c in chunks} == {b.section for b in doc.blocks}
    for chunk in chunks:
        assert chunk.text.startswith(f"【新生儿出生一件事·{chunk.section}】\n")
        assert chunk.metadata["doc_type"] == "guide" and chunk.metadata["item_name"] == "新生儿出生一件事"
    materials = _block_chunks(chunks, "申请材料")
    assert len(materials) == 1
    for name in MATERIAL_NAMES:
        assert name in materials[0].text
    assert len(_block_chunks(chunks, "办理流程")) == 1 and len(_block_chunks(chunks, "办理条件")) == 1


def test_guide_list_too_long_to_keep_whole_splits_at_items(tmp_path: Path) -> None:
    names = [f"第{i}项证明材料（需加盖单位公章并注明用途）" for i in range(1, 41)]
    data = guide_data(materials=[{"name": n} for n in names])
    doc = load_path(write_guide(tmp_path / "big.yaml", data))
    materials = _block_chunks(chunk_document(doc, 1, chunk_size=300, chunk_min=40), "申请材料")
    assert len(materials) > 1
    prefix = "【新生儿出生一件事·申请材料】\n"
    bodies = [c.text.removeprefix(prefix) for c in materials]
    assert all(c.text.startswith(prefix) for c in materials)
    assert all(re.match(r"\d+\. ", body) for body in bodies)  # each piece starts at a list item
    joined = "\n".join(bodies)
    assert all(n in joined for n in names)


def test_keep_whole_block_that_fits_twice_the_size_stays_whole() -> None:
    text = "\n".join(f"{i}. 材料{i}，原件一份。" for i in range(1, 30))  # ~400 characters
    assert split_block_text(Block("申请材料", text, keep_whole=True), chunk_size=250) == [text]
    assert len(split_block_text(Block("申请材料", text, keep_whole=False), chunk_size=250)) > 1


@pytest.mark.parametrize(
    ("text", "size", "minimum", "expected"),
    [
        ("", 50, 5, []),
        ("短文本。", 50, 5, ["短文本。"]),
        # a closing quote stays with its sentence
        ("他说：“好。”然后走了。" * 3, 12, 2, ["他说：“好。”然后走了。"] * 3),
        # chapters and articles: a lone chapter heading joins its first article
        (
            "第一章 总则\n第一条 为了规范管理，制定本办法。\n第二条 本办法适用于全省。\n"
            "第二章 附则\n第三条 本办法自发布之日起施行。",
            30,
            10,
            [
                "第一章 总则\n第一条 为了规范管理，制定本办法。",
                "第二条 本办法适用于全省。",
                "第二章 附则\n第三条 本办法自发布之日起施行。",
            ],
        ),
        # 一、 items each open a chunk even when they would fit together
        (
            "一、甲项工作要求说明。\n二、乙项工作要求说明。",
            100,
            5,
            ["一、甲项工作要求说明。", "二、乙项工作要求说明。"],
        ),
        # (1)/1、 sub-items are packed whole up to the size
        (
            "（1）第一项内容。\n（2）第二项内容。\n（3）第三项内容。",
            20,
            2,
            ["（1）第一项内容。\n（2）第二项内容。", "（3）第三项内容。"],
        ),
        ("1、甲。\n2、乙。\n3、丙。", 100, 2, ["1、甲。\n2、乙。\n3、丙。"]),
        # one overlong sentence without punctuation is hard-cut, nothing is lost
        ("啊" * 30, 12, 2, ["啊" * 12, "啊" * 12, "啊" * 6]),
        # punctuation never opens a chunk: moved back, or dropped at the block start
        ("，，开头。" + "啊" * 12 + "……”结尾", 12, 2, ["开头。", "啊" * 12 + "……”", "结尾"]),
        # a fragment below chunk_min joins the piece before it
        (
            "这是一个足够长的第一句话。这是第二句话也足够长。尾巴。",
            14,
            4,
            ["这是一个足够长的第一句话。", "这是第二句话也足够长。尾巴。"],
        ),
    ],
)
def test_split_block_text_table(text: str, size: int, minimum: int, expected: list[str]) -> None:
    assert split_block_text(Block("s", text), chunk_size=size, chunk_min=minimum) == expected


def test_chunks_never_cross_blocks_and_plain_docs_get_no_prefix() -> None:
    doc = LoadedDocument(
        doc_id="d",
        title="标题",
        doc_type="policy",
        source="d.md",
        blocks=(Block("一、甲", "甲。"), Block("二、乙", "乙。")),
    )
    chunks = chunk_document(doc, 1)
    assert [(c.section, c.text) for c in chunks] == [("一、甲", "甲。"), ("二、乙", "乙。")]
    assert chunks[0].metadata == {"doc_type": "policy", "source": "d.md", "section": "一、甲"}


@pytest.mark.parametrize(("size", "minimum"), [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_rejected(size: int, minimum: int) -> None:
    doc = LoadedDocument("d", "t", "policy", "d.md", (Block("", "x"),))
    with pytest.raises(ValueError):
        chunk_document(doc, 1, chunk_size=size, chunk_min=minimum)


def test_random_hostile_blocks_keep_invariants() -> None:
    pieces = ["第一条", "第二章", "一、", "（二）", "(3)", "1.", "2、", "- ", "\n", "\n\n", "。", "”", "，",
              "；", "！", "…", "甲乙丙", "申请材料", "abc", " ", "😀", "（", "）"]  # fmt: skip
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 80)))
        size = rng.choice([8, 20, 50])
        out = split_block_text(Block("s", text), chunk_size=size, chunk_min=size // 4)
        again = split_block_text(Block("s", text), chunk_size=size, chunk_min=size // 4)
        assert out == again
        assert all(p and p[0] not in _BAD_START for p in out), (text, out)
        # every character survives, except punctuation leading the whole block (meaningless there)
        expected = _squash(normalize_text(text)).lstrip("".join(_BAD_START))
        assert _squash("".join(out)) == expected, (text, out)
        # at most chunk_size + chunk_min, not counting punctuation moved onto the end
        trailing = "".join(_BAD_START) + " \n"
        assert all(len(p.rstrip(trailing)) <= size + size // 4 for p in out), (text, out)
