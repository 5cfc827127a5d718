//! Fault injection: added latency and injected 5xx errors per path prefix
//! ([`crate::TargetConfig::latency`], [`crate::TargetConfig::error_rate`]).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::app::AppState;
use crate::config::lookup;
use crate::error::ApiError;

/// Sleeps for the path's configured latency, then fails the request with the configured
/// probability; `/_target/*` is exempt.
pub(crate) async fn inject(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let config = &state.config;
    let path = req.uri().path();
    if (config.latency.is_empty() && config.error_rate.is_empty()) || path.starts_with("/_target/")
    {
        return next.run(req).await;
    }
    if let Some(delay) = lookup(&config.latency, path) {
        tokio::time::sleep(*delay).await;
    }
    if let Some(rate) = lookup(&config.error_rate, path) {
        if *rate > 0.0 && fastrand::f64() < *rate {
            state.stats.faults.fetch_add(1, Relaxed);
            let status = StatusCode::from_u16(config.fault_status)
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return ApiError::new(status, "injected fault").into_response();
        }
    }
    next.run(req).await
}
