//! Integration tests for stampede-http against local servers on 127.0.0.1.
//! The client side runs as the engine runs it: a current-thread runtime with
//! a `LocalSet`.

mod basic;
mod bench;
mod errors;
mod pooling;
mod redirects;
mod server;
mod timings;
mod tls;

use std::future::Future;
use std::sync::Arc;

use stampede_http::{ClientConfig, HttpClient, Request, Response};

/// Runs `f` on a current-thread runtime inside a `LocalSet`.
pub fn run<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tokio::task::LocalSet::new().block_on(&rt, f)
}

pub fn client() -> HttpClient {
    HttpClient::new(Arc::new(ClientConfig::default()))
}

pub fn get(url: url::Url) -> Request {
    Request::new(http::Method::GET, url)
}

/// The echo endpoint's JSON.
pub fn echoed(res: &Response) -> serde_json::Value {
    serde_json::from_slice(&res.body).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): status {} error {:?} body {:?}",
            res.status,
            res.error,
            String::from_utf8_lossy(&res.body)
        )
    })
}

/// The value of header `name` in an echoed request.
pub fn echoed_header(v: &serde_json::Value, name: &str) -> Option<String> {
    v["headers"].as_array()?.iter().find_map(|pair| {
        (pair[0].as_str()? == name).then(|| pair[1].as_str().unwrap_or("").to_string())
    })
}
