//! stampede-target: the demo target server of stampede.
//!
//! An axum server holding everything in memory that implements the APIs the k6 guides in
//! `shared/seeds/` load-test, so that their scripts (and `examples/*.js`) run unchanged against
//! it: `stampede demo` runs it in-process, the load tester's integration tests and the
//! benchmarks drive it, and `stampede serve-demo` runs it in the foreground.
//!
//! Start with [`TargetServer::start`] (or [`serve`] for a runtime you own), then read
//! [`TargetConfig`] for the knobs ([`config`] lists the `STAMPEDE_TARGET_*` variables) and
//! [`fixtures`] for the seeded accounts, tokens and ids.
//!
//! Routes (JSON unless said; one module each):
//! - helpers: `GET /` (text `hello`), `ANY /delay/{ms}`, `ANY /status/{code}`,
//!   `GET /bytes/{n}`, `ANY /echo`, `GET /cookies`, `GET /cookies/set?k=v`,
//!   `GET /cookies/delete?k`, `GET /redirect/{n}`, `GET /get`, `POST /post`, `PUT /put`,
//!   `PATCH /patch`, `DELETE /delete`, `ANY /anything`, `GET /headers`, `GET /user-agent`, `GET /ip`,
//!   `ANY /decompress` (the body with its `Content-Encoding` undone).
//! - http_auth: `GET /digest-auth/{qop}/{user}/{passwd}[/{algorithm}]`,
//!   `GET /ntlm-auth/{user}/{passwd}` (401 challenges, then 200 `{authenticated, user}`).
//! - auth: `POST /auth/signup` (alias `/auth/register`) 201/400/409, `POST /auth/login`
//!   200 `{access_token, token_type, expires_in, user}`/401, `GET /auth/me`, `POST /auth/refresh`.
//! - jobs: `POST /jobs` 201, `GET /jobs/mine?page=&limit=`, `GET /jobs/{id}`,
//!   `POST /jobs/{id}/quotes` 201, `POST /jobs/{id}/quotes/{qid}/accept` 200/403/409.
//! - providers: `GET /providers/search?q=&category=`, `GET /providers/near?lat=&lng=&radius=`.
//! - shop: `GET /api/products?page=&limit=&category=` `{data,page,limit,total,totalPages}`,
//!   `GET /api/products/search?q=`, `GET /api/products/{id}`, `POST /api/orders` 201 (409 once
//!   the flash sale is sold out), `GET /api/flash-sale`, `GET /api/reports/inventory` (slow),
//!   `GET /api/reports/order-details`, `GET /api/analytics/inventory-summary`,
//!   `POST /api/inventory/adjustments`, `POST /api/bulk/import`.
//! - messages: `POST /messages/send` 200, `GET /messages/conversations`,
//!   `GET /messages/conversations/{id}`, `POST /messages/conversations/{id}/reply` 201,
//!   `POST /messages/conversations/{id}/read`, `GET /analytics/summary` (all need a token).
//! - realtime: `GET /ws/chat?room=&user=` (see the `ws` module docs for the protocol).
//! - operations: `GET /health`, `GET /api/health`, `GET /metrics` (Prometheus),
//!   `GET /api/metrics` (`process.memory_usage_mb`), `GET /_target/stats` ([`Stats`]),
//!   `POST /_target/reset` (zero the counters, restock the flash sale).
//!
//! Tier tokens get per-second limits on `/api/*` (429 with `Retry-After`; see `ratelimit`).
//! Request bodies above [`TargetConfig::max_body_bytes`] get 413; malformed JSON gets 400.

mod app;
mod auth;
pub mod config;
mod error;
mod faults;
pub mod fixtures;
mod helpers;
mod http_auth;
mod jobs;
mod messages;
mod metrics;
mod providers;
mod ratelimit;
mod server;
mod shop;
mod stats;
mod ws;

pub use config::{ConfigError, RouteFault, TargetConfig, TierLimits};
pub use server::{bind, serve, TargetServer};
pub use stats::{Stats, UNMATCHED};
