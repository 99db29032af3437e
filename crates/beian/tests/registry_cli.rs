//! `beian registry` on the command line: actions are audited as
//! `cli:<user running it>`, import counts add up, an OS error is said once.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure with its message

use std::process::{Command, Output};

fn beian(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_beian"));
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.env_remove("BEIAN_DATABASE_URL");
    c.output().unwrap()
}

#[tokio::test]
async fn cli_actions_are_audited_as_the_os_user_and_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let uscc = beian_registry::uscc::complete("91110108MA01ABCDE").unwrap();
    let out = beian(
        &[
            "registry",
            "add-org",
            "--uscc",
            &uscc,
            "--name",
            "北京甲科技有限公司",
            "--province",
            "北京市",
            "--legal-representative",
            "张三",
            "--security-officer",
            "李四",
            "--assessment-lead",
            "王五",
            "--data-dir",
            data,
        ],
        &[("USER", "ops-alice")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = beian(
        &[
            "registry",
            "add-user",
            "--username",
            "aud",
            "--role",
            "auditor",
            "--data-dir",
            data,
        ],
        &[("USER", "ops-alice"), ("BEIAN_PASSWORD", "password-123")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // a published list: rows read = inserted + unchanged + conflicting + skipped
    let list = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/registry/deep-synthesis-2024-01.csv"
    );
    if std::path::Path::new(list).exists() {
        let out = beian(
            &["registry", "import", "--quiet", list, "--data-dir", data],
            &[("USER", "ops-alice")],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = err
            .lines()
            .find(|l| l.contains("rows read:"))
            .unwrap_or_else(|| panic!("{err}"));
        let num = |after: &str| -> usize {
            let (head, _) = line
                .split_once(after)
                .unwrap_or_else(|| panic!("{after} in {line}"));
            head.rsplit(|c: char| !c.is_ascii_digit())
                .find(|s| !s.is_empty())
                .unwrap()
                .parse()
                .unwrap()
        };
        let read = num(" rows read");
        let sum = num(" inserted") + num(" unchanged") + num(" conflicting") + num(" skipped");
        assert_eq!(read, sum, "{line}");
        assert!(!line.contains(" 1 anomalies"), "{line}");
    }

    // an OS error is said once
    let out = beian(
        &[
            "registry",
            "import",
            "/no/such/list.csv",
            "--data-dir",
            data,
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");

    // the audit log names the operating-system user
    let store = beian_registry::Store::open_data_dir(std::path::Path::new(data))
        .await
        .unwrap();
    let sess = store.login("aud", "password-123").await.unwrap();
    let entries = store.audit_entries(Some(&sess.user), 0, 100).await.unwrap();
    for action in ["organisation.create", "user.create"] {
        let e = entries
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!(e.actor, "cli:ops-alice", "{action}");
    }
    assert!(
        !entries
            .iter()
            .any(|e| e.actor == "anonymous" && e.action != "session.login.failed")
    );
}
