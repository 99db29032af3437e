//! Test support shared by this crate's and the server's tests: fresh
//! databases on both back-ends.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection};

static N: AtomicU32 = AtomicU32::new(0);

/// The PostgreSQL URL for tests, from `BEIAN_TEST_POSTGRES_URL`.
///
/// Unset: prints a skip notice and returns `None`, unless
/// `BEIAN_REQUIRE_POSTGRES=1`, in which case it panics (the test fails).
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("BEIAN_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("BEIAN_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("{test}: BEIAN_REQUIRE_POSTGRES=1 but BEIAN_TEST_POSTGRES_URL is not set");
            }
            eprintln!(
                "SKIP {test}: PostgreSQL part skipped (set BEIAN_TEST_POSTGRES_URL to run it)"
            );
            None
        }
    }
}

/// Creates a fresh, empty database next to the one in `base_url` and returns its URL.
pub async fn fresh_postgres_db(base_url: &str) -> Result<String, sqlx::Error> {
    let name = format!(
        "beian_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_millis() % 1_000_000
    );
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (head, tail) = base_url
        .split_once('?')
        .map(|(h, t)| (h, format!("?{t}")))
        .unwrap_or((base_url, String::new()));
    let base = head.rsplit_once('/').map(|(b, _)| b).unwrap_or(head);
    Ok(format!("{base}/{name}{tail}"))
}

/// Copies a PostgreSQL database (`CREATE DATABASE … TEMPLATE …`; nobody may
/// be connected to `template_url`'s database) and returns the copy's URL.
pub async fn copy_postgres_db(base_url: &str, template_url: &str) -> Result<String, sqlx::Error> {
    let template = template_url
        .split('?')
        .next()
        .and_then(|h| h.rsplit_once('/'))
        .map(|(_, n)| n.to_string())
        .unwrap_or_default();
    let url = fresh_postgres_db(base_url).await?;
    let name = url
        .split('?')
        .next()
        .and_then(|h| h.rsplit_once('/'))
        .map(|(_, n)| n.to_string())
        .unwrap_or_default();
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE {template}"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(url)
}
