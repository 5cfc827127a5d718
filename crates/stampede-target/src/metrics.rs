//! Operational endpoints: `GET /health`, `GET /api/health`, `GET /metrics` (Prometheus text),
//! `GET /api/metrics` (JSON, `process.memory_usage_mb`), `GET /_target/stats` and
//! `POST /_target/reset`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use http::{header, Uri};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::helpers::query_map;
use crate::stats::{Stats, BUCKETS};

/// Resident set size of this process in bytes (`VmRSS` of `/proc/self/status`; 0 elsewhere).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// `GET /health` and `GET /api/health`.
pub(crate) async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "status": "ok", "uptimeSeconds": state.started.elapsed().as_secs() }))
}

/// `GET /api/metrics`: the process's own figures as JSON.
pub(crate) async fn api_metrics(State(state): State<Arc<AppState>>) -> Json<Value> {
    let rss = rss_bytes();
    let stats = state.stats.snapshot();
    let uptime = state.started.elapsed().as_secs_f64();
    Json(json!({
        "process": {
            "memory_usage_mb": (rss as f64 / 1_048_576.0 * 100.0).round() / 100.0,
            "rss_bytes": rss,
            "uptime_seconds": uptime.round(),
            "pid": std::process::id(),
        },
        "requests": {
            "total": stats.total_requests,
            "per_second": if uptime > 0.0 { stats.total_requests as f64 / uptime } else { 0.0 },
            "rate_limited": stats.rate_limited,
            "faults_injected": stats.faults_injected,
        },
        "connections": { "active": stats.connections_active, "accepted": stats.connections_accepted },
        "websocket": {
            "connections": stats.ws_connections,
            "messages_received": stats.ws_messages_received,
            "messages_sent": stats.ws_messages_sent,
        },
    }))
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn prometheus(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut out = String::with_capacity(8192);
    let stats = &state.stats;
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP http_requests_total HTTP requests served, by method, route and status."
    );
    let _ = writeln!(out, "# TYPE http_requests_total counter");
    let mut hist = String::new();
    let _ = writeln!(
        hist,
        "# HELP http_request_duration_seconds Time to answer HTTP requests, by route."
    );
    let _ = writeln!(hist, "# TYPE http_request_duration_seconds histogram");
    stats.with_routes(|routes| {
        for (route, entry) in routes {
            let route = escape(route);
            for (method, status, n) in &entry.series {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += entry.buckets[i];
                let _ = writeln!(
                    hist,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                hist,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                entry.count
            );
            let _ = writeln!(hist, "http_request_duration_seconds_sum{{route=\"{route}\"}} {}", entry.sum_secs);
            let _ = writeln!(hist, "http_request_duration_seconds_count{{route=\"{route}\"}} {}", entry.count);
        }
    });
    out.push_str(&hist);
    let snap: Stats = stats.snapshot();
    let gauges: [(&str, &str, &str, u64); 9] = [
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss_bytes(),
        ),
        (
            "rate_limit_rejections_total",
            "counter",
            "Requests refused with 429.",
            snap.rate_limited,
        ),
        (
            "fault_injections_total",
            "counter",
            "Requests answered with an injected error.",
            snap.faults_injected,
        ),
        (
            "http_connections_active",
            "gauge",
            "Open TCP connections.",
            snap.connections_active,
        ),
        (
            "http_connections_accepted_total",
            "counter",
            "TCP connections accepted.",
            snap.connections_accepted,
        ),
        (
            "websocket_connections_total",
            "counter",
            "WebSocket sessions opened.",
            snap.ws_connections,
        ),
        (
            "websocket_messages_received_total",
            "counter",
            "WebSocket messages received.",
            snap.ws_messages_received,
        ),
        (
            "websocket_messages_sent_total",
            "counter",
            "WebSocket messages sent.",
            snap.ws_messages_sent,
        ),
        (
            "orders_created_total",
            "counter",
            "Orders created.",
            state.shop.orders_created(),
        ),
    ];
    for (name, kind, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP process_uptime_seconds Seconds since the server started.\n# TYPE process_uptime_seconds gauge\nprocess_uptime_seconds {}",
        state.started.elapsed().as_secs_f64()
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// `GET /_target/stats`: [`Stats`] as JSON.
pub(crate) async fn target_stats(State(state): State<Arc<AppState>>) -> Json<Stats> {
    Json(state.stats.snapshot())
}

/// `POST /_target/reset?what=all|stats|stock`: zeroes the request counters and/or restores the
/// flash-sale stock (default: both).
pub(crate) async fn target_reset(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let what = query_map(&uri)
        .get("what")
        .cloned()
        .unwrap_or_else(|| "all".into());
    let (stats, stock) = match what.as_str() {
        "all" => (true, true),
        "stats" => (true, false),
        "stock" => (false, true),
        _ => return Err(ApiError::bad_request("`what` must be all, stats or stock")),
    };
    if stats {
        state.stats.reset();
    }
    if stock {
        state.shop.reset();
    }
    Ok(Json(json!({ "reset": what })))
}
