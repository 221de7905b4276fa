"""Every citizen-facing string of the connectors package, in one place.

Item-specific wording (questions, intros, eligibility notes) lives in the catalog YAML files; these
are the generic frames around them.
"""

from __future__ import annotations

from connectors.types import HandoffKind

# -- flow
QUESTION = "{notice}{prompt}"
CHOICES_LINE = "（{options}；回复序号即可）"
PROGRESS = "（第{n}/{total}项）"
REASK_PREFIX = "抱歉，没能识别您的回答。"
REASK_HANDOFF_HINT = "如不方便回答，也可以回复“转人工”，由工作人员帮您办理。"
RESUME = "我们继续办理{name}。"
CORRECTED = "好的，已将“{label}”更正为“{value}”。"
RECORDED = "好的，已记录“{label}”：{value}。"
CANCELLED = "好的，已取消{name}的办理引导。需要时随时可以重新开始。"
DIGRESSION = "（您的问题解答后，我们会继续{name}的办理引导。）"
DONE = "根据您的情况，已为您生成{name}的个人材料清单："
DONE_EARLY = "好的，按您目前提供的情况先生成{name}的个人材料清单（“{open}”尚未确认，相关材料标为“视情况”，办理时以工作人员审核为准）："
NOTED = "好的，已记下：{facts}。"
PREFILLED = "根据您前面提到的情况，我已记下：{facts}。如有不对，直接告诉我更正即可。"
INELIGIBLE = "{message}"
ALREADY_ENDED = "{name}的办理引导已结束。"
YES = "是"
NO = "否"
SKIPPED = "未提供"

# -- validation
ERR_CHOICE = "请从给出的选项中选择一项。"
ERR_YESNO = "请回答“是”或“否”。"
ERR_DATE = "没有识别出日期，请按“2024年3月5日”的格式回复。"
ERR_DATE_FUTURE = "日期不能晚于今天，请核对后重新回复。"
ERR_DATE_TOO_OLD = "这个日期超出了可办理的时间范围，请核对后重新回复。"
ERR_DATE_TOO_EARLY = "日期不能早于{min}，请核对后重新回复。"
ERR_REGION = "没有识别出湖北省内的地区，请回复市州名称，例如“武汉市”“襄阳市”。"
ERR_REGION_DISTRICT = "请具体到区县，例如“{example}”。"
ERR_NUMBER = "请回复一个数字。"
ERR_NUMBER_RANGE = "请回复{min}到{max}之间的数字。"
ERR_NUMBER_MIN = "请回复不小于{min}的数字。"
ERR_NUMBER_MAX = "请回复不大于{max}的数字。"
ERR_NUMBER_INTEGER = "请回复一个整数。"
ERR_TEXT_EMPTY = "回答不能为空。"
ERR_TEXT_LONG = "回答太长了，请控制在{max}字以内。"
ERR_TEXT_FORMAT = "格式不正确，请核对后重新回复。"

# -- checklist rendering
CL_TITLE = "【{name}·个人办事清单】"
CL_SITUATION = "您的情况："
CL_BUNDLED = "本次一并办理的事项："
CL_MATERIALS = "需要准备的材料："
CL_NOT_NEEDED = "按您的情况无需提交："
CL_CONDITIONS = "办理条件："
CL_STEPS = "办理流程："
CL_TIME_LIMIT = "办理时限："
CL_VISITS = "到现场次数："
CL_CHANNELS = "办理渠道："
CL_FEES = "收费标准："
CL_DEPARTMENTS = "责任部门："
CL_HANDOFF = "接下来您可以选择："
CL_MARK = "【{mark}】"

HANDOFF_LABELS: dict[HandoffKind, str] = {
    "online_link": "通过鄂汇办/湖北政务服务网在线申办",
    "platform": "由我直接向政务服务平台提交申报",
    "caseworker": "转人工帮办（工作人员联系您办理）",
    "ticket_12345": "提交12345热线工单",
}

# -- handoff results
CONSENT_REQUIRED = "需要您明确同意后，我们才能把您的联系方式和证件号码交给办理部门。"
HANDOFF_LINK = (
    "请点击链接（或扫描二维码）在{channel}继续办理{name}，表单已按您的回答预填，链接{hours}小时内有效。"
)
HANDOFF_PLATFORM = "已向政务服务平台提交{name}的申报，申办流水号：{sblsh}，当前状态：{status}。"
HANDOFF_PLATFORM_SANDBOX = "（演示环境：本次提交的是沙箱平台，不会产生真实办件。）"
HANDOFF_CASE = "已为您转交人工帮办，案件编号：{case_no}，查询验证码：{code}。工作人员会尽快与您联系；凭编号和验证码可随时查询进度。"
HANDOFF_TICKET = "已为您登记12345工单（{appeal_type}），工单编号：{case_no}，查询验证码：{code}。"
CHANNEL_NAME = "鄂汇办/湖北政务服务网"

CASE_STATUS_LABELS = {"open": "待受理", "taken": "办理中", "replied": "已答复", "closed": "已办结"}

# -- LLM slot extraction (the lead may move this into prompts/; pass system_prompt= to override)
SLOT_EXTRACTION_SYSTEM = (
    "你是政务办事引导中的信息抽取器。只从用户这一句话中抽取下列字段的取值，输出符合JSON Schema的JSON。"
    "用户没有明确说到的字段一律填null，不要猜测，不要编造。"
    "choice字段只能填给定的取值代码；yesno字段填true/false；date字段填YYYY-MM-DD；"
    "region字段填湖北省内的市州或区县名称。今天是{today}。"
)


def handoff_label(kind: HandoffKind) -> str:
    return HANDOFF_LABELS[kind]


SLOT_EXTRACTION_USER = "需要抽取的字段：\n{fields}\n\n用户这一句话：{text}"
SLOT_EXTRACTION_FIELD = "- {id}（{label}，类型{kind}）：{prompt}{options}"
SLOT_EXTRACTION_OPTIONS = " 取值代码：{options}"
HANDOFF_QUERY = "查询编号：{case_no}，查询验证码：{code}。"
HANDOFF_TICKET_REMOTE_FAILED = "（12345工单系统暂时无法连接，工单已先行登记，将由工作人员转交。）"
