//! Invariants of the knowledge base and the rule packs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use beian_classify::{Classifier, Lang};
use beian_kb::{Kb, Profile, ProfileFormat};
use serde_json::{Value, json};

/// The date these tests classify at (the law in force on 2026-06-01), so they do not
/// change with the clock.
fn fixed() -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str("2026-06-01", "%Y-%m-%d").unwrap()
}

fn classifier() -> Classifier {
    Classifier::embedded().expect("knowledge base loads and policies compile")
}

fn profile(c: &Classifier, v: Value) -> Profile {
    Profile::from_value(v, None, "test", c.kb().profile_schema()).expect("valid profile")
}

/// A small deterministic PRNG (xorshift64*), so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, v: &'a [String]) -> &'a str {
        &v[(self.next() % v.len() as u64) as usize]
    }
    fn coin(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
}

/// Random profiles over the whole schema: every boolean, enum and list value is reachable.
fn random_profiles(c: &Classifier, n: usize) -> Vec<Profile> {
    let schema = c.kb().profile_schema();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for _ in 0..n {
        let mut m = serde_json::Map::new();
        for f in &schema.fields {
            let v = match f.ty.as_str() {
                "bool" => json!(rng.coin()),
                "string" => json!("x"),
                "enum" => json!(rng.pick(&f.values)),
                "enum-list" => {
                    let k = (rng.next() % 4) as usize;
                    let items: Vec<&str> = (0..k).map(|_| rng.pick(&f.values)).collect();
                    json!(items)
                }
                "integer" => json!(
                    [0u64, 5_000, 1_500_000, 60_000_000, 200_000_000_000]
                        [(rng.next() % 5) as usize]
                ),
                "number" => json!([0.0, 1e23, 2e25][(rng.next() % 3) as usize]),
                "country" => json!(["CN", "US", "DE"][(rng.next() % 3) as usize]),
                "date" => json!(""),
                _ => continue,
            };
            m.insert(f.key.clone(), v);
        }
        out.push(profile(c, Value::Object(m)));
    }
    out
}

#[test]
fn taxonomy_has_31_risks_in_5_categories() {
    let kb = Kb::embedded().unwrap();
    let t = kb.taxonomy();
    assert_eq!(t.categories.len(), 5);
    assert_eq!(t.risks.len(), 31);
    let per: Vec<usize> = t
        .categories
        .iter()
        .map(|c| t.risks_in(&c.code).count())
        .collect();
    assert_eq!(per, vec![8, 9, 5, 7, 2]);
    assert_eq!(t.a1_a2().count(), 17);
    assert_eq!(t.risks.first().unwrap().code, "A.1.a");
    assert_eq!(t.risks.last().unwrap().code, "A.5.b");
}

#[test]
fn every_entry_cites_a_source() {
    let kb = Kb::embedded().unwrap();
    for r in kb.regimes() {
        for o in &r.obligations {
            assert!(!o.source.trim().is_empty(), "{} {}", r.meta.id, o.id);
            assert!(!o.article.trim().is_empty(), "{} {}", r.meta.id, o.id);
            assert!(
                kb.instrument(&o.instrument).is_some(),
                "{} {}",
                r.meta.id,
                o.id
            );
        }
        for f in &r.filings {
            assert!(
                f.basis.contains(':'),
                "{} {} basis {}",
                r.meta.id,
                f.id,
                f.basis
            );
            assert!(!f.source.trim().is_empty());
        }
    }
    for t in &kb.thresholds().items {
        assert!(!t.clause.is_empty() && !t.source.is_empty(), "{}", t.id);
    }
}

#[test]
fn every_obligation_filing_tier_and_note_can_be_triggered() {
    let c = classifier();
    let mut profiles = random_profiles(&c, 1500);
    // a service that is almost nothing: out of scope everywhere
    profiles.push(profile(&c, json!({"name": "nothing"})));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        profiles.push(Profile::from_path(&e.path(), c.kb().profile_schema()).unwrap());
    }
    for regime in c.kb().regimes() {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // the law at two dates: before the 2026 renumbering, and after every staged date
        for (p, date) in profiles
            .iter()
            .flat_map(|p| [(p, "2025-06-01"), (p, "2029-01-01")])
        {
            let as_of = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            let r = c
                .classify_at(p, &[&regime.meta.id], Lang::En, as_of)
                .unwrap();
            let r = &r.results[0];
            seen.extend(r.obligations.iter().map(|o| format!("obligation {}", o.id)));
            seen.extend(r.filings.iter().map(|f| format!("filing {}", f.id)));
            seen.extend(r.notes.iter().map(|n| format!("note {}", n.id)));
            seen.insert(format!("tier {}", r.tier));
            seen.extend(r.categories.iter().map(|x| format!("category {x}")));
        }
        let defined = (regime
            .obligations
            .iter()
            .map(|o| format!("obligation {}", o.id)))
        .chain(regime.filings.iter().map(|f| format!("filing {}", f.id)))
        .chain(regime.tiers.iter().map(|t| format!("tier {}", t.id)))
        .chain(regime.notes.iter().map(|n| format!("note {}", n.id)))
        .chain(
            regime
                .categories
                .iter()
                .map(|x| format!("category {}", x.id)),
        );
        let missing: Vec<String> = defined.filter(|d| !seen.contains(d)).collect();
        assert!(
            missing.is_empty(),
            "{}: never triggered: {missing:?}",
            regime.meta.id
        );
    }
}

#[test]
fn public_chatbot_needs_genai_and_algorithm_filing() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "bot", "public_facing": true, "generative": true,
        "public_opinion_attributes": true, "model_source": "self-developed",
        "algorithm_types": ["generation-synthesis"], "deep_synthesis_functions": ["dialogue"],
        "launch_date": "2025-09-26"}),
    );
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap();
    let kinds: Vec<&str> = r.results[0]
        .filings
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert!(kinds.contains(&"genai-filing"), "{kinds:?}");
    assert!(kinds.contains(&"algorithm-filing"), "{kinds:?}");
    assert!(!kinds.contains(&"genai-registration"));
    let algo = r.results[0]
        .filings
        .iter()
        .find(|f| f.kind == "algorithm-filing")
        .unwrap();
    assert_eq!(algo.authority, "national");
    // 10 working days after Fri 2025-09-26 across the National Day holiday
    assert_eq!(algo.due_date.as_deref(), Some("2025-10-16"));
    let ob = r.results[0]
        .obligations
        .iter()
        .find(|o| o.id == "genai.17.security-assessment")
        .unwrap();
    assert_eq!(
        (ob.instrument.as_str(), ob.article.as_str()),
        ("GENAI-2023", "17")
    );
    assert!(
        ob.reason
            .contains("Public-opinion attributes or social-mobilisation capability: yes"),
        "{}",
        ob.reason
    );
}

#[test]
fn filed_model_api_is_registration_not_filing() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "app", "public_facing": true, "generative": true,
        "public_opinion_attributes": true, "model_source": "filed-model-api"}),
    );
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap();
    let kinds: Vec<&str> = r.results[0]
        .filings
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert_eq!(kinds, vec!["genai-registration"]);
}

#[test]
fn non_public_generative_is_outside_genai_measures() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "internal", "public_facing": false, "generative": true,
        "model_source": "fine-tuned"}),
    );
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap();
    assert_eq!(r.results[0].tier, "not-public");
    assert!(r.results[0].filings.is_empty());
    assert!(
        r.results[0]
            .obligations
            .iter()
            .all(|o| o.instrument != "GENAI-2023")
    );
    assert!(
        r.results[0]
            .notes
            .iter()
            .any(|n| n.id == "genai.2.not-public")
    );
}

#[test]
fn technical_supporter_files_by_reference() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "tts", "role": "technical-supporter",
        "deep_synthesis_functions": ["voice-clone"], "generative": true}),
    );
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap();
    let f = &r.results[0].filings;
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].kind.as_str(), f[0].basis.as_str()),
        ("algorithm-filing", "DEEPSYN-2023:19")
    );
}

#[test]
fn eu_tiers() {
    let c = classifier();
    let cv = profile(
        &c,
        json!({"name": "cv", "eu_market": true, "eu_practices": ["recruitment"], "sector": "employment", "algorithm_types": ["sorting-selection"]}),
    );
    // Annex III duties apply from 2027-12-02 (Digital Omnibus on AI, secondary)
    let as_of = chrono::NaiveDate::parse_from_str("2028-01-03", "%Y-%m-%d").unwrap();
    let r = c.classify_at(&cv, &["eu-ai-act"], Lang::En, as_of).unwrap();
    assert_eq!(r.results[0].tier, "high-risk");
    assert!(
        r.results[0]
            .obligations
            .iter()
            .any(|o| o.id == "eu.49.registration")
    );
    let scoring = profile(
        &c,
        json!({"name": "s", "eu_market": true, "eu_practices": ["social-scoring"]}),
    );
    assert_eq!(
        c.classify_at(&scoring, &["eu-ai-act"], Lang::En, fixed())
            .unwrap()
            .results[0]
            .tier,
        "prohibited"
    );
    let local = profile(
        &c,
        json!({"name": "l", "eu_market": false, "generative": true}),
    );
    assert_eq!(
        c.classify_at(&local, &["eu-ai-act"], Lang::En, fixed())
            .unwrap()
            .results[0]
            .tier,
        "out-of-scope"
    );
    let gpai = profile(
        &c,
        json!({"name": "g", "eu_market": true, "general_purpose_model": true, "generative": true, "training_compute_flops": 2e25, "provider_location": "CN"}),
    );
    let r = c
        .classify_at(&gpai, &["eu-ai-act"], Lang::En, fixed())
        .unwrap();
    let ids: Vec<&str> = r.results[0]
        .obligations
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert!(
        ids.contains(&"eu.55.systemic-risk") && ids.contains(&"eu.54.gpai-representative"),
        "{ids:?}"
    );
}

#[test]
fn cass_negative_list_flagged_unconfirmed() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "cii", "public_facing": true, "critical_information_infrastructure": true}),
    );
    let r = c
        .classify_at(&p, &["cn-cass-draft"], Lang::En, fixed())
        .unwrap();
    let n = r.results[0]
        .negative_list
        .as_ref()
        .expect("negative list status");
    assert_eq!(n.status, "likely-listed");
    assert!(n.unconfirmed);
    assert_eq!(r.results[0].filings[0].kind, "ai-licence");
}

#[test]
fn json_shape_is_the_contract() {
    let c = classifier();
    let p = profile(
        &c,
        json!({"name": "bot", "public_facing": true, "generative": true,
        "public_opinion_attributes": true, "model_source": "self-developed"}),
    );
    let r = c
        .classify(&p, &["cn-current", "eu-ai-act"], Lang::En)
        .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    let res = v["results"].as_array().unwrap();
    assert_eq!(res.len(), 2);
    for key in ["regime", "tier", "categories", "filings", "obligations"] {
        assert!(res[0].get(key).is_some(), "missing {key}");
    }
    let f = &res[0]["filings"][0];
    for key in ["kind", "authority", "deadline", "basis"] {
        assert!(f[key].is_string(), "filing.{key}");
    }
    let o = &res[0]["obligations"][0];
    for key in ["id", "instrument", "article", "title", "reason", "source"] {
        assert!(o[key].is_string(), "obligation.{key}");
    }
}

#[test]
fn rules_dir_adds_and_suppresses() {
    let dir = std::env::temp_dir().join(format!("beian-rules-{}", std::process::id()));
    let sub = dir.join("cn-current");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("house.toml"),
        r#"
[[obligation]]
id = "house.red-team"
instrument = "GENAI-2023"
article = "4"
title_zh = "内部红队测试"
title_en = "In-house red-teaming"
duty_en = "Red-team before each release."
duty_zh = "每次发布前红队测试。"
actor = "provider"
trigger_en = "any public generative service"
trigger_zh = "任何公众生成式服务"
deadline = "before release"
authority = "internal"
theme = "security-assessment"
source = "company policy"
verified = "confirmed"
"#,
    )
    .unwrap();
    std::fs::write(
        sub.join("house.rego"),
        r#"package beian.regimes.cn_current
import rego.v1
obligations contains {"id": "house.red-team", "facts": ["generative"]} if input.generative
suppress contains "genai.15.complaints"
"#,
    )
    .unwrap();
    let kb = Kb::load(Some(&dir)).unwrap();
    let c = Classifier::new(kb).unwrap();
    let p = Profile::from_text(
        "name = \"b\"\npublic_facing = true\ngenerative = true\n",
        ProfileFormat::Toml,
        "t",
        c.kb().profile_schema(),
    )
    .unwrap();
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap();
    let ids: Vec<&str> = r.results[0]
        .obligations
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert!(ids.contains(&"house.red-team"), "{ids:?}");
    assert!(!ids.contains(&"genai.15.complaints"), "{ids:?}");
    // an id emitted by a policy without data is an error, not silently dropped
    std::fs::write(sub.join("bad.rego"), "package beian.regimes.cn_current\nimport rego.v1\nobligations contains {\"id\": \"nope\", \"facts\": []} if true\n").unwrap();
    let c = Classifier::new(Kb::load(Some(&dir)).unwrap()).unwrap();
    let e = c
        .classify_at(&p, &["cn-current"], Lang::En, fixed())
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_regime_is_an_error() {
    let c = classifier();
    let p = profile(&c, json!({"name": "x"}));
    let e = c
        .classify_at(&p, &["cn-futur"], Lang::En, fixed())
        .unwrap_err();
    assert!(e.to_string().contains("cn-current"), "{e}");
}
