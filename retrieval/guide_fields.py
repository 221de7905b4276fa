"""Which guide fields a question asks about (pure): 材料, 条件, 流程, 时限 …

Used by search (to rank the matching guide sections higher) and by the extractive answerer.

The extractive answerer renders exactly these fields verbatim, so the cue lists favour precision:
a question with no cue gets the guide's overview instead of a guess.
"""

from __future__ import annotations

# Guide field name (retrieval.guide.FIELD_SECTIONS keys) -> cues citizens use.
FIELD_CUES: dict[str, tuple[str, ...]] = {
    "materials": ("材料", "带哪些", "哪些东西", "带些啥", "要带些", "准备些", "带什么", "带啥", "准备什么", "准备啥", "准备哪些", "提交什么", "交什么", "要什么证",
                  "哪些证", "什么证件", "证件", "资料", "手续要什么", "要啥", "需要啥", "需要什么东西"),
    "conditions": ("条件", "资格", "能不能办", "可不可以办", "能办吗", "可以办吗", "符合", "能申请吗", "谁可以",
                   "哪些人", "要求"),
    "steps": ("流程", "步骤", "什么手续", "哪些手续", "办手续", "怎么办理", "如何办理", "怎么办", "怎么弄", "怎么操作", "程序", "怎么申请",
              "如何申请", "办理方式", "咋办"),
    "time_limit": ("多久", "几天", "时限", "多长时间", "多少天", "工作日", "什么时候能", "时间"),
    "channels": ("在哪", "哪里办", "去哪", "地点", "窗口", "网上办", "线上", "渠道", "入口", "哪儿办", "app",
                 "网址", "手机上"),
    "visits": ("跑几次", "几次", "现场", "跑腿", "要不要去"),
    "fees": ("费用", "掏钱", "要钱不", "花多少", "收不收费", "要不要钱", "收钱", "收费", "多少钱", "要钱", "免费", "交钱", "花钱", "缴费", "钱"),
    "consult": ("电话", "咨询", "联系", "热线", "号码"),
    "departments": ("部门", "谁负责", "哪个单位", "哪个局", "哪些单位", "谁管"),
    "legal_basis": ("依据", "法律", "法规", "根据什么", "哪条规定", "政策依据"),
    "bundled_items": ("包含", "哪些事项", "包括", "能办哪些", "一起办", "哪几项", "几个事项", "联办"),
}  # fmt: skip

# When two fields' cues match, the more specific one goes first (e.g. 时间 is weak next to 多久).
_WEAK = {"time_limit": ("时间",), "fees": ("钱",), "conditions": ("要求",), "materials": ("证件",)}


def asked_fields(question: str) -> list[str]:
    """Fields the question asks about, in a stable order; empty when no cue is present."""
    q = question.lower()
    strong: list[str] = []
    weak: list[str] = []
    for name, cues in FIELD_CUES.items():
        hits = [c for c in cues if c in q]
        if not hits:
            continue
        if all(h in _WEAK.get(name, ()) for h in hits):
            weak.append(name)
        else:
            strong.append(name)
    return strong or weak


def matched_cues(question: str) -> dict[str, list[str]]:
    """Field -> the cue words of that field present in the question."""
    q = question.lower()
    out: dict[str, list[str]] = {}
    for name, cues in FIELD_CUES.items():
        hits = [c for c in cues if c in q]
        if hits:
            out[name] = hits
    return out
