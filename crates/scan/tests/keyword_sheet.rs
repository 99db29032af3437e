//! Blocking-keyword sheets (关键词 / 一级分类 / 二级分类) read from memory.

use beian_scan::{ScanError, keyword_sheet_stats, keyword_sheet_terms};

#[test]
fn labels_resolve_to_codes_names_or_unclassified() {
    let kb = beian_kb::Kb::embedded().expect("kb");
    let tax = kb.taxonomy();
    let a1a = tax.risk("A.1.a").expect("A.1.a").zh.clone();
    let csv = format!(
        "\u{feff}关键词,一级分类,二级分类\n甲,A.1,A.1.a\n乙,A.1 x,A.1.b {}\n丙,,{a1a}\n丁,,\n戊,,未分类（来源 x）\n己,,自定义\n,,A.1.a\n",
        tax.risk("A.1.b").expect("A.1.b").zh
    );
    let t = keyword_sheet_terms("k.csv", csv.as_bytes(), tax).expect("reads");
    let got: Vec<(&str, Option<&str>)> = t
        .iter()
        .map(|t| (t.term.as_str(), t.risk.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("甲", Some("A.1.a")),
            ("乙", Some("A.1.b")),
            ("丙", Some("A.1.a")),
            ("丁", None),
            ("戊", None),
            ("己", Some("自定义")),
        ]
    );
    let s = keyword_sheet_stats("k.csv", csv.as_bytes()).expect("stats");
    assert_eq!(s.total_terms, 6);
    assert_eq!(s.unclassified, 2);
    assert_eq!(s.unknown_codes.get("自定义"), Some(&1));
    let a = s.risks.iter().find(|r| r.code == "A.1.a").expect("A.1.a");
    assert_eq!((a.terms, a.meets), (2, Some(false)));
    assert!(!s.total_meets && s.short.contains(&"A.1.a".to_string()));
}

#[test]
fn missing_keyword_column_is_an_error_naming_the_sheet() {
    let kb = beian_kb::Kb::embedded().expect("kb");
    match keyword_sheet_terms("附件4.csv", "词,风险\n甲,A.1.a\n".as_bytes(), kb.taxonomy()) {
        Err(e @ ScanError::Sheet { .. }) => {
            let m = e.to_string();
            assert!(m.contains("附件4.csv") && m.contains("关键词"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert!(keyword_sheet_terms("x.xlsx", b"PK\x03\x04garbage", kb.taxonomy()).is_err());
}
