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
    "overview.no_endpoints": {"en": "No endpoints yet: create one to receive these receipts "
                                    "as events.",
                              "zh": "还没有端点：创建一个，以事件形式接收这些回执。"},
    "overview.endpoints_ok": {"en": "Every endpoint is healthy.", "zh": "所有端点都正常。"},
    "overview.no_rejected": {"en": "No callback was rejected.", "zh": "没有被拒绝的回调。"},
    "overview.no_missing": {"en": "No expected message is missing its receipt.",
                            "zh": "没有缺失回执的预期短信。"},
    "overview.empty": {"en": "No receipts yet — point your provider at this callback URL:",
                       "zh": "还没有回执——请将服务商的回调地址设置为："},
    "overview.no_accounts": {"en": "No receipts yet, and no provider account: create one, "
                                   "then point your provider at its callback URL.",
                             "zh": "还没有回执，也没有服务商账户：先创建一个，"
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
    "tenants.intro": {"en": "Every tenant of this hub. A tenant signs in to the console and "
                            "calls the API with its keys, issued on its page.",
                      "zh": "本系统的所有租户。租户使用其页面上签发的密钥登录控制台并调用 API。"},
    "tenants.none": {"en": "No tenants yet: create the first one above, then issue it a key.",
                     "zh": "还没有租户：请在上方创建第一个租户，然后为其签发密钥。"},
    "tenants.caption": {"en": "Tenants, newest first", "zh": "租户（最新在前）"},
    # --- admin ---
    "nav.system": {"en": "System", "zh": "系统"},
    "login.limited": {"en": "Too many wrong keys from your address. Wait {minutes} minute(s), "
                            "then try again.",
                      "zh": "您的地址输入错误密钥的次数过多。请等待 {minutes} 分钟后再试。"},
    "tenants.new": {"en": "New tenant", "zh": "新建租户"},
    "tenants.name_help": {"en": "How people will know it, e.g. the customer's name; it can "
                                "be changed later.",
                          "zh": "便于识别的名称，例如客户名称；之后可以修改。"},
    "tenants.create": {"en": "Create the tenant", "zh": "创建租户"},
    "tenants.deleted": {"en": "The tenant was deleted with its keys, receipts and inbox.",
                        "zh": "租户已删除，其密钥、回执和收件箱也一并删除。"},
    "tenant.title": {"en": "Tenant", "zh": "租户"},
    "tenant.back": {"en": "All tenants", "zh": "所有租户"},
    "tenant.created": {"en": "The tenant was created. Issue it a key below to let it sign in.",
                       "zh": "租户已创建。请在下方为其签发密钥，以便其登录。"},
    "tenant.renamed": {"en": "The tenant was renamed.", "zh": "租户已重命名。"},
    "tenant.suspended": {"en": "The tenant is suspended: its keys are refused and its console "
                               "sessions have ended. Its callbacks are still stored.",
                         "zh": "租户已暂停：其密钥被拒绝，控制台会话已结束。其回调仍会被保存。"},
    "tenant.resumed": {"en": "The tenant is active again: its keys work (its ended sessions "
                             "need a new sign-in).",
                       "zh": "租户已恢复：其密钥可以使用（已结束的会话需要重新登录）。"},
    "tenant.revoked": {"en": "The key was revoked: it stopped at once, with the console "
                             "sessions opened with it.",
                       "zh": "密钥已吊销：立即停止使用，用它打开的控制台会话也已结束。"},
    "tenant.updated_at": {"en": "Last changed", "zh": "最近修改"},
    "tenant.suspend_help": {"en": "Suspending refuses the tenant's keys and ends its console "
                                  "sessions at once; its callbacks are still accepted and "
                                  "stored, so no receipt is lost. Deleting is refused while "
                                  "it has provider accounts.",
                            "zh": "暂停会拒绝该租户的密钥并立即结束其控制台会话；其回调仍会被接收"
                                  "和保存，不会丢失回执。租户还有服务商账号时不能删除。"},
    "tenant.suspend": {"en": "Suspend", "zh": "暂停"},
    "tenant.resume": {"en": "Resume", "zh": "恢复"},
    "tenant.delete": {"en": "Delete…", "zh": "删除…"},
    "tenant.keys": {"en": "API keys", "zh": "API 密钥"},
    "tenant.keys_caption": {"en": "The tenant's keys, newest first, revoked ones included",
                            "zh": "该租户的密钥（最新在前，含已吊销的）"},
    "tenant.hint": {"en": "Ends with", "zh": "结尾字符"},
    "tenant.last_used": {"en": "Last used", "zh": "最近使用"},
    "tenant.revoked_at": {"en": "Revoked", "zh": "已吊销于"},
    "tenant.revoke": {"en": "Revoke", "zh": "吊销"},
    "tenant.revoke_named": {"en": "Revoke the key {name}", "zh": "吊销密钥 {name}"},
    "tenant.no_keys": {"en": "No keys yet: issue one below and give it to the tenant.",
                       "zh": "还没有密钥：请在下方签发一个并交给租户。"},
    "tenant.issue": {"en": "Issue a key", "zh": "签发密钥"},
    "tenant.key_name": {"en": "Key name (optional)", "zh": "密钥名称（可选）"},
    "tenant.key_name_help": {"en": "Where it will be used, e.g. billing-server; it tells keys "
                                   "apart in the list.",
                             "zh": "使用的地方，例如 billing-server；用于在列表中区分密钥。"},
    "tenant.issue_button": {"en": "Issue the key", "zh": "签发密钥"},
    "tenant.issued": {"en": "The new key: copy it now", "zh": "新密钥：请立即复制"},
    "tenant.issued_help": {"en": "This is the only time it is shown: dlrhub keeps only its "
                                 "hash. Lost, it is revoked and another one issued.",
                           "zh": "密钥只显示这一次：dlrhub 只保存其哈希值。如果遗失，"
                                 "请吊销并重新签发。"},
    "tenant.copy": {"en": "Copy the key", "zh": "复制密钥"},
    "tenant.copied": {"en": "Copied", "zh": "已复制"},
    "tenant.rename": {"en": "Rename", "zh": "重命名"},
    "tdel.title": {"en": "Delete the tenant", "zh": "删除租户"},
    "tdel.back": {"en": "Back to the tenant", "zh": "返回租户"},
    "tdel.blocked_title": {"en": "It cannot be deleted yet", "zh": "暂时无法删除"},
    "tdel.blocked": {"en": "The tenant still has {n} provider account(s); they are where its "
                           "receipts come from, so they are deleted first.",
                     "zh": "该租户还有 {n} 个服务商账号；回执来自这些账号，因此需要先删除它们。"},
    "tdel.blocked_help": {"en": "The tenant deletes them on its Provider accounts page (or "
                                "DELETE /v1/accounts/{id} with its key); then come back here. "
                                "To stop it at once meanwhile, suspend it.",
                          "zh": "租户可在其“服务商账号”页面删除（或用其密钥调用 "
                                "DELETE /v1/accounts/{id}），然后再回到这里。"
                                "如需立即停用，可先暂停该租户。"},
    "tdel.confirm_title": {"en": "Delete it for good?", "zh": "确定永久删除？"},
    "tdel.confirm": {"en": "This deletes the tenant with its keys, receipts, inbox, endpoints "
                           "and deliveries. It cannot be undone.",
                     "zh": "这将删除该租户及其密钥、回执、收件箱、端点和投递记录，且无法撤销。"},
    "tdel.submit": {"en": "Delete the tenant", "zh": "删除租户"},
    "tdel.cancel": {"en": "Cancel", "zh": "取消"},
    "system.title": {"en": "System", "zh": "系统"},
    "system.intro": {"en": "The hub itself, every tenant's work together. Read at",
                     "zh": "整个系统的状态（所有租户合计）。读取时间："},
    "system.checks": {"en": "Connections", "zh": "连接"},
    "system.database": {"en": "Database", "zh": "数据库"},
    "system.broker": {"en": "Broker", "zh": "消息代理"},
    "system.ok": {"en": "reachable", "zh": "可连接"},
    "system.error": {"en": "not reachable", "zh": "无法连接"},
    "system.checks_help": {"en": "The same checks as GET /readyz, which answers 503 while "
                                 "either fails.",
                           "zh": "与 GET /readyz 相同的检查；任一失败时它返回 503。"},
    "system.inbox_pending": {"en": "Callbacks waiting for ingest", "zh": "等待入库的回调"},
    "system.inbox_oldest": {"en": "The oldest has waited", "zh": "最早一条已等待"},
    "system.deliveries_pending": {"en": "Deliveries pending", "zh": "待投递"},
    "system.deliveries_dead": {"en": "Deliveries dead (gave up)", "zh": "投递失败（已放弃）"},
    "system.backlog_help": {"en": "A callback is kept before it is acknowledged; a worker "
                                  "stores it as receipts within a second or so. A backlog "
                                  "that grows means the workers are down or too few. Dead "
                                  "deliveries wait for a retry on the tenant's Deliveries "
                                  "page.",
                            "zh": "回调在确认前即被保存；工作进程通常在一秒左右将其存为回执。"
                                  "积压持续增长说明工作进程已停止或数量不足。失败的投递可在"
                                  "租户的“投递”页面重试。"},
    "system.workers": {"en": "Workers", "zh": "工作进程"},
    "system.workers_help": {"en": "Each worker process records a heartbeat every "
                                  "DLRHUB_HEARTBEAT_SECONDS (30 by default). Listed: the "
                                  "processes seen in the last 2 minutes.",
                            "zh": "每个工作进程每隔 DLRHUB_HEARTBEAT_SECONDS（默认 30 秒）记录"
                                  "一次心跳。这里列出最近 2 分钟内出现过的进程。"},
    "system.workers_none": {"en": "No worker has been seen in the last 2 minutes: callbacks "
                                  "are kept but not stored as receipts, and nothing is "
                                  "relayed. Start one (dlrhub worker, or dlrhub serve).",
                            "zh": "最近 2 分钟内没有工作进程出现：回调会被保留，但不会入库为回执，"
                                  "也不会投递。请启动一个（dlrhub worker 或 dlrhub serve）。"},
    "system.worker": {"en": "Process (host:pid)", "zh": "进程（主机:pid）"},
    "system.worker_started": {"en": "Started", "zh": "启动时间"},
    "system.worker_seen": {"en": "Last seen", "zh": "最近出现"},
    "system.work": {"en": "Last work recorded", "zh": "最近记录的工作"},
    "system.work_ingest": {"en": "Last callback stored as receipts", "zh": "最近一次回调入库"},
    "system.work_relay": {"en": "Last delivery attempt", "zh": "最近一次投递尝试"},
    "system.work_alerts": {"en": "Last alert rule evaluated", "zh": "最近一次告警规则评估"},
    "system.no_database": {"en": "The database cannot be read, so nothing else can be shown. "
                                 "Check DLRHUB_DATABASE_URL and that the database is running.",
                           "zh": "无法读取数据库，因此无法显示其他内容。请检查 "
                                 "DLRHUB_DATABASE_URL 以及数据库是否在运行。"},
    # --- units ---
    "unit.ms": {"en": "{n} ms", "zh": "{n} 毫秒"},
    "unit.s": {"en": "{n} s", "zh": "{n} 秒"},
    "none": {"en": "—", "zh": "—"},
    # --- provider accounts, endpoints, deliveries (console phase 2) ---
    "nav.accounts": {"en": "Provider accounts", "zh": "服务商账户"},
    "nav.endpoints": {"en": "Endpoints", "zh": "端点"},
    "nav.deliveries": {"en": "Deliveries", "zh": "投递"},
    "unit.min": {"en": "{n} min", "zh": "{n} 分钟"},
    "unit.h": {"en": "{n} h", "zh": "{n} 小时"},
    "unit.d": {"en": "{n} d", "zh": "{n} 天"},
    "acc.title": {"en": "Provider accounts", "zh": "服务商账户"},
    "acc.intro": {"en": "Each account has its own secret callback URL: configure it at the "
                        "provider, and its delivery reports arrive here.",
                  "zh": "每个账户都有自己的保密回调 URL：在服务商处配置它，"
                        "其状态报告就会发送到这里。"},
    "acc.caption": {"en": "Provider accounts, newest first", "zh": "服务商账户（最新在前）"},
    "acc.none": {"en": "No provider account yet: create one, then point your provider at its "
                       "callback URL.",
                 "zh": "还没有服务商账户：先创建一个，再将服务商的回调地址设置为它的回调 URL。"},
    "acc.new": {"en": "New provider account", "zh": "新建服务商账户"},
    "acc.choose": {"en": "Show its form", "zh": "显示表单"},
    "acc.choose_help": {"en": "Choose the provider first: each one needs its own credentials.",
                        "zh": "请先选择服务商：每家服务商需要的凭据不同。"},
    "acc.create": {"en": "Create the account", "zh": "创建账户"},
    "acc.copy": {"en": "Copy", "zh": "复制"},
    "acc.subscriptions": {"en": "Subscriptions of this URL at the provider",
                          "zh": "服务商处对此 URL 的订阅"},
    "acc.sub_confirmed": {"en": "confirmed", "zh": "确认于"},
    "acc.sub_unsubscribed": {"en": "unsubscribed", "zh": "退订于"},
    "acc.sub_id": {"en": "Subscription:", "zh": "订阅："},
    "acc.sub_status_confirmed": {"en": "SNS sends here", "zh": "SNS 向此发送"},
    "acc.sub_status_unsubscribed": {"en": "SNS no longer sends here", "zh": "SNS 不再向此发送"},
    "acc.back": {"en": "All provider accounts", "zh": "全部服务商账户"},
    "acc.back_to": {"en": "Back to {name}", "zh": "返回 {name}"},
    "acc.name_help": {"en": "Your own name for it, e.g. the provider's app or sign.",
                      "zh": "您为它起的名称，例如服务商处的应用名或签名。"},
    "acc.timezone": {"en": "Provider's time zone", "zh": "服务商时区"},
    "acc.timezone_help": {"en": "The IANA zone of the times the provider reports without one "
                                "(its default: {zone}).",
                          "zh": "服务商回执中不带时区的时间所使用的 IANA 时区（默认：{zone}）。"},
    "acc.region": {"en": "Default region", "zh": "默认国家/地区"},
    "acc.region_help": {"en": "Two letters (ISO 3166), for phone numbers reported without a "
                              "country code, e.g. CN. Blank: none.",
                        "zh": "两个字母（ISO 3166），用于没有国"
                              "家码的手机号，例如 CN。留空表示不设置。"},
    "acc.allowlist": {"en": "IP allow-list", "zh": "IP 白名单"},
    "acc.allowlist_help": {"en": "Addresses or networks (e.g. 203.0.113.0/24) allowed to post "
                                 "callbacks, one per line. Blank: any address.",
                           "zh": "允许发送回调的地址或网段（例如 203.0.113.0/24），每行一个。"
                                 "留空表示不限制。"},
    "acc.option": {"en": "Option: {name}", "zh": "选项：{name}"},
    "acc.default": {"en": "default", "zh": "默认"},
    "acc.credentials": {"en": "Credentials", "zh": "凭据"},
    "acc.credentials_required": {"en": "This provider signs its callbacks: dlrhub needs these "
                                       "to check each signature. They are stored encrypted and "
                                       "never shown again.",
                                 "zh": "该服务商会对回调签名：dlrhub 需要这些凭据来校验签名。"
                                       "凭据加密保存，之后不再显示。"},
    # Not "give both": an optional credential may be one (Twilio's auth_token, SNS's
    # topic_arn), and not every one is a signing key (Infobip's Basic password).
    "acc.credentials_optional": {"en": "Optional: with them, dlrhub checks what each "
                                       "callback carries (its signature, its credentials or "
                                       "its topic); without them, the secret callback URL "
                                       "and the IP allow-list are the checks. They are "
                                       "stored encrypted and never shown again.",
                                 "zh": "可选：填写后，dlrhub 会校验每个回调携带的内容（签名、"
                                       "凭据或主题）；不填写时，仅凭保密的回调 URL 和 IP "
                                       "白名单校验。凭据加密保存，之后不再显示。"},
    "acc.credentials_keep": {"en": "Leave them blank to keep the current ones; to change them, "
                                   "type every one.",
                             "zh": "留空则保留现有凭据；如需更改，请全部重新填写。"},
    "cred.netease.app_key": {"en": "The AppKey of your NetEase Yunxin application; callbacks "
                                   "carry it in their AppKey header.",
                             "zh": "网易云信应用的 AppKey；回调在 AppKey 请求头中携带它。"},
    "cred.netease.app_secret": {"en": "The AppSecret of the same application: it checks each "
                                      "callback's CheckSum.",
                                "zh": "同一应用的 AppSecret：用于校验每个回调的 CheckSum。"},
    "cred.huawei.access_key": {"en": "The app's Access Key (AK), when the callbacks are signed "
                                     "with SDK-HMAC-SHA256.",
                               "zh": "应用的 Access Key（AK），用于 SDK-HMAC-SHA256 签名的回调。"},
    "cred.huawei.secret_key": {"en": "The app's Secret Key (SK) that signs them.",
                               "zh": "为回调签名的应用 Secret Key（SK）。"},
    "cred.nxcloud.access_key": {"en": "Your NXCloud access key, when its callbacks are signed.",
                                "zh": "牛信云的 access key（回调带签名时填写）。"},
    "cred.nxcloud.access_secret": {"en": "The access secret that signs them.",
                                   "zh": "用于签名的 access secret。"},
    "cred.twilio.auth_token": {"en": "The Auth Token of your Twilio account (console home, "
                                     "Account Info): it checks each X-Twilio-Signature.",
                               "zh": "Twilio 账户的 Auth Token（控制台首页 Account Info）："
                                     "用于校验每个回调的 X-Twilio-Signature。"},
    "cred.telnyx.public_key": {"en": "The base64 public key of your Telnyx account (Keys & "
                                     "Credentials, Public Key): it checks each Ed25519 "
                                     "signature.",
                               "zh": "Telnyx 账户的 base64 公钥（Keys & Credentials → Public "
                                     "Key）：用于校验每个回调的 Ed25519 签名。"},
    "cred.plivo.auth_token": {"en": "The Auth Token of your Plivo account (console overview): "
                                    "it checks each X-Plivo-Signature-V3.",
                              "zh": "Plivo 账户的 Auth Token（控制台概览页）：用于校验每个回调的 "
                                    "X-Plivo-Signature-V3。"},
    "cred.vonage.signature_secret": {"en": "The signature secret of your Vonage account (API "
                                           "Settings, once Vonage has enabled signed "
                                           "webhooks): it checks each sig.",
                                     "zh": "Vonage 账户的签名密钥（API Settings，需 Vonage 开通"
                                           "签名回调）：用于校验每个回调的 sig。"},
    "cred.vonage.signature_method": {"en": "Its method, as the dashboard shows it: md5hash, "
                                           "md5, sha1, sha256 or sha512.",
                                     "zh": "签名方法，与控制台一致：md5hash、md5、sha1、sha256 "
                                           "或 sha512。"},
    "cred.vonage_messages.signature_secret": {"en": "The signature secret of your Vonage "
                                                    "account (API Settings): it checks the "
                                                    "JWT of each webhook.",
                                              "zh": "Vonage 账户的签名密钥（API Settings）："
                                                    "用于校验每个回调的 JWT。"},
    "cred.bird.signing_key": {"en": "The signing key of your MessageBird account (Developers, "
                                    "API access) or of your Bird webhook subscription: it "
                                    "checks each MessageBird-Signature.",
                              "zh": "MessageBird 账户（Developers → API access）或 Bird webhook "
                                    "订阅的签名密钥：用于校验每个回调的 MessageBird-Signature。"},
    "option.cloopen.answer": {"en": "How dlrhub acknowledges a push (CloOpen does not document "
                                    "it): auto answers in the form of the request.",
                              "zh": "dlrhub 如何应答推送（容联云未说明）：auto 按请求的格式应答。"},
    "cred.chuanglan.account": {"en": "The receiver (account) you set for ChuangLan's pushes; "
                                      "each push must carry it.",
                                "zh": "在创蓝设置的推送账号（receiver），每次推送都须携带。"},
    "cred.chuanglan.password": {"en": "The pswd you set for ChuangLan's pushes. It arrives in "
                                      "clear in the query: dlrhub checks it and keeps it nowhere.",
                                "zh": "在创蓝设置的推送密码（pswd）。它以明文出现在查询串中："
                                      "dlrhub 只做校验，不保存。"},
    "cred.montnets.userid": {"en": "Your Montnets userid; each push must carry it.",
                             "zh": "您的梦网 userid，每次推送都须携带。"},
    "cred.montnets.password": {"en": "Your Montnets password, which each push's pwd digest is "
                                     "checked against (see the option below).",
                               "zh": "您的梦网密码，用于校验每次推送的 pwd 摘要（见下方选项）。"},
    "option.montnets.pwd_check": {"en": "md5 checks each push's pwd as Montnets' demo computes "
                                        "it (an assumption for pushes); off checks the userid "
                                        "only.",
                                  "zh": "md5：按梦网示例的算法校验每次推送的 pwd（对推送而言"
                                        "是推测）；off：只校验 userid。"},
    "option.huawei.acceptd_status": {"en": "The status of ACCEPTD reports, which Huawei does "
                                           "not define (accepted by the end user in CMPP).",
                                     "zh": "ACCEPTD 回执对应的状态；华为未定义它"
                                           "（在 CMPP 中表示用户已接收）。"},
    "option.huawei.unlisted_status": {"en": "The status of a code missing from Huawei's table; "
                                            "unknown keeps such reports undecided.",
                                      "zh": "华为状态表中没有的状态码对应的状态；"
                                            "unknown 表示暂不判定。"},
    "acc.url_help": {"en": "Configure this URL as the status-report callback in {provider}'s "
                           "console. It holds a secret token: keep it private.",
                     "zh": "请在 {provider} 控制台中将此 URL 设为状态报告回调地址。"
                           "它含有保密令牌，请勿泄露。"},
    "setup.dlr_url_template": {"en": "dlr-url to send with each message",
                               "zh": "每条短信随附的 dlr-url"},
    "setup.dlr_url_template.help": {
        "en": "Kannel reports by calling the dlr-url of each message: send this one (with "
              "dlr-mask, e.g. 31) from your application. It holds the secret token.",
        "zh": "Kannel 通过调用每条短信的 dlr-url 回送状态报告：请在应用中随短信发送此地址"
              "（并设置 dlr-mask，例如 31）。它含有保密令牌。"},
    "setup.mo_get_url_template": {"en": "get-url of the sms-service for replies",
                                  "zh": "接收上行短信的 sms-service get-url"},
    "setup.mo_get_url_template.help": {
        "en": "To receive replies, set this as the get-url of a Kannel sms-service.",
        "zh": "如需接收上行短信，请将其设为 Kannel sms-service 的 get-url。"},
    "setup.subscription": {"en": "SNS subscription", "zh": "SNS 订阅"},
    "setup.subscription.help": {
        "en": "Subscribe the callback URL above (protocol HTTPS) to the SNS topic of the "
              "configuration set's event destination; dlrhub confirms the subscription "
              "itself when SNS asks.",
        "zh": "请将上面的回调 URL（HTTPS 协议）订阅到配置集事件目标的 SNS 主题；"
              "SNS 发来确认请求时，dlrhub 会自行确认订阅。"},
    "acc.previous_until": {"en": "The previous callback URL keeps working until",
                           "zh": "旧的回调 URL 仍可使用，直到"},
    "acc.grace": {"en": "Grace period of the current URL", "zh": "当前 URL 的宽限期"},
    "acc.grace_0": {"en": "none: it stops at once", "zh": "无：立即停用"},
    "acc.grace_3600": {"en": "1 hour", "zh": "1 小时"},
    "acc.grace_86400": {"en": "1 day", "zh": "1 天"},
    "acc.grace_604800": {"en": "7 days", "zh": "7 天"},
    "acc.grace_help": {"en": "Rotating gives a new URL; the current one keeps working for the "
                             "grace period, long enough to reconfigure the provider.",
                       "zh": "轮换会生成新的 URL；当前 URL 在"
                             "宽限期内继续有效，以便您修改服务商配置。"},
    "acc.rotate": {"en": "Rotate the callback URL", "zh": "轮换回调 URL"},
    "acc.created": {"en": "Account created. Configure its callback URL at the provider now.",
                    "zh": "账户已创建。请现在到服务商处配置它的回调 URL。"},
    "acc.rotated": {"en": "New callback URL below. Reconfigure the provider before the previous "
                          "one stops.",
                    "zh": "新的回调 URL 如下。请在旧 URL 停用前修改服务商配置。"},
    "acc.saved": {"en": "Saved.", "zh": "已保存。"},
    "acc.facts": {"en": "Account", "zh": "账户信息"},
    "acc.edit": {"en": "Settings", "zh": "设置"},
    "acc.save": {"en": "Save", "zh": "保存"},
    "acc.refused": {"en": "Rejected callbacks", "zh": "被拒绝的回调"},
    "acc.refused_caption": {"en": "Callbacks of this account that were refused or failed, newest "
                                  "first",
                            "zh": "该账户被拒绝或处理失败的回调（最新在前）"},
    "acc.refused_none": {"en": "No callback of this account was rejected.",
                         "zh": "该账户没有被拒绝的回调。"},
    "acc.body": {"en": "Body", "zh": "请求体"},
    "acc.body_size": {"en": "{n} bytes", "zh": "{n} 字节"},
    "acc.body_binary": {"en": "The body is not UTF-8 text; here it is in base64.",
                        "zh": "请求体不是 UTF-8 文本，以下为其 base64 编码。"},
    "acc.callback_title": {"en": "Rejected callback", "zh": "被拒绝的回调"},
    "acc.remote_addr": {"en": "From address", "zh": "来源地址"},
    "acc.content_type": {"en": "Content type", "zh": "内容类型"},
    "acc.headers": {"en": "Headers", "zh": "请求头"},
    "ep.title": {"en": "Endpoints", "zh": "端点"},
    "ep.one": {"en": "Endpoint", "zh": "端点"},
    "ep.intro": {"en": "Your webhook URLs: dlrhub POSTs each receipt to them as a signed event.",
                 "zh": "您的 Webhook 地址：dlrhub 会把每条回执作为签名事件 POST 到这些地址。"},
    "ep.caption": {"en": "Endpoints, newest first", "zh": "端点（最新在前）"},
    "ep.none": {"en": "No endpoint yet: create one to receive your receipts as events.",
                "zh": "还没有端点：创建一个，以事件形式接收您的回执。"},
    "ep.new": {"en": "New endpoint", "zh": "新建端点"},
    "ep.create": {"en": "Create the endpoint", "zh": "创建端点"},
    "ep.back": {"en": "All endpoints", "zh": "全部端点"},
    "ep.see_deliveries": {"en": "See its deliveries", "zh": "查看投递记录"},
    "ep.deliveries": {"en": "Deliveries", "zh": "投递"},
    "ep.url_help": {"en": "An http(s) URL of yours; addresses inside private networks are "
                          "refused.",
                    "zh": "您的 http(s) URL；内网地址会被拒绝。"},
    "ep.description": {"en": "Description", "zh": "描述"},
    "ep.format": {"en": "Format", "zh": "格式"},
    "ep.format_normalized": {"en": "dlrhub events", "zh": "dlrhub 事件"},
    "ep.format_native": {"en": "the provider's own callback", "zh": "服务商原始回调"},
    "ep.format_help": {"en": "dlrhub events read the same for every provider; the provider's "
                             "own callback is re-posted as it came, one per request.",
                       "zh": "dlrhub 事件对所有服务商格式一致"
                             "；服务商原始回调按原样转发，每次一个。"},
    "ep.batch_size": {"en": "Batch size", "zh": "批量大小"},
    "ep.batch_help": {"en": "Events per POST, 1 to 100 (a JSON array above 1).",
                      "zh": "每次 POST 的事件数，1 到 100（大于 1 时为 JSON 数组）。"},
    "ep.timeout": {"en": "Timeout (seconds)", "zh": "超时（秒）"},
    "ep.timeout_help": {"en": "How long one attempt may take, at most 30 s.",
                        "zh": "单次尝试的最长时间，最多 30 秒。"},
    "ep.rate_limit": {"en": "Rate limit (requests per second)", "zh": "速率限制（每秒请求数）"},
    "ep.rate_help": {"en": "Blank: no limit.", "zh": "留空表示不限制。"},
    "ep.retry_policy": {"en": "Retry policy", "zh": "重试策略"},
    "ep.policy": {"en": "Policy", "zh": "策略"},
    "ep.policy_waits": {"en": "my own waits", "zh": "自定义间隔"},
    "ep.waits": {"en": "Own waits (seconds)", "zh": "自定义间隔（秒）"},
    "ep.waits_help": {"en": "With “my own waits”: the seconds before each retry, separated by "
                            "commas, e.g. 10, 60, 600.",
                      "zh": "选择“自定义间隔”时填写：每次重试前等待的秒数，用逗号分隔，"
                            "例如 10, 60, 600。"},
    "ep.attempts": {"en": "{n} attempts in all", "zh": "共 {n} 次尝试"},
    "ep.filters": {"en": "What it receives", "zh": "接收哪些事件"},
    "ep.filters_help": {"en": "Nothing ticked in a group means everything of it.",
                        "zh": "某一组不勾选任何项即表示接收该组的全部。"},
    "ep.accounts": {"en": "Provider accounts", "zh": "服务商账户"},
    "ep.no_accounts": {"en": "No provider account yet.", "zh": "还没有服务商账户。"},
    "ep.headers": {"en": "Extra headers", "zh": "附加请求头"},
    "ep.headers_help": {"en": "One per line, as Name: value (e.g. X-Team: sms).",
                        "zh": "每行一个，格式为 名称: 值（例如 X-Team: sms）。"},
    "ep.failures": {"en": "Failed attempts in a row", "zh": "连续失败次数"},
    "ep.failing_since": {"en": "Failing since", "zh": "开始失败于"},
    "ep.circuit_until": {"en": "Circuit open until", "zh": "熔断直到"},
    "ep.disabled_reason": {"en": "Why disabled", "zh": "停用原因"},
    "ep.enable": {"en": "Enable it again", "zh": "重新启用"},
    "ep.disable": {"en": "Disable", "zh": "停用"},
    "ep.created": {"en": "Endpoint created. Reveal its signing secret below to check the "
                         "signatures of what it receives.",
                   "zh": "端点已创建。请在下方显示签名密钥，用于校验收到的请求。"},
    "ep.saved": {"en": "Saved.", "zh": "已保存。"},
    "ep.enabled": {"en": "Enabled: deliveries go out again.", "zh": "已启用：将恢复投递。"},
    "ep.disabled": {"en": "Disabled: nothing is sent until it is enabled again.",
                    "zh": "已停用：重新启用前不会发送任何内容。"},
    "ep.rotated": {"en": "New secret below; the previous one signs beside it for 24 hours.",
                   "zh": "新密钥如下；旧密钥将在 24 小时内同时签名。"},
    "ep.secret": {"en": "Signing secret", "zh": "签名密钥"},
    "ep.secret_help": {"en": "Every POST is signed with it (the webhook-signature header). It "
                             "is shown only when you ask.",
                       "zh": "每个 POST 都用它签名（webhook-s"
                             "ignature 请求头）。仅在您请求时显示。"},
    "ep.previous_secret": {"en": "The previous secret still signs until",
                           "zh": "旧密钥仍会签名，直到"},
    "ep.reveal": {"en": "Show the secret", "zh": "显示密钥"},
    "ep.rotate": {"en": "Rotate the secret", "zh": "轮换密钥"},
    "ep.test": {"en": "Test event", "zh": "测试事件"},
    "ep.test_help": {"en": "Sends one signed test event now (\"test\": true); it is not retried "
                           "and does not count as a failure.",
                     "zh": "立即发送一个签名的测试事件（\"test\": true）；"
                           "不会重试，也不计入失败。"},
    "ep.send_test": {"en": "Send a test event", "zh": "发送测试事件"},
    "ep.test_ok": {"en": "accepted", "zh": "已接受"},
    "ep.test_failed": {"en": "not accepted", "zh": "未被接受"},
    "ep.status_code": {"en": "HTTP status", "zh": "HTTP 状态码"},
    "ep.latency": {"en": "Latency", "zh": "耗时"},
    "ep.schedule": {"en": "Retry schedule", "zh": "重试时间表"},
    "ep.schedule_help": {"en": "Policy {name}: when each attempt is made after the first one "
                               "fails.",
                         "zh": "策略 {name}：首次失败后每次尝试的时间。"},
    "ep.jitter": {"en": "Each wait varies by up to ±{n}%.",
                  "zh": "每次等待会有最多 ±{n}% 的随机浮动。"},
    "ep.schedule_caption": {"en": "{n} attempts in all", "zh": "共 {n} 次尝试"},
    "ep.attempt": {"en": "Attempt", "zh": "第几次"},
    "ep.wait": {"en": "Wait before it", "zh": "等待时间"},
    "ep.elapsed": {"en": "After the first", "zh": "距首次"},
    "ep.edit": {"en": "Settings", "zh": "设置"},
    "ep.replay": {"en": "Replay a time range", "zh": "重放一段时间"},
    "ep.replay_help": {"en": "Sends the events received in the range again, as new deliveries, "
                             "through this endpoint's filters.",
                       "zh": "将此时间范围内收到的事件按本端点的筛选条件重新发送，作为新的投递。"},
    "ep.until_help": {"en": "Blank: now.", "zh": "留空表示现在。"},
    "ep.replay_statuses": {"en": "Only these statuses", "zh": "仅这些状态"},
    "ep.replay_statuses_help": {"en": "Nothing ticked: every status the endpoint receives.",
                                "zh": "不勾选：端点接收的所有状态。"},
    "ep.replay_go": {"en": "Replay", "zh": "重放"},
    "ep.replayed": {"en": "{n} deliveries planned.", "zh": "已安排 {n} 个投递。"},
    "dlv.title": {"en": "Deliveries", "zh": "投递"},
    "dlv.one": {"en": "Delivery", "zh": "投递"},
    "dlv.caption": {"en": "Deliveries, newest first", "zh": "投递（最新在前）"},
    "dlv.none": {"en": "No deliveries yet: they appear once an endpoint receives events.",
                 "zh": "还没有投递：端点开始接收事件后会显示在这里。"},
    "dlv.none_match": {"en": "No delivery matches these filters.",
                       "zh": "没有符合筛选条件的投递。"},
    "dlv.status_pending": {"en": "pending", "zh": "待发送"},
    "dlv.status_succeeded": {"en": "succeeded", "zh": "成功"},
    "dlv.status_failed": {"en": "failed", "zh": "失败"},
    "dlv.status_dead": {"en": "dead (gave up)", "zh": "已放弃"},
    "dlv.attempts": {"en": "Attempts", "zh": "尝试"},
    "dlv.attempts_caption": {"en": "Attempts, oldest first", "zh": "尝试记录（最早在前）"},
    "dlv.no_attempts": {"en": "Not attempted yet.", "zh": "尚未尝试。"},
    "dlv.next": {"en": "Next attempt", "zh": "下次尝试"},
    "dlv.events": {"en": "Events", "zh": "事件数"},
    "dlv.at": {"en": "Time", "zh": "时间"},
    "dlv.response": {"en": "Response excerpt", "zh": "响应摘录"},
    "dlv.retry": {"en": "Retry now", "zh": "立即重试"},
    "dlv.retried": {"en": "Queued again: the relay sends it now, with a fresh run of the retry "
                          "policy.",
                    "zh": "已重新排队：中继将立即发送，并重新按重试策略执行。"},
    "dlv.back": {"en": "Back to the deliveries", "zh": "返回投递列表"},
    # --- insight: analytics, expectations, alert rules ---
    "nav.analytics": {"en": "Analytics", "zh": "分析"},
    "nav.expectations": {"en": "Expectations", "zh": "预期短信"},
    "nav.alerts": {"en": "Alert rules", "zh": "告警规则"},
    "analytics.title": {"en": "Delivery analytics", "zh": "送达分析"},
    "analytics.intro": {"en": "Messages by status, delivery rate, missing receipts, reasons and "
                              "latency, grouped as you choose: the figures of GET "
                              "/v1/analytics/delivery.",
                        "zh": "按您选择的维度分组，查看各状态短信数、送达率、缺失回执、失败原因"
                              "和时延：与 GET /v1/analytics/delivery 的数据一致。"},
    "analytics.query": {"en": "Query", "zh": "查询条件"},
    "analytics.since": {"en": "From", "zh": "开始时间"},
    "analytics.until": {"en": "Until", "zh": "结束时间"},
    "analytics.range_help": {"en": "Blank: the last 24 hours. Taken out to whole UTC hours; at "
                                   "most 93 days.",
                             "zh": "留空表示最近 24 小时。按整点（UTC）取整；最长 93 天。"},
    "analytics.tz": {"en": "Time zone of days", "zh": "按天分组的时区"},
    "analytics.tz_help": {"en": "Where a day starts when grouping by day.",
                          "zh": "按天分组时，一天从哪个时区的零点开始。"},
    "analytics.group_by": {"en": "Group by", "zh": "分组维度"},
    "analytics.group_help": {"en": "Tick any number of keys; none: one row of everything.",
                             "zh": "可勾选任意多个维度；不勾选则汇总为一行。"},
    "analytics.key_provider": {"en": "Provider", "zh": "服务商"},
    "analytics.key_account_id": {"en": "Account", "zh": "账户"},
    "analytics.key_country": {"en": "Country", "zh": "国家/地区"},
    "analytics.key_carrier": {"en": "Carrier", "zh": "运营商"},
    "analytics.key_template": {"en": "Template", "zh": "模板"},
    "analytics.key_reason_class": {"en": "Reason class", "zh": "原因类别"},
    "analytics.key_hour": {"en": "Hour", "zh": "小时"},
    "analytics.key_day": {"en": "Day", "zh": "日期"},
    "analytics.filters": {"en": "Only messages of", "zh": "仅统计"},
    "analytics.country_help": {"en": "Two letters (ISO 3166), e.g. CN.",
                               "zh": "两个字母（ISO 3166），例如 CN。"},
    "analytics.carrier_help": {"en": "A carrier slug, e.g. china_mobile.",
                               "zh": "运营商标识，例如 china_mobile。"},
    "analytics.empty": {"en": "No messages in this range. Widen it, clear the filters, or send "
                              "some: run the simulator against an account's callback URL, or "
                              "point your provider at it.",
                        "zh": "此时间范围内没有短信。请扩大时间范围、清除筛选，或产生一些数据："
                              "用模拟器向账户的回调 URL 发送回执，或将服务商的回调地址设置为它。"},
    "analytics.see_callbacks": {"en": "Your accounts' callback URLs are on the Overview",
                                "zh": "账户的回调 URL 见概览页"},
    "analytics.chart": {"en": "Delivery rate and handset latency over time",
                        "zh": "送达率与手机端时延趋势"},
    "analytics.chart_help": {"en": "By hour up to three days, by day beyond; the table below "
                                   "holds every figure.",
                             "zh": "三天以内按小时，超过三天按天；所有数字见下表。"},
    "analytics.delivery_rate_pct": {"en": "Delivery rate (%)", "zh": "送达率（%）"},
    "analytics.handset_p50": {"en": "Handset latency p50 (s)", "zh": "手机端时延 p50（秒）"},
    "analytics.handset_p90": {"en": "Handset latency p90 (s)", "zh": "手机端时延 p90（秒）"},
    "analytics.rate_axis": {"en": "%", "zh": "%"},
    "analytics.latency_axis": {"en": "seconds", "zh": "秒"},
    "analytics.groups": {"en": "Figures by group", "zh": "分组数据"},
    "analytics.caption": {"en": "One row per group", "zh": "每组一行"},
    "analytics.truncated": {"en": "Showing the first {shown} of {total} groups: narrow the range, "
                                  "filter, or group by fewer keys.",
                            "zh": "仅显示 {total} 组中的前 {shown} 组：请缩小时间范围、"
                                  "增加筛选或减少分组维度。"},
    "analytics.group": {"en": "Group", "zh": "分组"},
    "analytics.all": {"en": "All messages", "zh": "全部短信"},
    "analytics.unknown_key": {"en": "unknown", "zh": "未知"},
    "analytics.missing_expected": {"en": "Missing / expected", "zh": "缺失 / 预期"},
    "analytics.handset": {"en": "Handset latency p50 / p90 / p99",
                          "zh": "手机端时延 p50 / p90 / p99"},
    "analytics.lag": {"en": "Receipt lag p50 / p99", "zh": "回执延迟 p50 / p99"},
    "analytics.percentiles_help": {"en": "Handset latency: from submission to the handset's "
                                         "report. Receipt lag: from that report to its arrival "
                                         "here. Percentiles are close estimates.",
                                   "zh": "手机端时延：从提交到手机回报的时间。回执延迟：从回报到"
                                         "回执到达本系统的时间。百分位数为近似估计。"},
    "exp.title": {"en": "Expected messages", "zh": "预期短信"},
    "exp.intro": {"en": "Messages you told dlrhub you sent: each is met by its final receipt, or "
                        "reported missing past its deadline.",
                  "zh": "您告知 dlrhub 已发送的短信：收到最终回执即为已满足，"
                        "超过截止时间仍未收到则报告为缺失。"},
    "exp.registered": {"en": "Registered: dlrhub now watches for its final receipt.",
                       "zh": "已登记：dlrhub 会等待它的最终回执。"},
    "exp.counts": {"en": "Expectations by state", "zh": "各状态的预期短信数"},
    "exp.count_pending": {"en": "Waiting for a receipt", "zh": "等待回执"},
    "exp.count_missing": {"en": "Missing their receipt", "zh": "缺失回执"},
    "exp.more_than": {"en": "more than {n}", "zh": "超过 {n}"},
    "exp.all": {"en": "All", "zh": "全部"},
    "exp.state_pending": {"en": "pending", "zh": "等待中"},
    "exp.state_met": {"en": "met", "zh": "已满足"},
    "exp.state_missing": {"en": "missing", "zh": "缺失"},
    "exp.late": {"en": "(late)", "zh": "（迟到）"},
    "exp.caption": {"en": "Expected messages, newest first", "zh": "预期短信（最新在前）"},
    "exp.sent_at": {"en": "Sent", "zh": "发送时间"},
    "exp.met_at": {"en": "Receipt came", "zh": "回执到达"},
    "exp.none_in_state": {"en": "No expectation is in this state.",
                          "zh": "没有处于此状态的预期短信。"},
    "exp.none": {"en": "No expectations yet. Register each message you send, and dlrhub tells "
                       "you which never got a receipt:",
                 "zh": "还没有预期短信。登记您发送的每条短信，dlrhub 会告诉您哪些始终没有回执："},
    "exp.none_help": {"en": "Up to 1,000 at once as {\"data\": [...]}; streams of any length to "
                            "POST /v1/expectations/bulk. Or register one with the form below.",
                      "zh": "一次最多 1,000 条（{\"data\": [...]}）；任意长度的数据流请发送到 "
                            "POST /v1/expectations/bulk。也可以用下面的表单登记一条。"},
    "exp.register": {"en": "Register one expected message", "zh": "登记一条预期短信"},
    "exp.register_submit": {"en": "Register", "zh": "登记"},
    "exp.message_help": {"en": "The provider's message id, as its receipts carry it.",
                         "zh": "服务商的短信 ID，与其回执中的一致。"},
    "exp.phone_help": {"en": "The recipient, when several share the message id. Optional.",
                       "zh": "接收方号码；多个接收方共用同一短信 ID 时填写。可选。"},
    "exp.deadline_seconds": {"en": "Deadline (seconds)", "zh": "截止时间（秒）"},
    "exp.deadline_help": {"en": "How long a final receipt may take. Blank: the account's default.",
                          "zh": "最终回执最多可等待多久。留空则使用账户的默认值。"},
    "exp.no_accounts": {"en": "Expectations belong to a provider account: create one first.",
                        "zh": "预期短信属于某个服务商账户：请先创建一个。"},
    "alert.title": {"en": "Alert rules", "zh": "告警规则"},
    "alert.one": {"en": "Alert rule", "zh": "告警规则"},
    "alert.intro": {"en": "Thresholds on how delivery is going, checked every minute. Each time "
                          "a rule starts firing and each time it clears, an sms.alert event goes "
                          "to your endpoints.",
                    "zh": "对送达情况设置阈值，每分钟检查一次。规则每次开始告警或恢复时，"
                          "都会向您的端点发送一条 sms.alert 事件。"},
    "alert.new": {"en": "New alert rule", "zh": "新建告警规则"},
    "alert.create": {"en": "Create the rule", "zh": "创建规则"},
    "alert.back": {"en": "All alert rules", "zh": "全部告警规则"},
    "alert.caption": {"en": "Alert rules, newest first", "zh": "告警规则（最新在前）"},
    "alert.none": {"en": "No alert rule yet: create one to hear when delivery drops.",
                   "zh": "还没有告警规则：创建一个，在送达率下降时收到通知。"},
    "alert.created": {"en": "Rule created: it is evaluated within a minute.",
                      "zh": "规则已创建：一分钟内开始评估。"},
    "alert.saved": {"en": "Saved: the next evaluation uses the new settings.",
                    "zh": "已保存：下次评估将使用新设置。"},
    "alert.deleted": {"en": "Rule deleted. The events it emitted stay with your receipts.",
                      "zh": "规则已删除。它发出的事件仍保留在回执中。"},
    "alert.kind": {"en": "Kind", "zh": "类型"},
    "alert.kind_delivery_rate_below": {"en": "Delivery rate below", "zh": "送达率低于"},
    "alert.kind_reason_share_above": {"en": "Reason class share above", "zh": "某类失败占比高于"},
    "alert.kind_missing_share_above": {"en": "Missing receipts above", "zh": "缺失回执占比高于"},
    "alert.kind_no_receipts_for": {"en": "No receipts for an account", "zh": "账户无回执"},
    "alert.help_delivery_rate_below": {"en": "Fires when delivered ÷ final messages in the window "
                                             "falls below the threshold (0 to 1, e.g. 0.9).",
                                       "zh": "窗口内已送达 ÷ 最终状态短信数低于阈值时告警"
                                             "（0 到 1，例如 0.9）。"},
    "alert.help_reason_share_above": {"en": "Fires when one reason class's share of the failures "
                                            "rises above the threshold (0 to 1); choose the class.",
                                      "zh": "某一原因类别在失败中的占比高于阈值时告警"
                                            "（0 到 1）；需选择原因类别。"},
    "alert.help_missing_share_above": {"en": "Fires when the share of expectations due in the "
                                             "window that got no receipt rises above the "
                                             "threshold (0 to 1). Scope by account or provider "
                                             "only.",
                                       "zh": "窗口内到期的预期短信中没有回执的占比高于阈值时告警"
                                             "（0 到 1）。只能按账户或服务商限定范围。"},
    "alert.help_no_receipts_for": {"en": "Fires when an account with expectations pending for "
                                         "the whole window sent no receipt at all: its provider's "
                                         "receipts have stopped. Needs the account; no threshold.",
                                   "zh": "账户有整个窗口内都在等待的预期短信，却没有收到任何回执时"
                                         "告警：说明服务商的回执推送已中断。需指定账户；无需阈值。"},
    "alert.threshold": {"en": "Threshold", "zh": "阈值"},
    "alert.threshold_help": {"en": "A share from 0 to 1 (0.9 is 90%). Not used by “No receipts "
                                   "for an account”.",
                             "zh": "0 到 1 之间的比例（0.9 即 90%）。“账户无回执”不使用此项。"},
    "alert.window_seconds": {"en": "Window (seconds)", "zh": "时间窗口（秒）"},
    "alert.window_help": {"en": "How far back each evaluation looks: 60 s to 7 days (604800).",
                          "zh": "每次评估回看多久：60 秒到 7 天（604800）。"},
    "alert.min_messages": {"en": "Minimum messages", "zh": "最少短信数"},
    "alert.min_help": {"en": "The rule says nothing until this many messages (failures, "
                             "expectations) are in its window.",
                       "zh": "窗口内短信（失败、预期短信）达到此数量前，规则不作判断。"},
    "alert.reason_help": {"en": "Only for “Reason class share above”.",
                          "zh": "仅用于“某类失败占比高于”。"},
    "alert.scope": {"en": "Which messages", "zh": "统计范围"},
    "alert.scope_help": {"en": "Blank fields mean all of yours.",
                         "zh": "留空表示全部。"},
    "alert.enabled": {"en": "Enabled", "zh": "启用"},
    "alert.firing": {"en": "firing", "zh": "告警中"},
    "alert.quiet": {"en": "not firing", "zh": "正常"},
    "alert.disabled": {"en": "disabled", "zh": "已停用"},
    "alert.firing_since": {"en": "Firing since", "zh": "告警开始时间"},
    "alert.last_value": {"en": "Last measure", "zh": "最近测量值"},
    "alert.last_evaluated": {"en": "Last evaluated", "zh": "最近评估时间"},
    "alert.too_few": {"en": "too few messages to say", "zh": "短信太少，无法判断"},
    "alert.history": {"en": "Firing history", "zh": "告警历史"},
    "alert.history_caption": {"en": "The rule's sms.alert events, newest first",
                               "zh": "该规则的 sms.alert 事件（最新在前）"},
    "alert.measured": {"en": "Measured", "zh": "测量值"},
    "alert.event_firing": {"en": "started firing", "zh": "开始告警"},
    "alert.event_resolved": {"en": "resolved", "zh": "已恢复"},
    "alert.no_history": {"en": "It has not fired yet.", "zh": "尚未告警过。"},
    "alert.delete": {"en": "Delete the rule", "zh": "删除规则"},
    "alert.delete_help": {"en": "The events it emitted stay with your receipts.",
                          "zh": "它发出的事件仍保留在回执中。"},
    "alert.delete_confirm": {"en": "Yes, delete this rule", "zh": "是的，删除此规则"},
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
    "endpoint.disabled": {"en": "endpoint disabled", "zh": "端点已停用"},
    "endpoint.circuit_opened": {"en": "endpoint circuit opened", "zh": "端点熔断"},
    "endpoint.recovered": {"en": "endpoint recovered", "zh": "端点已恢复"},
    "delivery.dead": {"en": "delivery dead", "zh": "投递已放弃"},
    "account.callbacks_rejected": {"en": "callbacks rejected", "zh": "回调被拒"},
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
