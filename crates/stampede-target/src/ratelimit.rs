//! Per-tier rate limits on `/api/*`, keyed by bearer token: a token bucket per token holding
//! one second's worth of requests, refilled continuously.
//!
//! Every `/api/*` answer to a tier token carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`
//! and `X-RateLimit-Reset` (seconds until the bucket is full again); a refused request gets 429
//! with `Retry-After` (whole seconds, at least 1). Tokens of users without a tier are not limited.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use crate::app::AppState;
use crate::auth::{bearer, Tier};

/// Buckets beyond this many are pruned of idle ones.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The outcome of one [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full.
    pub reset_secs: u64,
    /// Seconds until one request is allowed (0 when allowed now).
    pub retry_after: Duration,
}

/// Token buckets by key.
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket of `limit` requests per second.
    pub fn check(&self, key: &str, limit: u32, now: Instant) -> Decision {
        let cap = f64::from(limit.max(1));
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            map.retain(|_, b| now.saturating_duration_since(b.last) < Duration::from_secs(2));
        }
        let bucket = match map.get_mut(key) {
            Some(b) => b,
            None => map.entry(key.to_string()).or_insert(Bucket {
                tokens: cap,
                last: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * cap).min(cap);
        bucket.last = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let retry_after = if allowed {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - bucket.tokens) / cap)
        };
        Decision {
            allowed,
            limit,
            remaining: bucket.tokens.floor() as u32,
            reset_secs: ((cap - bucket.tokens) / cap).ceil() as u64,
            retry_after,
        }
    }
}

fn set_headers(headers: &mut HeaderMap, d: &Decision, tier: Tier) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(d.reset_secs));
    headers.insert("x-ratelimit-tier", HeaderValue::from_static(tier.as_str()));
}

/// Middleware: resolves the bearer token of `/api/*` requests (making the user available to
/// handlers) and enforces the tier's limit.
pub(crate) async fn limit(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || path == "/api/metrics" || path == "/api/health" {
        return next.run(req).await;
    }
    let Some(token) = bearer(req.headers()).map(str::to_owned) else {
        return next.run(req).await;
    };
    let Some(user) = state.auth.resolve(&token) else {
        return next.run(req).await;
    };
    req.extensions_mut().insert(user.clone());
    let Some(tier) = user.tier else {
        return next.run(req).await;
    };
    let limits = state.config.rate_limits;
    let limit = match tier {
        Tier::Free => limits.free,
        Tier::Starter => limits.starter,
        Tier::Professional => limits.professional,
    };
    if limit == 0 {
        return next.run(req).await;
    }
    let d = state.limiter.check(&token, limit, Instant::now());
    if !d.allowed {
        state.stats.rate_limited.fetch_add(1, Relaxed);
        let retry_secs = d.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let body = json!({
            "error": "rate limit exceeded",
            "status": 429,
            "tier": tier.as_str(),
            "limit": d.limit,
            "retryAfterMs": d.retry_after.as_millis(),
        });
        let mut res = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        set_headers(res.headers_mut(), &d, tier);
        res.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(retry_secs));
        return res;
    }
    let mut res = next.run(req).await;
    set_headers(res.headers_mut(), &d, tier);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_limit_then_refuses_then_refills() {
        let rl = RateLimiter::default();
        let t0 = Instant::now();
        let allowed = (0..15).filter(|_| rl.check("k", 10, t0).allowed).count();
        assert_eq!(allowed, 10);
        let d = rl.check("k", 10, t0);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_millis(100));
        assert!(rl.check("k", 10, t0 + Duration::from_millis(110)).allowed);
        assert!(rl.check("other", 10, t0).allowed);
    }
}
