"""The console's labels in English and Simplified Chinese: one catalogue, every key in both.

A page asks for a label by its key (``t("nav.receipts")``); a key missing from a
language is a bug a unit test finds, never an English word on a Chinese page.
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")
DEFAULT = "en"
NAMES = {"en": "English", "zh": "简体中文"}

CATALOGUE: dict[str, dict[str, str]] = {
    # --- the frame of every page ---
    "brand": {"en": "dlrhub console", "zh": "dlrhub 控制台"},
    "skip": {"en": "Skip to content", "zh": "跳到正文"},
    "nav.label": {"en": "Main", "zh": "主导航"},
    "nav.overview": {"en": "Overview", "zh": "概览"},
    "nav.receipts": {"en": "Receipts", "zh": "回执"},
    "nav.tenants": {"en": "Tenants", "zh": "租户"},
    "prefs.language": {"en": "Language", "zh": "语言"},
    "prefs.timezone": {"en": "Time zone", "zh": "时区"},
    "prefs.apply": {"en": "Apply", "zh": "应用"},
    "signed_in.admin": {"en": "Signed in as admin", "zh": "已以管理员身份登录"},
    "signed_in.tenant": {"en": "Signed in as {tenant}", "zh": "已以租户“{tenant}”身份登录"},
    "signout": {"en": "Sign out", "zh": "退出登录"},
    "times_note": {"en": "Times are in {tz}; hover a time for UTC.",
                   "zh": "时间按 {tz} 显示；鼠标悬停可查看 UTC 时间。"},
    # --- sign-in ---
    "login.title": {"en": "Sign in", "zh": "登录"},
    "login.intro": {"en": "Sign in with a tenant API key or the admin token. The key is "
                          "checked once; the browser keeps only a session.",
                    "zh": "使用租户 API 密钥或管理员令牌登录。密钥只校验一次，"
                          "浏览器只保存会话。"},
    "login.key": {"en": "API key or admin token", "zh": "API 密钥或管理员令牌"},
    "login.key_help": {"en": "A tenant key starts with dlrhub_sk_. dlrhub serve (make run) "
                             "prints the admin token when it starts.",
                       "zh": "租户密钥以 dlrhub_sk_ 开头。dlrhub serve（make run）"
                             "启动时会打印管理员令牌。"},
    "login.submit": {"en": "Sign in", "zh": "登录"},
    "login.wrong": {"en": "That key is unknown, revoked, or its tenant is suspended.",
                    "zh": "该密钥不存在、已吊销，或其租户已被暂停。"},
    "login.ended": {"en": "Your session has ended. Sign in again.",
                    "zh": "您的会话已结束，请重新登录。"},
    # --- errors ---
    "error.title": {"en": "Something is not right", "zh": "出了点问题"},
    "error.csrf": {"en": "This form has expired or did not come from the console. Reload the "
                         "page and try again.",
                   "zh": "此表单已过期或并非来自控制台。请刷新页面后重试。"},
    "error.not_found": {"en": "Nothing here: it does not exist, or it belongs to another "
                              "tenant.",
                        "zh": "这里没有内容：它不存在，或属于其他租户。"},
    "error.admin_only": {"en": "This page is for the admin.", "zh": "此页面仅限管理员。"},
    "error.tenant_only": {"en": "This page shows a tenant's data: sign in with that tenant's "
                                "API key.",
                          "zh": "此页面显示租户的数据：请使用该租户的 API 密钥登录。"},
    "error.bad_input": {"en": "Check the form: {detail}", "zh": "请检查表单：{detail}"},
    "error.back": {"en": "Back to the overview", "zh": "返回概览"},
    # --- overview ---
    "overview.title": {"en": "Overview", "zh": "概览"},
    "overview.range": {"en": "Range", "zh": "时间范围"},
    "overview.24h": {"en": "Last 24 hours", "zh": "最近 24 小时"},
    "overview.7d": {"en": "Last 7 days", "zh": "最近 7 天"},
    "overview.chart": {"en": "Messages per hour by status", "zh": "每小时各状态的短信数"},
    "overview.chart_help": {"en": "Each message counted once, in the hour of its latest report.",
                            "zh": "每条短信只计一次，计入其最新回执所在的小时。"},
    "overview.chart_table": {"en": "The chart's figures", "zh": "图表数据"},
    "overview.messages": {"en": "Messages", "zh": "短信"},
    "overview.delivery_rate": {"en": "Delivery rate", "zh": "送达率"},
    "overview.failed": {"en": "Failed", "zh": "失败"},
    "overview.missing": {"en": "Missing receipts", "zh": "缺失回执"},
    "overview.rejected": {"en": "Rejected callbacks", "zh": "被拒绝的回调"},
    "overview.by_provider": {"en": "Delivery rate by provider", "zh": "各服务商送达率"},
    "overview.top_reasons": {"en": "Top reason classes", "zh": "主要失败原因"},
    "overview.endpoints": {"en": "Endpoints' health", "zh": "端点健康状况"},
    "overview.no_reasons": {"en": "No failures in this range.", "zh": "此时间范围内没有失败。"},
    "overview.no_endpoints": {"en": "No endpoints yet: create one with POST /v1/endpoints to "
                                    "receive these receipts as events.",
                              "zh": "还没有端点：用 POST /v1/endpoints 创建一个，"
                                    "以事件形式接收这些回执。"},
    "overview.endpoints_ok": {"en": "Every endpoint is healthy.", "zh": "所有端点都正常。"},
    "overview.no_rejected": {"en": "No callback was rejected.", "zh": "没有被拒绝的回调。"},
    "overview.no_missing": {"en": "No expected message is missing its receipt.",
                            "zh": "没有缺失回执的预期短信。"},
    "overview.empty": {"en": "No receipts yet — point your provider at this callback URL:",
                       "zh": "还没有回执——请将服务商的回调地址设置为："},
    "overview.no_accounts": {"en": "No receipts yet, and no provider account: create one with "
                                   "POST /v1/accounts, then point your provider at its "
                                   "callback URL.",
                             "zh": "还没有回执，也没有服务商账户：先用 POST /v1/accounts 创建一个，"
                                   "再将服务商的回调地址设置为它的回调 URL。"},
    "overview.all_receipts": {"en": "See all receipts", "zh": "查看全部回执"},
    "health.failing": {"en": "failing", "zh": "投递失败中"},
    "health.circuit_open": {"en": "circuit open", "zh": "熔断中"},
    "health.disabled": {"en": "disabled", "zh": "已停用"},
    "health.healthy": {"en": "healthy", "zh": "正常"},
    # --- receipts ---
    "receipts.title": {"en": "Receipts", "zh": "回执"},
    "receipts.filters": {"en": "Filters", "zh": "筛选"},
    "receipts.apply": {"en": "Show", "zh": "查询"},
    "receipts.clear": {"en": "Clear", "zh": "清除"},
    "receipts.any": {"en": "any", "zh": "全部"},
    "receipts.since": {"en": "Received from", "zh": "接收时间起"},
    "receipts.until": {"en": "Received before", "zh": "接收时间止"},
    "receipts.export": {"en": "Export these receipts", "zh": "导出这些回执"},
    "receipts.export_csv": {"en": "CSV", "zh": "CSV"},
    "receipts.export_ndjson": {"en": "NDJSON", "zh": "NDJSON"},
    "receipts.more": {"en": "Next page", "zh": "下一页"},
    "receipts.first": {"en": "First page", "zh": "第一页"},
    "receipts.none": {"en": "No receipts match these filters. Clear them, or widen the "
                            "time range.",
                      "zh": "没有符合筛选条件的回执。请清除筛选或扩大时间范围。"},
    "receipts.none_yet": {"en": "No receipts yet — point your provider at an account's "
                                "callback URL (the Overview lists them).",
                          "zh": "还没有回执——请将服务商的回调地址设置为账户的回调 URL"
                                "（概览页列出了这些地址）。"},
    "receipts.caption": {"en": "Receipts, newest first", "zh": "回执（最新在前）"},
    # --- fields ---
    "field.received_at": {"en": "Received", "zh": "接收时间"},
    "field.reported_at": {"en": "Reported", "zh": "报告时间"},
    "field.submitted_at": {"en": "Submitted", "zh": "提交时间"},
    "field.message_id": {"en": "Message id", "zh": "短信 ID"},
    "field.reference": {"en": "Reference", "zh": "业务参考号"},
    "field.phone": {"en": "Phone", "zh": "手机号"},
    "field.status": {"en": "Status", "zh": "状态"},
    "field.provider": {"en": "Provider", "zh": "服务商"},
    "field.account_id": {"en": "Account", "zh": "账户"},
    "field.type": {"en": "Event type", "zh": "事件类型"},
    "field.reason_class": {"en": "Reason class", "zh": "原因类别"},
    "field.provider_status": {"en": "Provider's status", "zh": "服务商状态码"},
    "field.error": {"en": "Error", "zh": "错误"},
    "field.text": {"en": "Text", "zh": "内容"},
    "field.part": {"en": "Part", "zh": "分段"},
    "field.carrier": {"en": "Carrier", "zh": "运营商"},
    "field.country": {"en": "Country", "zh": "国家/地区"},
    "field.endpoint": {"en": "Endpoint", "zh": "端点"},
    "field.state": {"en": "State", "zh": "状态"},
    "field.url": {"en": "URL", "zh": "URL"},
    "field.count": {"en": "Count", "zh": "数量"},
    "field.hour": {"en": "Hour", "zh": "小时"},
    "field.reason": {"en": "Reason", "zh": "原因"},
    "field.name": {"en": "Name", "zh": "名称"},
    "field.id": {"en": "Id", "zh": "ID"},
    "field.created_at": {"en": "Created", "zh": "创建时间"},
    "field.callback_url": {"en": "Callback URL", "zh": "回调 URL"},
    "field.template": {"en": "Template", "zh": "模板"},
    "field.deadline_at": {"en": "Deadline", "zh": "截止时间"},
    # --- message ---
    "message.title": {"en": "Message {id}", "zh": "短信 {id}"},
    "message.recipient": {"en": "Recipient {phone}", "zh": "接收方 {phone}"},
    "message.unknown_phone": {"en": "unknown number", "zh": "未知号码"},
    "message.final": {"en": "final", "zh": "最终状态"},
    "message.not_final": {"en": "not final yet", "zh": "尚未最终"},
    "message.what_to_do": {"en": "What to do", "zh": "处理建议"},
    "message.meaning": {"en": "What it means", "zh": "含义"},
    "message.handset_latency": {"en": "Handset latency", "zh": "手机端时延"},
    "message.receipt_lag": {"en": "Receipt lag", "zh": "回执延迟"},
    "message.segments": {"en": "Segments", "zh": "分段数"},
    "message.out_of_order": {"en": "Reports out of order", "zh": "乱序回执"},
    "message.corrected": {"en": "Corrected by a later report", "zh": "已被后续回执更正"},
    "message.timeline": {"en": "Timeline", "zh": "时间线"},
    "message.back": {"en": "Back to receipts", "zh": "返回回执列表"},
    "message.retryable": {"en": "Retrying may help", "zh": "重试可能有效"},
    "message.not_retryable": {"en": "Retrying will not help", "zh": "重试无效"},
    # --- tenants (admin) ---
    "tenants.title": {"en": "Tenants", "zh": "租户"},
    "tenants.intro": {"en": "Every tenant of this hub. Create tenants and their keys with "
                            "POST /v1/tenants and POST /v1/tenants/{id}/keys.",
                      "zh": "本系统的所有租户。可用 POST /v1/tenants 和 "
                            "POST /v1/tenants/{id}/keys 创建租户及其密钥。"},
    "tenants.none": {"en": "No tenants yet: create one with POST /v1/tenants (admin token).",
                     "zh": "还没有租户：请用管理员令牌调用 POST /v1/tenants 创建一个。"},
    "tenants.caption": {"en": "Tenants, newest first", "zh": "租户（最新在前）"},
    # --- units ---
    "unit.ms": {"en": "{n} ms", "zh": "{n} 毫秒"},
    "unit.s": {"en": "{n} s", "zh": "{n} 秒"},
    "none": {"en": "—", "zh": "—"},
}

# The vocabularies' values as people read them (statuses, reason classes, event types).
VALUES: dict[str, dict[str, str]] = {
    "delivered": {"en": "delivered", "zh": "已送达"},
    "failed": {"en": "failed", "zh": "失败"},
    "expired": {"en": "expired", "zh": "已过期"},
    "rejected": {"en": "rejected", "zh": "被拒绝"},
    "unknown": {"en": "unknown", "zh": "未知"},
    "pending": {"en": "pending", "zh": "待定"},
    "accepted": {"en": "accepted", "zh": "已接受"},
    "sent": {"en": "sent", "zh": "已发送"},
    "active": {"en": "active", "zh": "正常"},
    "suspended": {"en": "suspended", "zh": "已暂停"},
    "received": {"en": "received", "zh": "已接收"},
    "sms.status": {"en": "status report", "zh": "状态回执"},
    "sms.inbound": {"en": "inbound message", "zh": "上行短信"},
    "sms.status_corrected": {"en": "status corrected", "zh": "状态更正"},
    "sms.receipt_missing": {"en": "receipt missing", "zh": "回执缺失"},
    "sms.alert": {"en": "alert", "zh": "告警"},
    "invalid_number": {"en": "invalid number", "zh": "号码无效"},
    "suspended_or_no_credit": {"en": "suspended or no credit", "zh": "停机或欠费"},
    "unreachable_powered_off": {"en": "unreachable or powered off", "zh": "无法接通或关机"},
    "handset_error": {"en": "handset error", "zh": "终端错误"},
    "blacklisted": {"en": "blacklisted", "zh": "黑名单"},
    "content_blocked": {"en": "content blocked", "zh": "内容被拦截"},
    "rate_limited": {"en": "rate limited", "zh": "频率受限"},
    "network_error": {"en": "network error", "zh": "网络错误"},
    "gateway_or_protocol_error": {"en": "gateway or protocol error", "zh": "网关或协议错误"},
    "carrier_unspecified_block": {"en": "blocked by the carrier", "zh": "运营商拦截（未说明）"},
    "other_unknown": {"en": "other or unknown", "zh": "其他或未知"},
}


def t(lang: str, key: str, **values: object) -> str:
    """Return a label in ``lang``, with ``{name}`` placeholders filled."""
    text = CATALOGUE[key].get(lang) or CATALOGUE[key][DEFAULT]
    return text.format(**values) if values else text


def value(lang: str, word: str | None) -> str:
    """Return a vocabulary value as people read it (the word itself when unknown)."""
    if word is None:
        return CATALOGUE["none"][lang]
    return VALUES.get(word, {}).get(lang, word)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """Return the viewer's language: the chosen one, else the browser's, else English."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return DEFAULT
