//! The shared state and the route table.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use http::{header, StatusCode};
use tokio::sync::watch;

use crate::auth::AuthStore;
use crate::error::ApiError;
use crate::jobs::JobStore;
use crate::messages::Inbox;
use crate::providers::Provider;
use crate::ratelimit::RateLimiter;
use crate::shop::Shop;
use crate::stats::Recorder;
use crate::ws::Rooms;
use crate::TargetConfig;
use crate::{
    auth, faults, helpers, http_auth, jobs, messages, metrics, providers, ratelimit, shop, stats,
    ws,
};

/// Everything the handlers share, in memory.
pub(crate) struct AppState {
    pub config: TargetConfig,
    pub stats: Recorder,
    pub auth: AuthStore,
    pub shop: Shop,
    pub jobs: JobStore,
    pub providers: Vec<Provider>,
    pub inbox: Inbox,
    pub rooms: Rooms,
    pub limiter: RateLimiter,
    pub started: Instant,
    /// Set to `true` when the server stops, so WebSocket sessions close.
    pub shutdown: watch::Sender<bool>,
}

impl AppState {
    pub fn new(config: TargetConfig) -> Self {
        AppState {
            stats: Recorder::default(),
            auth: AuthStore::new(config.hash_cost, config.seed_users),
            shop: Shop::new(config.flash_sale_stock),
            jobs: JobStore::default(),
            providers: providers::generate(),
            inbox: Inbox::new(),
            rooms: Rooms::default(),
            limiter: RateLimiter::default(),
            started: Instant::now(),
            shutdown: watch::channel(false).0,
            config,
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Answers 413 at once when the declared Content-Length is over the cap, instead of reading
/// the body first (chunked bodies are cut off by the extractors' limit).
async fn reject_oversized(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let cap = u64::try_from(state.config.max_body_bytes).unwrap_or(u64::MAX);
    match declared {
        Some(n) if n > cap => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {n} bytes is over the {cap}-byte limit"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// Every route, wrapped in (outermost first) stats, fault injection and rate limiting.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        // httpbin-style helpers
        .route("/", get(helpers::hello))
        .route("/delay/{ms}", any(helpers::delay))
        .route("/status/{code}", any(helpers::status))
        .route("/bytes/{n}", get(helpers::bytes))
        .route("/echo", any(helpers::echo))
        .route("/decompress", any(helpers::decompress))
        .route("/cookies", get(helpers::cookies))
        .route("/cookies/set", get(helpers::cookies_set))
        .route("/cookies/delete", get(helpers::cookies_delete))
        .route("/redirect/{n}", get(helpers::redirect))
        .route("/get", get(helpers::get))
        .route("/post", post(helpers::anything))
        .route("/put", put(helpers::anything))
        .route("/patch", patch(helpers::anything))
        .route("/delete", delete(helpers::anything))
        .route("/anything", any(helpers::anything))
        .route("/anything/{*rest}", any(helpers::anything))
        .route("/headers", get(helpers::headers))
        .route("/user-agent", get(helpers::user_agent))
        .route("/ip", get(helpers::ip))
        .route("/digest-auth/{*rest}", any(http_auth::digest))
        .route("/ntlm-auth/{user}/{passwd}", any(http_auth::ntlm))
        // auth
        .route("/auth/signup", post(auth::signup))
        .route("/auth/register", post(auth::signup))
        .route("/auth/login", post(auth::login))
        .route("/auth/me", get(auth::me))
        .route("/auth/refresh", post(auth::refresh))
        // jobs, quotes, providers
        .route("/jobs", post(jobs::create))
        .route("/jobs/mine", get(jobs::mine))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/quotes", post(jobs::quote))
        .route("/jobs/{id}/quotes/{qid}/accept", post(jobs::accept))
        .route("/providers/search", get(providers::search))
        .route("/providers/near", get(providers::near))
        // shop
        .route("/api/products", get(shop::list))
        .route("/api/products/search", get(shop::search))
        .route("/api/products/{id}", get(shop::get_product))
        .route("/api/orders", post(shop::create_order))
        .route("/api/flash-sale", get(shop::flash_sale))
        .route("/api/reports/inventory", get(shop::inventory_report))
        .route("/api/reports/order-details", get(shop::order_details))
        .route(
            "/api/analytics/inventory-summary",
            get(shop::inventory_summary),
        )
        .route(
            "/api/inventory/adjustments",
            post(shop::inventory_adjustments),
        )
        .route("/api/bulk/import", post(shop::bulk_import))
        // messaging
        .route("/messages/send", post(messages::send))
        .route("/messages/conversations", get(messages::list))
        .route("/messages/conversations/{id}", get(messages::get))
        .route("/messages/conversations/{id}/reply", post(messages::reply))
        .route(
            "/messages/conversations/{id}/read",
            post(messages::mark_read),
        )
        .route("/analytics/summary", get(messages::summary))
        // realtime
        .route("/ws/chat", get(ws::chat))
        // operations
        .route("/health", get(metrics::health))
        .route("/api/health", get(metrics::health))
        .route("/metrics", get(metrics::prometheus))
        .route("/api/metrics", get(metrics::api_metrics))
        .route("/_target/stats", get(metrics::target_stats))
        .route("/_target/reset", post(metrics::target_reset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(from_fn_with_state(state.clone(), reject_oversized))
        .layer(from_fn_with_state(state.clone(), ratelimit::limit))
        .layer(from_fn_with_state(state.clone(), faults::inject))
        .layer(from_fn_with_state(state.clone(), stats::record))
        .with_state(state)
}
