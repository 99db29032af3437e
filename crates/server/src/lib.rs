//! beian-server: the HTTP face of the filing registry. The only crate that
//! knows HTTP. [`router`] builds the whole application (JSON API under
//! `/api/v1`, OpenAPI at `/api/openapi.json`, `/healthz`, `/metrics`, and the
//! server-rendered pages of [`web`]); [`serve`] runs it with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use beian_registry::Store;

pub mod api;
pub mod auth;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod web;

pub use error::ApiError;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub metrics: Arc<metrics::Metrics>,
    /// Mark session cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<Arc<str>>,
    /// Rate limits of public endpoints and logins.
    pub limits: Arc<limits::Limits>,
    /// Rendered register exports of the current register version.
    pub exports: Arc<api::export::ExportCache>,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Store) -> AppState {
        let store = Arc::new(store);
        store.start_register_refresher();
        AppState {
            store,
            metrics: Arc::default(),
            secure_cookies: false,
            metrics_token: None,
            limits: Arc::default(),
            exports: Arc::default(),
        }
    }
}

/// The whole application: API + web pages + health + metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::router())
        .merge(web::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::errors::error_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::public,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then
/// finishes in-flight requests and closes the store.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let app = router(state);
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let res = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    res
}
