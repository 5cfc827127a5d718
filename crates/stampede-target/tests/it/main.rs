//! Integration tests: real servers on 127.0.0.1, driven over real HTTP and WebSocket.
#![allow(clippy::unwrap_used)]

mod api;
mod auth;
mod client;
mod concurrency;
mod helpers;
mod robustness;
mod shop;
mod ws;

use stampede_target::{TargetConfig, TargetServer};

/// A server with the default configuration on a free port.
pub fn server() -> TargetServer {
    TargetServer::start(TargetConfig::default(), 0).expect("start target server")
}

/// A server with a tweaked configuration on a free port.
pub fn server_with(f: impl FnOnce(&mut TargetConfig)) -> TargetServer {
    let mut config = TargetConfig::default();
    f(&mut config);
    TargetServer::start(config, 0).expect("start target server")
}
