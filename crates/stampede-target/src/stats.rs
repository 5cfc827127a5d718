//! Server-side counters: what the target served, by route pattern and status, for tests and
//! benchmarks to cross-check the load tester's own figures.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// Upper bounds (seconds) of the latency histogram buckets exported on `/metrics`.
pub(crate) const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Route key of requests that matched no route.
pub const UNMATCHED: &str = "(unmatched)";

/// A snapshot of the server-side counters ([`crate::TargetServer::stats`], `GET /_target/stats`).
///
/// Requests to `/_target/*` are not counted, so the figures match what a load test sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// HTTP requests answered (including WebSocket upgrades).
    pub total_requests: u64,
    /// Requests per `"METHOD /route/{pattern}"`, e.g. `"GET /delay/{ms}"`; unmatched paths
    /// count under `"METHOD (unmatched)"`.
    pub routes: BTreeMap<String, u64>,
    /// Requests per response status code.
    pub statuses: BTreeMap<u16, u64>,
    /// TCP connections accepted since start.
    pub connections_accepted: u64,
    /// TCP connections open now (a connection upgraded to WebSocket no longer counts).
    pub connections_active: u64,
    /// WebSocket sessions opened since start.
    pub ws_connections: u64,
    /// WebSocket messages received from clients.
    pub ws_messages_received: u64,
    /// WebSocket messages sent to clients.
    pub ws_messages_sent: u64,
    /// Requests refused with 429 by the tier rate limiter.
    pub rate_limited: u64,
    /// Requests answered with an injected error.
    pub faults_injected: u64,
}

impl Stats {
    /// Count for a route key such as `"GET /delay/{ms}"` (0 when never requested).
    pub fn route(&self, key: &str) -> u64 {
        self.routes.get(key).copied().unwrap_or(0)
    }

    /// Count of responses with this status code.
    pub fn status(&self, code: u16) -> u64 {
        self.statuses.get(&code).copied().unwrap_or(0)
    }
}

/// Counters of one route pattern.
#[derive(Default)]
pub(crate) struct RouteEntry {
    /// (method, status, count)
    pub series: Vec<(Method, u16, u64)>,
    /// Per-bucket counts (not cumulative); the last slot is `+Inf`.
    pub buckets: [u64; BUCKETS.len() + 1],
    pub sum_secs: f64,
    pub count: u64,
}

/// The live counters behind [`Stats`]; one lock per request, atomics for the rest.
pub(crate) struct Recorder {
    total: AtomicU64,
    statuses: Box<[AtomicU64]>,
    routes: Mutex<HashMap<String, RouteEntry>>,
    pub connections_accepted: AtomicU64,
    pub connections_closed: AtomicU64,
    pub ws_connections: AtomicU64,
    pub ws_received: AtomicU64,
    pub ws_sent: AtomicU64,
    pub rate_limited: AtomicU64,
    pub faults: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            total: AtomicU64::new(0),
            statuses: (0..600).map(|_| AtomicU64::new(0)).collect(),
            routes: Mutex::new(HashMap::new()),
            connections_accepted: AtomicU64::new(0),
            connections_closed: AtomicU64::new(0),
            ws_connections: AtomicU64::new(0),
            ws_received: AtomicU64::new(0),
            ws_sent: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        }
    }
}

impl Recorder {
    pub fn record(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        self.total.fetch_add(1, Relaxed);
        if let Some(c) = self.statuses.get(usize::from(status)) {
            c.fetch_add(1, Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = match routes.get_mut(route) {
            Some(e) => e,
            None => routes.entry(route.to_string()).or_default(),
        };
        entry.count += 1;
        entry.sum_secs += secs;
        entry.buckets[bucket] += 1;
        match entry
            .series
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some(series) => series.2 += 1,
            None => entry.series.push((method.clone(), status, 1)),
        }
    }

    /// Runs `f` over the per-route counters, sorted by route.
    pub fn with_routes<R>(&self, f: impl FnOnce(Vec<(&String, &RouteEntry)>) -> R) -> R {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sorted: Vec<_> = routes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        f(sorted)
    }

    pub fn snapshot(&self) -> Stats {
        let mut routes = BTreeMap::new();
        self.with_routes(|entries| {
            for (route, entry) in entries {
                for (method, _, n) in &entry.series {
                    *routes.entry(format!("{method} {route}")).or_insert(0) += n;
                }
            }
        });
        let statuses = self
            .statuses
            .iter()
            .enumerate()
            .filter_map(|(code, n)| {
                let n = n.load(Relaxed);
                (n > 0).then(|| (u16::try_from(code).unwrap_or(0), n))
            })
            .collect();
        let accepted = self.connections_accepted.load(Relaxed);
        Stats {
            total_requests: self.total.load(Relaxed),
            routes,
            statuses,
            connections_accepted: accepted,
            connections_active: accepted.saturating_sub(self.connections_closed.load(Relaxed)),
            ws_connections: self.ws_connections.load(Relaxed),
            ws_messages_received: self.ws_received.load(Relaxed),
            ws_messages_sent: self.ws_sent.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            faults_injected: self.faults.load(Relaxed),
        }
    }

    /// Zeroes the request counters (connection counts are kept: connections stay open).
    pub fn reset(&self) {
        self.total.store(0, Relaxed);
        for s in self.statuses.iter() {
            s.store(0, Relaxed);
        }
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for c in [
            &self.ws_connections,
            &self.ws_received,
            &self.ws_sent,
            &self.rate_limited,
        ] {
            c.store(0, Relaxed);
        }
        self.faults.store(0, Relaxed);
    }
}

/// Outermost middleware: counts every answered request by route pattern and status.
pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/_target/") {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    state
        .stats
        .record(&method, route, response.status().as_u16(), start.elapsed());
    response
}
