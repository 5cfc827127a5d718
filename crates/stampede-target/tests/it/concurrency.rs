//! Thousands of simultaneous keep-alive connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Barrier, Semaphore};

use crate::client::Conn;
use crate::server;

const CONNECTIONS: usize = 5000;

/// Raises the soft open-files limit to the hard one (each connection costs two descriptors here).
fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_concurrent_keep_alive_connections() {
    raise_nofile();
    let s = server();
    let addr = s.addr();
    let start = Instant::now();
    let connecting = Arc::new(Semaphore::new(256));
    let all_open = Arc::new(Barrier::new(CONNECTIONS));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let connecting = connecting.clone();
            let all_open = all_open.clone();
            tokio::spawn(async move {
                let permit = connecting.acquire().await.unwrap();
                let mut c = Conn::connect(addr).await.expect("connect");
                drop(permit);
                // Every connection is open at once before any request is sent.
                all_open.wait().await;
                let mut statuses = Vec::new();
                for path in [
                    format!("/api/products/{}", i % 1000 + 1),
                    "/health".to_string(),
                ] {
                    let r = c.request("GET", &path, &[], b"").await.expect("response");
                    statuses.push(r.status);
                }
                statuses
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let statuses = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("in time")
            .expect("task");
        ok += statuses.iter().filter(|s| **s == 200).count();
    }
    assert_eq!(ok, CONNECTIONS * 2);
    let st = s.stats();
    assert_eq!(st.total_requests, (CONNECTIONS * 2) as u64);
    assert_eq!(st.connections_accepted, CONNECTIONS as u64);
    eprintln!(
        "{CONNECTIONS} connections x 2 requests in {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn sequential_keep_alive_requests_do_not_stall() {
    let s = server();
    let mut c = Conn::connect(s.addr()).await.expect("connect");
    let start = Instant::now();
    for i in 0..100 {
        let body = format!(r#"{{"productId": {}, "quantity": 1}}"#, i % 1000 + 1);
        let r = c
            .request("POST", "/api/orders", &[], body.as_bytes())
            .await
            .expect("response");
        assert_eq!(r.status, 201);
    }
    // Delayed-ACK stalls would cost ~40 ms a request.
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}
