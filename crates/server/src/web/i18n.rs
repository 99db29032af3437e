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
    ("export_xlsx", "导出 Excel", "Export XLSX"),
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
        "App、网站、小程序、API 等，以及访问路径。",
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
