//! `beian serve` on a data directory it cannot write stops at once with a
//! clear message naming the directory, never a 30 s pool timeout. Covered,
//! whoever runs the tests (root included):
//! - a data directory whose parent is a file (any user: ENOTDIR);
//! - a read-only file system: a `tmpfs` mounted `ro` in a private mount
//!   namespace (`unshare --mount`, where permitted: root, or user namespaces),
//!   else a 0555 directory (a non-root user). When neither can be set up
//!   (non-root without `unshare` rights is always the second), the test says
//!   which part it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_beian");

/// Runs `cmd` and returns (exit code, stderr, seconds).
fn timed(cmd: &mut Command) -> (Option<i32>, String, f64) {
    let t = Instant::now();
    let out = cmd
        .env("RUST_LOG", "warn")
        .env_remove("BEIAN_LOG_KEY")
        .env_remove("BEIAN_LOG_KEY_FILE")
        .env_remove("BEIAN_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        t.elapsed().as_secs_f64(),
    )
}

fn serve(d: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(d);
    c
}

#[test]
fn a_data_dir_under_a_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let d = file.join("data");
    let (code, err, secs) = timed(&mut serve(&d));
    assert_ne!(code, Some(0), "serve started on {}: {err}", d.display());
    assert!(secs < 10.0, "took {secs} s: {err}");
    assert!(
        err.contains(&d.display().to_string()) && err.to_lowercase().contains("not a directory"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_file_system_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("ro");
    std::fs::create_dir(&d).unwrap();
    // A read-only tmpfs in a private mount namespace (gone with it): as
    // root, or as a user allowed user namespaces.
    let script = "mount -t tmpfs -o ro,size=1m tmpfs \"$1\" 2>/dev/null || exit 99; exec \"$2\" serve --listen 127.0.0.1:0 --data-dir \"$1\"";
    let mut mounted = None;
    for extra in [&[][..], &["--map-root-user"][..]] {
        let mut c = Command::new("unshare");
        c.arg("--mount")
            .args(extra)
            .args(["sh", "-c", script, "sh"])
            .arg(&d)
            .arg(BIN);
        let Ok(_) = Command::new("unshare").arg("--version").output() else {
            break;
        };
        let r = timed(&mut c);
        if r.0 != Some(99) && !r.1.contains("unshare failed") && !r.1.contains("unshare:") {
            mounted = Some(r);
            break;
        }
    }
    let (code, err, secs) = match mounted {
        Some(r) => r,
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
            if std::fs::write(d.join("probe"), b"").is_ok() {
                eprintln!(
                    "SKIP a_read_only_file_system: no mount namespace here and a 0555 directory is writable (root without CAP_SYS_ADMIN)"
                );
                return;
            }
            timed(&mut serve(&d))
        }
    };
    assert_ne!(
        code,
        Some(0),
        "serve started on a read-only {}: {err}",
        d.display()
    );
    assert!(secs < 10.0, "took {secs} s, not at once: {err}");
    assert!(
        err.contains("cannot write")
            && err.contains("read-only")
            && err.contains(&d.display().to_string()),
        "{err}"
    );
}
