//! The registry pre-check verifies GB 45438 labels on sample outputs attached to a
//! filing, with the same code as `beian label verify` (beian-label).

use beian_label::{EmbedOptions, Label, embed_bytes};
use beian_registry::domain::{Attachment, Filing};
use beian_registry::precheck::{Input, evaluate, needs_bytes};
use serde_json::{Value, json};

const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0,
    0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 96, 0, 0, 0, 2, 0, 1, 229,
    39, 222, 252, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

fn filing() -> Filing {
    serde_json::from_value(json!({
        "id": 1, "org_id": 1, "service_id": null, "kind": "genai-filing", "purpose": "initial", "parent_id": null,
        "status": "draft", "name": "测试服务", "name_latin": "CeShi", "province": "北京", "form": {}, "number": null,
        "checks": [], "comment": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "submitted_on": null, "approved_on": null
    }))
    .expect("filing")
}

fn attachment(id: i64, name: &str) -> Attachment {
    serde_json::from_value(json!({
        "id": id, "filing_id": 1, "kind": "other", "filename": name, "content_type": "application/octet-stream",
        "size": 1, "sha256": format!("{id:064}"), "created_at": "2026-01-01T00:00:00Z"
    }))
    .expect("attachment")
}

fn label_check(input: &Input) -> Value {
    let all = evaluate(input);
    all.as_array()
        .expect("array")
        .iter()
        .find(|c| c["id"] == "label-samples")
        .cloned()
        .expect("label-samples check")
}

#[test]
fn samples_are_verified() {
    let label = Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: "s1".into(),
        ..Label::default()
    };
    let good = embed_bytes(PNG, &EmbedOptions::new(label)).expect("embed");
    assert!(needs_bytes(&attachment(1, "sample.PNG")));

    let input = Input {
        filing: filing(),
        classification: None,
        attachments: vec![(attachment(1, "sample.png"), Some(good.clone()))],
    };
    let c = label_check(&input);
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(c["blocking"], false);

    let input = Input {
        filing: filing(),
        classification: None,
        attachments: vec![
            (attachment(1, "a.png"), Some(good)),
            (attachment(2, "b.png"), Some(PNG.to_vec())),
        ],
    };
    let c = label_check(&input);
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["detail"]
            .as_str()
            .expect("detail")
            .contains("b.png (not_found)"),
        "{c}"
    );
    assert_eq!(c["samples"][1]["verdict"], "not_found");

    let input = Input {
        filing: filing(),
        classification: None,
        attachments: vec![],
    };
    assert_eq!(label_check(&input)["status"], "warn");
}
