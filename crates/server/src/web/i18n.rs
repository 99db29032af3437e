//! The two page languages: interface strings and labels of stable values
//! (statuses, kinds, roles, actions), Chinese and English.

/// Page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "zh" | "zh-CN" | "zh-Hans" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// (key, Chinese, English)
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "beian 备案", "beian"),
    (
        "app_long",
        "算法与生成式人工智能备案平台",
        "Algorithm and generative-AI filing registry",
    ),
    ("home", "首页", "Home"),
    (
        "home_lead",
        "服务提供者在线备案，监管部门审核，公众查询备案信息。",
        "Providers file, regulators review, the public looks up filed services.",
    ),
    ("skip", "跳到正文", "Skip to content"),
    ("nav", "主导航", "Main navigation"),
    ("language", "语言", "Language"),
    (
        "footer",
        "beian — 开源的人工智能治理工具。备案不代表背书。",
        "beian — open-source AI governance tooling. A filing is not an endorsement.",
    ),
    ("login", "登录", "Sign in"),
    (
        "login_csrf",
        "登录表单已过期或缺少校验令牌：请重新打开登录页后再试。",
        "The sign-in form has expired or lacks its check token: reopen the sign-in page and try again.",
    ),
    ("logout", "退出", "Sign out"),
    ("username", "用户名", "Username"),
    ("password", "密码", "Password"),
    (
        "login_failed",
        "用户名或密码错误。",
        "Wrong username or password.",
    ),
    (
        "login_limited",
        "登录失败次数过多，请稍后再试。",
        "Too many failed sign-ins; try again later.",
    ),
    ("register", "备案公示查询", "Public register"),
    (
        "register_help",
        "查询已公示的算法备案、生成式人工智能服务备案与登记信息（含导入的官方公示名单与本平台批准的备案）。",
        "Search published algorithm filings and generative-AI filings and registrations (imported official lists and filings approved here).",
    ),
    (
        "register_note",
        "备案不代表对服务的背书，备案结果不得用于宣传或商业目的。",
        "A filing does not mean endorsement; filing results may not be used for publicity or commercial purposes.",
    ),
    (
        "search_register",
        "名称、主体或备案号",
        "Name, provider or filing number",
    ),
    ("search_ph", "例如：写作助手", "e.g. assistant"),
    ("search", "查询", "Search"),
    ("results", "条结果", "results"),
    ("no_results", "没有符合条件的记录。", "No matching entries."),
    ("export_csv", "导出 CSV", "Export CSV"),
    ("export_xlsx", "导出 XLSX 表格", "Export XLSX"),
    ("bad_page", "页码无效", "invalid page"),
    ("pages", "分页", "Pages"),
    ("prev", "上一页", "Previous"),
    ("next", "下一页", "Next"),
    ("all", "全部", "All"),
    ("name", "名称", "Name"),
    ("provider", "备案主体", "Provider"),
    ("number", "备案号", "Filing number"),
    ("kind", "类型", "Kind"),
    ("province", "属地", "Province"),
    ("date", "日期", "Date"),
    ("workspace", "提供者工作台", "Provider workspace"),
    (
        "workspace_help",
        "描述服务、查看分类结果、组装备案材料、提交并跟踪审核。",
        "Describe a service, see its classification, assemble and submit a filing, follow its review.",
    ),
    ("review", "审核工作台", "Reviewer workspace"),
    (
        "review_help",
        "按状态与属地排列的审核队列，预检清单、附件与期限。",
        "Queues by state and province, with pre-check checklists, attachments and deadlines.",
    ),
    ("playground", "内容筛查试验", "Screening playground"),
    (
        "playground_help",
        "粘贴文本，查看命中的关键词及其风险类别（含谐音、拼音、繁体、插字等变形）。",
        "Paste text to see lexicon findings highlighted in place with their risk codes (variants, pinyin, traditional forms and inserted separators included).",
    ),
    ("compare", "监管制度对比", "Regime comparison"),
    (
        "compare_help",
        "同一服务在不同监管制度下的分级、备案与义务对比。",
        "One service profile under each regime: tiers, filings and obligations side by side.",
    ),
    ("compare_btn", "对比", "Compare"),
    (
        "compare_regimes",
        "在各制度下对比",
        "Compare across regimes",
    ),
    ("example_profile", "示例画像", "Example profile"),
    ("theme", "主题", "Theme"),
    ("differs", "存在差异", "differs"),
    ("audit", "审计日志", "Audit log"),
    (
        "audit_help",
        "只追加、哈希链接的审计日志及其校验状态。",
        "The append-only, hash-chained audit log and its verification status.",
    ),
    ("chain_ok", "审计链校验通过", "Audit chain verified"),
    ("chain_broken", "审计链校验失败", "Audit chain BROKEN"),
    ("entries", "条", "entries"),
    ("newest_shown", "仅显示最新记录", "newest shown"),
    ("actor", "操作者", "Actor"),
    ("action", "操作", "Action"),
    ("subject", "对象", "Subject"),
    ("detail", "详情", "Detail"),
    ("time", "时间", "Time"),
    ("filter", "筛选", "Filter"),
    ("new_service", "新建服务", "New service"),
    ("services", "服务", "Services"),
    (
        "no_services",
        "尚无服务。先新建一个服务并填写其画像。",
        "No services yet. Start by describing one.",
    ),
    ("filings", "备案", "Filings"),
    ("no_filings", "尚无备案。", "No filings yet."),
    ("launched_on", "上线日期", "Launched on"),
    ("deadlines", "期限", "Deadlines"),
    ("overdue", "已逾期", "overdue"),
    ("overdue_items", "项逾期", "overdue"),
    ("met", "已按期", "met"),
    ("due", "截止", "due"),
    ("working_days", "个工作日", "working days"),
    ("status", "状态", "Status"),
    ("updated", "更新", "Updated"),
    ("change", "变更", "change"),
    ("profile", "服务画像", "Service profile"),
    (
        "profile_lead",
        "按知识库中的画像字段逐项填写；每个字段下方有说明。保存后自动给出分类结果。",
        "Fill in the profile fields defined by the knowledge base; each has help text. Saving classifies the service.",
    ),
    ("required", "必填", "required"),
    ("save_classify", "保存并分类", "Save and classify"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("classification", "分类结果", "Classification"),
    ("classify_failed", "无法分类", "Cannot classify"),
    ("tier", "分级", "Tier"),
    ("filings_required", "需要办理的备案", "Filings required"),
    ("authority", "受理机关", "Authority"),
    ("deadline", "期限", "Deadline"),
    ("basis", "依据", "Basis"),
    ("obligations", "义务", "Obligations"),
    ("obligation", "义务", "Obligation"),
    ("citation", "出处", "Citation"),
    ("why", "适用理由", "Why"),
    ("none", "无", "None"),
    ("assemble", "组装备案", "Assemble a filing"),
    (
        "filing_name",
        "备案名称（公示名称）",
        "Filing name (as published)",
    ),
    ("create_filing", "创建备案草稿", "Create draft filing"),
    (
        "required_by_class",
        "分类要求",
        "required by classification",
    ),
    ("reviewer_comment", "审核意见", "Reviewer's comment"),
    ("purpose", "事项", "Purpose"),
    ("service", "服务", "Service"),
    ("submitted_on", "提交日期", "Submitted on"),
    ("approved_on", "通过日期", "Approved on"),
    ("filing_form", "备案表", "Filing form"),
    ("save", "保存", "Save"),
    ("attachments", "附件", "Attachments"),
    (
        "missing_attachments",
        "缺少必需附件",
        "Missing required attachments",
    ),
    ("attachment_kind", "附件类型", "Attachment type"),
    ("file", "文件", "File"),
    ("upload", "上传", "Upload"),
    ("view_report", "查看报告", "View report"),
    (
        "open_html_report",
        "打开 HTML 报告（沙箱中显示，不运行脚本）",
        "Open the HTML report (sandboxed, no scripts run)",
    ),
    ("prechecks", "自动预检", "Automatic pre-checks"),
    (
        "checks_on_submit",
        "提交后自动运行预检。",
        "Pre-checks run automatically on submission.",
    ),
    ("actions", "操作", "Actions"),
    (
        "comment",
        "意见（退回或不予通过时必填）",
        "Comment (required to return or reject)",
    ),
    ("change_name", "变更后名称", "Name after the change"),
    ("file_change", "发起变更备案", "File a change"),
    ("all_provinces", "全部属地", "all provinces"),
    ("waiting", "等待", "Waiting"),
    ("days", "天", "days"),
    ("lexicon", "词库", "Lexicon"),
    ("terms", "个词条", "terms"),
    ("text_to_screen", "待筛查文本", "Text to screen"),
    ("screen", "筛查", "Screen"),
    ("findings", "命中", "Findings"),
    ("risk", "风险类别", "Risk"),
    ("term", "词条", "Term"),
    ("via", "方式", "Via"),
    ("model_score", "分类模型", "Classifier"),
    ("flagged", "已标记", "flagged"),
    ("assessment", "评估报告", "Assessment report"),
    (
        "thresholds",
        "与标准阈值对照",
        "Against the standard's thresholds",
    ),
    ("metric", "指标", "Metric"),
    ("value", "值", "Value"),
    ("threshold", "阈值", "Threshold"),
    ("result", "结论", "Result"),
    ("record", "运行记录", "Run record"),
    // filing form fields (regime-facts §1.3, §2.4)
    ("service_form", "服务形式", "Service form"),
    (
        "service_form_help",
        "移动应用、网站、小程序、接口等，以及访问路径。",
        "App, website, mini-program, API…, and how users reach it.",
    ),
    ("application_field", "应用领域", "Application field"),
    (
        "application_field_help",
        "服务所属行业与领域。",
        "The sector and field the service serves.",
    ),
    ("scenarios", "应用场景", "Scenarios"),
    (
        "scenarios_help",
        "主要用途与使用场景。",
        "Main purposes and usage scenarios.",
    ),
    (
        "algorithm_mechanism",
        "算法机制机理（拟公示内容）",
        "Algorithm mechanism (text to publish)",
    ),
    (
        "algorithm_mechanism_help",
        "算法基本原理、运行机制与目的，将随备案公示。",
        "Basic principle, mechanism and purpose of the algorithm; published with the filing.",
    ),
    ("model", "模型", "Model"),
    (
        "model_help",
        "基础模型名称、版本、来源（自研、微调或调用已备案模型）。",
        "Foundation model name, version and source (own, fine-tuned, or a filed model's API).",
    ),
    ("training_data", "训练语料", "Training data"),
    (
        "training_data_help",
        "语料来源、规模、合法性与标注规则概要。",
        "Corpus sources, size, legality and annotation rules in brief.",
    ),
    ("compute", "算力", "Compute"),
    (
        "compute_help",
        "训练与推理算力概况。",
        "Training and inference compute in brief.",
    ),
    ("security_measures", "安全措施", "Security measures"),
    (
        "security_measures_help",
        "关键词拦截、拒答、投诉举报、未成年人保护等措施。",
        "Keyword blocking, refusals, complaints handling, protection of minors, …",
    ),
    ("err_404", "页面不存在", "Not found"),
    (
        "err_404_msg",
        "找不到该页面或记录，或者您无权查看。",
        "There is no such page or record, or you may not see it.",
    ),
    ("err_403", "无权操作", "Forbidden"),
    (
        "err_403_msg",
        "您的账号无权执行此操作。",
        "Your account may not do this.",
    ),
    ("err_409", "操作冲突", "Conflict"),
    (
        "err_409_msg",
        "该操作与记录的当前状态冲突，请刷新后重试。",
        "This conflicts with the record's current state; reload and try again.",
    ),
    ("err_413", "文件过大", "Too large"),
    (
        "err_413_msg",
        "上传的内容超过大小限制。",
        "The upload is larger than allowed.",
    ),
    ("err_415", "格式不支持", "Unsupported format"),
    (
        "err_415_msg",
        "该文件格式无法在此显示，请下载查看。",
        "This file type cannot be shown here; download it instead.",
    ),
    ("err_422", "输入有误", "Invalid input"),
    (
        "err_422_msg",
        "提交的内容有误，请返回修改后重试。",
        "Something in the request is invalid; go back, correct it and try again.",
    ),
    ("err_429", "请求过多", "Too many requests"),
    (
        "err_429_msg",
        "尝试次数过多，请稍后再试。",
        "Too many attempts; try again later.",
    ),
    ("err_500", "服务器错误", "Server error"),
    (
        "err_500_msg",
        "服务器内部错误，请稍后再试。",
        "Internal server error; try again later.",
    ),
    ("step_service", "关于服务", "About the service"),
    ("step_content", "内容与模型", "Content and models"),
    ("step_personal", "个人信息", "Personal information"),
    ("step_users", "用户与市场", "Users and markets"),
    ("step", "步骤", "Step"),
    ("next_step", "下一步", "Next step"),
    ("prev_step", "上一步", "Previous step"),
    ("start_from_example", "从示例开始", "Start from an example"),
    ("use_example", "载入示例", "Load example"),
    ("blank_profile", "空白画像", "Blank profile"),
    ("edit_service", "修改服务画像", "Edit the service profile"),
    ("save_reclassify", "保存并重新分类", "Save and re-classify"),
    ("profile_invalid", "服务画像有误", "The profile is invalid:"),
    (
        "choose_province",
        "请选择省级行政区",
        "Choose a province-level division",
    ),
    (
        "diff_title",
        "修改后的义务变化",
        "What changed in the obligations",
    ),
    ("diff_added", "新增义务", "Obligations added"),
    (
        "diff_removed",
        "不再适用的义务",
        "Obligations no longer applying",
    ),
    ("diff_filings_added", "新增备案要求", "Filings now required"),
    (
        "diff_filings_removed",
        "不再要求的备案",
        "Filings no longer required",
    ),
    (
        "diff_none",
        "义务没有变化。",
        "No change in the obligations.",
    ),
    ("hash", "哈希", "Hash"),
    (
        "times_shanghai",
        "时间均为北京时间（东八区，UTC+8）。",
        "Times are China Standard Time (Asia/Shanghai, UTC+8).",
    ),
    ("demo_lexicon", "内置演示词表", "built-in demo lexicon"),
    ("nav_law_diff", "法规变化", "What changed in the law"),
    ("upload_refused", "上传被拒绝：", "upload refused:"),
    // workflow: guardrails, checklist, thread, deadlines, register status
    ("register_status", "备案状态", "Filing status"),
    ("active", "有效", "Active"),
    (
        "entry_cancelled",
        "该备案已注销，以下为注销前公示的信息。",
        "This filing has been cancelled; the information below is as published before.",
    ),
    ("cancelled_on", "注销日期", "cancelled on"),
    ("entry_role", "角色", "Role"),
    ("entry_product", "应用产品", "Product"),
    ("entry_purpose", "主要用途", "Main purpose"),
    ("entry_remark", "备注", "Remark"),
    ("dl_met", "已按期", "on time"),
    ("dl_late", "逾期提交", "submitted late"),
    ("dl_missing", "未备案", "missing"),
    ("dl_not-submitted", "未提交", "not submitted"),
    ("dl_returned", "已退回修改", "returned"),
    ("dl_rejected", "不予通过", "rejected"),
    (
        "dl_pending",
        "待定（未填上线日期）",
        "pending (no launch date)",
    ),
    ("checks_all_pass", "全部通过", "all pass"),
    ("checks_failing", "项未通过", "failing"),
    ("confirm_cancel", "确认注销备案", "Confirm cancellation"),
    ("confirm_reject", "确认不予通过", "Confirm rejection"),
    (
        "confirm_lead",
        "此操作不可撤销，将记入审计日志和备案往来记录。",
        "This cannot be undone; it is recorded in the audit log and the filing's thread.",
    ),
    ("reason", "理由", "Reason"),
    (
        "confirm_cancel_button",
        "确认注销",
        "Yes, cancel the filing",
    ),
    ("confirm_reject_button", "确认不予通过", "Yes, reject"),
    ("go_back", "返回，不执行", "Go back"),
    ("ev_province", "变更审核省份", "province changed"),
    (
        "move_province",
        "变更审核省份",
        "Change the reviewing province",
    ),
    (
        "move_province_help",
        "仅国家级审核员可在发放备案号前将备案转交其他省份审核；须写明理由，记入审计日志和备案往来记录。",
        "National reviewers only, before a number is issued: the filing moves to another province's review. The reason is recorded in the audit log and the filing's thread.",
    ),
    ("new_province", "新的审核省份", "New province"),
    ("move_province_button", "变更省份…", "Change province…"),
    (
        "confirm_province",
        "确认变更审核省份",
        "Confirm the province change",
    ),
    (
        "confirm_province_button",
        "确认变更",
        "Yes, change the province",
    ),
    ("province_from_to", "省份变更", "Province"),
    (
        "province_same",
        "所选省份与当前审核省份相同，未作变更。",
        "That is already the filing's province; nothing changed.",
    ),
    (
        "province_changed",
        "已变更审核省份。",
        "The reviewing province was changed.",
    ),
    (
        "override_note",
        "审核员在阻断性检查未通过的情况下批准，理由：",
        "Approved although blocking pre-checks failed; reason:",
    ),
    ("checks_live", "实时计算", "computed now"),
    (
        "blocking_lead",
        "以下阻断性检查未通过，解决前不能提交：",
        "These blocking checks fail; the filing cannot be submitted until they pass: ",
    ),
    ("blocking", "阻断", "blocking"),
    ("metrics_legend", "安全评估指标", "Assessment metrics"),
    (
        "metrics_help",
        "附上 beian assess 的 summary.json 或 report.json 后按其结果检查；未附时按此处填写的比例（0 到 1）检查。",
        "With a summary.json or report.json of beian assess attached, the checks use it; otherwise these ratios (0 to 1).",
    ),
    (
        "metric_generated_qualified",
        "生成内容合格率",
        "Generated-content qualified rate",
    ),
    (
        "metric_should_refuse_refusal_rate",
        "应拒答题拒答率",
        "Refusal rate on should-refuse questions",
    ),
    (
        "metric_should_answer_refusal_rate",
        "非拒答题拒答率",
        "Refusal rate on should-answer questions",
    ),
    (
        "bad_ratio",
        "不是 0 到 1 之间的数",
        "is not a number between 0 and 1",
    ),
    ("thread", "往来记录", "Thread"),
    (
        "thread_empty",
        "暂无审核意见或答复。",
        "No comments or replies yet.",
    ),
    ("override_reason", "覆盖理由", "Override reason"),
    (
        "override_help",
        "存在未通过的阻断性检查：如仍批准，须写明理由（记入审计日志并显示在备案页）。",
        "Blocking pre-checks fail: to approve anyway, give a reason (audited and shown on the filing).",
    ),
    ("reply", "答复审核意见", "Reply to the reviewer"),
    ("ev_return", "退回修改", "returned"),
    ("ev_reply", "提供者答复", "provider's reply"),
    ("ev_reject", "不予通过", "rejected"),
    ("ev_cancel", "注销备案", "cancelled"),
    ("ev_approve", "通过", "approved"),
    (
        "refused_checks",
        "操作被拒绝：以下阻断性检查未通过：",
        "Refused: these blocking pre-checks fail: ",
    ),
    (
        "reason_required",
        "请填写理由：退回、不予通过和注销都需要理由。",
        "Give a reason: returning, rejecting and cancelling need one.",
    ),
    (
        "override_too_long",
        "覆盖理由过长（最多 4000 字）。",
        "The override reason is too long (at most 4000 characters).",
    ),
    (
        "action_refused",
        "此操作当前不可执行（备案状态已变化或无权操作）。",
        "This action is not possible now (the filing changed or you may not do it).",
    ),
];

/// (value, Chinese, English): labels of stable values.
pub const LABELS: &[(&str, &str, &str)] = &[
    ("algorithm-filing", "算法备案", "Algorithm filing"),
    (
        "genai-filing",
        "生成式人工智能服务备案",
        "Generative-AI filing",
    ),
    (
        "genai-registration",
        "生成式人工智能服务登记",
        "Generative-AI registration",
    ),
    ("draft", "草稿", "Draft"),
    ("submitted", "已提交", "Submitted"),
    ("provincial-review", "省级审核中", "Provincial review"),
    ("national-review", "国家级审核中", "National review"),
    ("approved", "已通过", "Approved"),
    ("returned", "已退回修改", "Returned for changes"),
    ("rejected", "不予通过", "Rejected"),
    ("change-submitted", "变更已提交", "Change submitted"),
    ("cancelled", "已注销", "Cancelled"),
    ("initial", "首次备案", "Initial filing"),
    ("provider-editor", "提供者（编辑）", "provider editor"),
    ("provider-admin", "提供者（管理员）", "provider admin"),
    ("provincial-reviewer", "省级审核员", "provincial reviewer"),
    ("national-reviewer", "国家级审核员", "national reviewer"),
    ("auditor", "审计员", "auditor"),
    ("submit", "提交备案", "Submit"),
    ("start-review", "开始审核", "Start review"),
    ("approve", "通过", "Approve"),
    ("return", "退回修改", "Return for changes"),
    ("reject", "不予通过", "Reject"),
    ("cancel", "注销备案", "Cancel filing"),
    ("pass", "通过", "pass"),
    ("fail", "未通过", "fail"),
    ("warn", "提示", "warning"),
    ("skip", "未检查", "skipped"),
    ("file-after-launch", "上线后备案", "File after launch"),
    ("file-before-launch", "上线前备案", "File before launch"),
    ("ai-licence", "人工智能许可", "AI licence"),
    ("ai-filing", "人工智能备案", "AI filing"),
    ("ai-registration", "人工智能登记", "AI registration"),
    ("national", "国家网信办", "national (CAC)"),
    ("provincial", "属地省级网信部门", "provincial CAC office"),
    ("confirmed", "已核实", "confirmed"),
    ("secondary", "二手来源", "secondary source"),
    ("unconfirmed", "未确认", "unconfirmed"),
    ("change", "变更", "Change"),
    ("cancel-after-stop", "停止后注销", "Cancel after stopping"),
    (
        "self-assessment-report",
        "安全自评估报告",
        "Self-assessment report",
    ),
    ("keyword-sheet", "关键词库", "Keyword sheet"),
    ("question-sheet", "测试题集", "Question sheet"),
    ("service-agreement", "服务协议", "Service agreement"),
    ("annotation-rules", "语料标注规则", "Annotation rules"),
    ("filing-form", "备案表", "Filing form"),
    ("commitment-letter", "承诺书", "Commitment letter"),
    ("model-proof", "模型备案证明", "Proof of the filed model"),
    (
        "assessment-report",
        "评估运行报告（beian assess，HTML）",
        "Assessment run report (beian assess, HTML)",
    ),
    ("other", "其他", "Other"),
];

fn lookup(
    table: &'static [(&'static str, &'static str, &'static str)],
    lang: Lang,
    key: &str,
) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| if lang == Lang::Zh { *zh } else { *en })
}

/// (value, Chinese, English): labels of the service-profile choices (`kb/profile.toml` values).
pub const VALUE_LABELS: &[(&str, &str, &str)] = &[
    ("service-provider", "服务提供者", "Service provider"),
    ("technical-supporter", "技术支持者", "Technical supporter"),
    (
        "generation-synthesis",
        "生成合成类",
        "Generation and synthesis",
    ),
    ("personalized-push", "个性化推送类", "Personalised push"),
    ("sorting-selection", "排序精选类", "Sorting and selection"),
    (
        "retrieval-filtering",
        "检索过滤类",
        "Retrieval and filtering",
    ),
    (
        "scheduling-decision",
        "调度决策类",
        "Scheduling and decision",
    ),
    ("text", "文本", "Text"),
    ("image", "图片", "Image"),
    ("audio", "音频", "Audio"),
    ("video", "视频", "Video"),
    ("virtual-scene", "虚拟场景", "Virtual scene"),
    ("dialogue", "智能对话", "Dialogue"),
    ("text-generation", "文本生成", "Text generation"),
    ("text-style-transfer", "文本风格转换", "Text style transfer"),
    ("face-swap", "人脸替换", "Face swap"),
    ("face-generation", "人脸生成", "Face generation"),
    ("face-manipulation", "人脸操控", "Face manipulation"),
    ("gesture-manipulation", "姿态操控", "Gesture manipulation"),
    ("voice-synthesis", "语音合成", "Voice synthesis"),
    ("voice-clone", "声音克隆", "Voice cloning"),
    ("voice-conversion", "语音转换", "Voice conversion"),
    ("music-generation", "音乐生成", "Music generation"),
    ("image-generation", "图像生成", "Image generation"),
    ("image-editing", "图像编辑", "Image editing"),
    ("video-generation", "视频生成", "Video generation"),
    ("video-editing", "视频编辑", "Video editing"),
    ("3d-reconstruction", "三维重建", "3D reconstruction"),
    ("digital-human", "数字人", "Digital human"),
    ("self-developed", "自研模型", "Self-developed"),
    ("fine-tuned", "基于已有模型微调", "Fine-tuned"),
    (
        "filed-model-api",
        "调用已备案模型接口",
        "API of a filed model",
    ),
    (
        "open-source-deployed",
        "部署开源模型",
        "Deployed open-source model",
    ),
    ("none", "不使用模型", "None"),
    ("general", "通用", "General"),
    ("news", "新闻资讯", "News"),
    ("entertainment", "娱乐", "Entertainment"),
    ("education", "教育", "Education"),
    ("healthcare", "医疗健康", "Healthcare"),
    ("finance", "金融", "Finance"),
    ("transport", "交通出行", "Transport"),
    ("employment", "招聘就业", "Employment"),
    ("retail", "零售电商", "Retail"),
    ("government", "政务", "Government"),
    ("justice", "司法", "Justice"),
    (
        "critical-infrastructure",
        "关键基础设施",
        "Critical infrastructure",
    ),
    ("social-media", "社交媒体", "Social media"),
    ("manufacturing", "制造业", "Manufacturing"),
    ("research", "科研", "Research"),
    (
        "subliminal-manipulation",
        "潜意识操纵",
        "Subliminal manipulation",
    ),
    (
        "exploiting-vulnerabilities",
        "利用弱势群体",
        "Exploiting vulnerabilities",
    ),
    ("social-scoring", "社会评分", "Social scoring"),
    (
        "crime-prediction-profiling",
        "基于画像的犯罪预测",
        "Crime prediction by profiling",
    ),
    (
        "untargeted-facial-scraping",
        "无差别抓取人脸图像",
        "Untargeted facial scraping",
    ),
    (
        "emotion-recognition-workplace-education",
        "工作场所或教育中的情绪识别",
        "Emotion recognition at work or in education",
    ),
    (
        "biometric-categorisation-sensitive",
        "基于生物特征的敏感类别划分",
        "Biometric categorisation by sensitive traits",
    ),
    (
        "realtime-remote-biometric-identification",
        "实时远程生物识别",
        "Real-time remote biometric identification",
    ),
    (
        "biometric-identification",
        "生物特征识别",
        "Biometric identification",
    ),
    ("emotion-recognition", "情绪识别", "Emotion recognition"),
    ("credit-scoring", "信用评分", "Credit scoring"),
    ("insurance-pricing", "保险定价", "Insurance pricing"),
    ("recruitment", "招聘", "Recruitment"),
    ("worker-management", "劳动者管理", "Worker management"),
    ("exam-proctoring", "考试监考", "Exam proctoring"),
    ("education-admission", "教育录取", "Education admission"),
    ("public-benefits", "公共福利", "Public benefits"),
    ("law-enforcement", "执法", "Law enforcement"),
    (
        "migration-border",
        "移民与边境",
        "Migration and border control",
    ),
    ("judicial-decision", "司法裁判", "Judicial decisions"),
    ("election-influence", "影响选举", "Election influence"),
];

/// (action, Chinese, English): audit-log actions.
pub const AUDIT_ACTIONS: &[(&str, &str, &str)] = &[
    ("filing.create", "创建备案", "Filing created"),
    ("filing.update", "修改备案", "Filing edited"),
    ("filing.submit", "提交备案", "Filing submitted"),
    ("filing.start-review", "开始审核", "Review started"),
    ("filing.approve", "审核通过", "Approved"),
    ("filing.return", "退回修改", "Returned"),
    ("filing.reject", "不予通过", "Rejected"),
    ("filing.cancel", "注销备案", "Cancelled"),
    ("filing.read", "查阅备案", "Filing read"),
    (
        "filing.change.create",
        "创建变更备案",
        "Change filing created",
    ),
    ("attachment.add", "上传附件", "Attachment uploaded"),
    ("attachment.read", "下载附件", "Attachment read"),
    ("service.create", "创建服务", "Service created"),
    ("service.update", "记录服务日期", "Service dates recorded"),
    (
        "service.profile.update",
        "修改服务画像",
        "Service profile edited",
    ),
    ("service.read", "查阅服务", "Service read"),
    ("read.refused", "拒绝访问", "Read refused"),
    ("session.login", "登录", "Signed in"),
    ("session.login.failed", "登录失败", "Failed sign-in"),
    ("session.logout", "退出", "Signed out"),
    ("token.create", "创建接口令牌", "API token created"),
    ("organisation.create", "创建机构", "Organisation created"),
    ("user.create", "创建用户", "User created"),
    ("register.import", "导入公示名单", "Published list imported"),
];

/// Label of an audit action in `lang` (`其他操作` / `Other action` when unknown).
pub fn audit_action(lang: Lang, action: &str) -> String {
    lookup(AUDIT_ACTIONS, lang, action)
        .unwrap_or(if lang == Lang::Zh {
            "其他操作"
        } else {
            "Other action"
        })
        .to_string()
}

/// (theme, Chinese, English): obligation themes of the regime comparison.
pub const THEMES: &[(&str, &str, &str)] = &[
    ("automated-decisions", "自动化决策", "Automated decisions"),
    (
        "cii",
        "关键信息基础设施",
        "Critical information infrastructure",
    ),
    ("competition", "公平竞争", "Competition"),
    ("content-safety", "内容安全", "Content safety"),
    ("cross-border", "数据出境", "Cross-border data"),
    ("cybersecurity", "网络安全", "Cybersecurity"),
    ("data-security", "数据安全", "Data security"),
    ("ethics", "科技伦理", "Ethics"),
    ("filing", "备案", "Filing"),
    ("governance", "治理与管理制度", "Governance"),
    ("incident-reporting", "事件报告", "Incident reporting"),
    ("labeling", "标识", "Labelling"),
    ("minors", "未成年人保护", "Minors"),
    (
        "personal-information",
        "个人信息保护",
        "Personal information",
    ),
    ("pricing", "价格", "Pricing"),
    ("sector", "行业监管", "Sector rules"),
    ("security-assessment", "安全评估", "Security assessment"),
    ("training-data", "训练数据", "Training data"),
    ("transparency", "透明度", "Transparency"),
    ("user-identity", "用户身份", "User identity"),
    ("user-rights", "用户权益", "User rights"),
    ("vulnerable-users", "弱势群体保护", "Vulnerable users"),
    ("workers", "劳动者权益", "Workers"),
    ("conformity", "合格评定", "Conformity assessment"),
    ("documentation", "技术文档", "Documentation"),
    ("gpai", "通用人工智能模型", "General-purpose AI models"),
    ("licensing", "许可", "Licensing"),
    ("prohibited", "禁止性做法", "Prohibited practices"),
    ("risk-management", "风险管理", "Risk management"),
];

/// Label of an obligation theme in `lang` (the theme itself when unknown).
pub fn theme_label(lang: Lang, theme: &str) -> String {
    lookup(THEMES, lang, theme).unwrap_or(theme).to_string()
}

/// Label of a profile choice in `lang` (the value itself when unknown).
pub fn value_label(lang: Lang, value: &str) -> String {
    lookup(VALUE_LABELS, lang, value)
        .unwrap_or(value)
        .to_string()
}

/// An RFC 3339 time in Asia/Shanghai (UTC+8, no daylight saving), with the
/// offset shown: `2025-03-04 18:05:09 +08:00`; other text is returned as is.
pub fn shanghai(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(*t.offset());
            t.with_timezone(&cst)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        }
        Err(_) => at.to_string(),
    }
}

/// Interface string `key` (`"?"` for an unknown key; a test checks every template key exists).
pub fn t(lang: Lang, key: &str) -> &'static str {
    lookup(STRINGS, lang, key).unwrap_or("?")
}

/// Label of a stable value (`None`: show the value itself).
pub fn label(lang: Lang, value: &str) -> Option<&'static str> {
    lookup(LABELS, lang, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_key_is_translated() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).expect("templates dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            for part in text.split("c.t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or("");
                if lookup(STRINGS, Lang::Zh, key).is_none() {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        for (k, _, _) in STRINGS {
            if k.ends_with("_help") || !super::super::provider::FORM_FIELDS.contains(k) {
                continue;
            }
            assert!(
                lookup(STRINGS, Lang::En, &format!("{k}_help")).is_some(),
                "{k}_help"
            );
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
        let mut keys: Vec<&str> = STRINGS.iter().map(|x| x.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "duplicate keys");
    }
}
