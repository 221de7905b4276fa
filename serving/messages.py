"""User-facing API error texts (Chinese first, English after the slash), in one place."""

from __future__ import annotations

NOT_LOGGED_IN = "请先登录 / login required"
BAD_CREDENTIALS = "用户名或密码错误 / wrong username or password"
FORBIDDEN_ROLE = "当前账号无权执行此操作 / your role may not do this"
CSRF_FAILED = "缺少或错误的 X-CSRF-Token 请求头 / missing or wrong X-CSRF-Token header"
NOT_FOUND = "未找到 / not found"
NO_CONTACT = "群众未授权留下联系方式，请通过对话回复联系 / the citizen gave no contact (no consent): reach them in the chat"
TEXT_REQUIRED = "请填写内容 / text required"
ROUTE_NOT_FOUND = "接口不存在 / no such endpoint"
METHOD_NOT_ALLOWED = "请求方法不被允许 / method not allowed"
BODY_TOO_LARGE = "请求内容过大（上限 {limit}）/ request body too large (limit {limit})"
UNSUPPORTED_TYPE = "不支持的文件类型 {suffix}，仅支持：{allowed} / unsupported file type"
CONTENT_MISMATCH = "文件内容与扩展名 {suffix} 不符 / file content does not match its extension"
EMPTY_UPLOAD = "上传的文件为空 / the uploaded file is empty"
RATE_LIMITED = "请求过于频繁，请 {seconds} 秒后再试 / too many requests, retry in {seconds} s"
INVALID_JSON = "请求体不是合法的 JSON / request body is not valid JSON"
INVALID_INPUT = "请求参数有误：{detail} / invalid request: {detail}"
CONSENT_REQUIRED = (
    "提供姓名、电话或身份证号办理转交前，需要您明确同意授权 / contact details need explicit consent"
)
CASE_NOT_FOUND = "工单不存在或查询码错误 / no such case, or wrong verification code"
CASE_STATE = "工单当前状态不允许此操作：{detail} / the case's status does not allow this"
NOT_ASSIGNEE = (
    "只有接单的工作人员（或管理员）可以回复或办结此工单，请先接单：{detail} / "
    "only the caseworker who took this case (or an admin) may do this"
)
CASE_THROTTLED = (
    "查询验证码错误次数过多，请 {minutes} 分钟后再试 / too many wrong codes; retry in {minutes} min"
)
LOGIN_BACKOFF = "该账号登录失败次数过多，请 {seconds} 秒后再试 / too many failed logins for this account"
UNKNOWN_TURN = "找不到这条回答，无法评价 / unknown turn_id"
RATING_REQUIRED = "请给出 1–5 星（stars）或评价等级（level）/ give stars 1..5 or a level"
DOC_NOT_FOUND = "文档不存在 / no such document"
JOB_NOT_FOUND = "任务不存在 / no such job"
SYNONYMS_INVALID = "同义词文件格式错误：{detail} / invalid synonyms file"
EVAL_MISSING = "还没有评测报告 / no evaluation report yet"
QUEUE_DOWN = "后台任务队列暂不可用，请稍后再试 / the job queue is unavailable"
INTERNAL = "服务器内部错误，请稍后再试 / internal error"
STREAM_FAILED = "回答生成失败，请稍后再试 / the answer could not be generated"
NUL_IN_REQUEST = "请求地址中含有非法字符（NUL）/ the request path or query contains a NUL character"
AUDIT_FAILED = "本轮对话未能记录，请稍后重试 / the turn could not be recorded; please try again"
NO_USER_MESSAGE = "messages 中没有用户消息 / no user message in messages"

JOB_INTERRUPTED = "服务重启，任务被中断，请重新上传 / interrupted by a restart; upload again"
JOB_NOTHING_INGESTED = "文件未能入库：{detail} / nothing was ingested"
DOC_ID_TAKEN = "文档编号 {doc_id} 已被占用，未入库，请重新上传 / document id {doc_id} is taken; upload again"
REPLACE_TARGET_GONE = (
    "要替换的文档 {doc_id} 已不存在，未入库 / the document to replace ({doc_id}) no longer exists"
)
JOB_CRASHED = "任务执行出错：{detail} / the job failed"
