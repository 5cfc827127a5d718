//! Keep-alive reuse, `no_connection_reuse`, connections closed by the server,
//! and exact wire byte counts.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use stampede_http::{ClientConfig, HttpClient};

use crate::{client, get, run, server};

#[test]
fn keep_alive_reuses_one_connection() {
    let srv = server::start();
    run(async {
        let c = client();
        for _ in 0..10 {
            let res = c.request(get(srv.url("/echo"))).await;
            assert_eq!(res.status, 200, "{:?}", res.error);
        }
        assert_eq!(c.pooled_connections(), 1);
    });
    assert_eq!(srv.connections(), 1);
}

#[test]
fn no_connection_reuse_dials_every_time() {
    let srv = server::start();
    run(async {
        let c = HttpClient::new(Arc::new(ClientConfig {
            no_connection_reuse: true,
            ..ClientConfig::default()
        }));
        for _ in 0..10 {
            let res = c.request(get(srv.url("/echo"))).await;
            assert_eq!(res.status, 200, "{:?}", res.error);
            assert!(res.hops[0].timings.connecting > std::time::Duration::ZERO);
        }
        assert_eq!(c.pooled_connections(), 0);
    });
    assert_eq!(srv.connections(), 10);
}

#[test]
fn connection_close_is_not_reused_and_concurrent_requests_use_several() {
    let srv = server::start();
    run(async {
        let c = client();
        assert_eq!(c.request(get(srv.url("/close"))).await.status, 200);
        assert_eq!(c.pooled_connections(), 0);
        assert_eq!(c.request(get(srv.url("/echo"))).await.status, 200);
        assert_eq!(srv.connections(), 2);

        // Three requests at once (like http.batch) need three connections,
        // which all go back to the pool.
        let futs: Vec<_> = (0..3)
            .map(|_| c.request(get(srv.url("/delay/20"))))
            .collect();
        let handles: Vec<_> = futs.into_iter().map(tokio::task::spawn_local).collect();
        for h in handles {
            assert_eq!(h.await.expect("join").status, 200);
        }
        assert_eq!(c.pooled_connections(), 3);
    });
    assert_eq!(srv.connections(), 4);
}

const RAW_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// A bare server that answers each connection once and closes it without
/// saying so (like a keep-alive timeout); records bytes read per connection.
fn start_raw(
    linger_ms: u64,
    conns_max: usize,
) -> (std::net::SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let conns = Arc::new(AtomicUsize::new(0));
    let last_read = Arc::new(AtomicUsize::new(0));
    let (c2, r2) = (conns.clone(), last_read.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(conns_max) {
            let Ok(mut s) = stream else { return };
            c2.fetch_add(1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            r2.store(buf.len(), Ordering::SeqCst);
            let _ = s.write_all(RAW_RESPONSE);
            // Give the client time to pool the connection, then close it.
            std::thread::sleep(std::time::Duration::from_millis(linger_ms));
        }
    });
    (addr, conns, last_read)
}

#[test]
fn idle_connection_closed_by_server_is_replaced_and_bytes_are_exact() {
    let (addr, conns, last_read) = start_raw(30, 2);
    run(async {
        let c = client();
        let url = url::Url::parse(&format!("http://{addr}/")).expect("url");
        let res = c.request(get(url.clone())).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(&res.body[..], b"ok");
        let hop = &res.hops[0];
        assert_eq!(hop.bytes_received, RAW_RESPONSE.len() as u64);
        assert_eq!(hop.bytes_sent, last_read.load(Ordering::SeqCst) as u64);

        // The server has closed the connection by now.
        tokio::time::sleep(std::time::Duration::from_millis(80)).await;
        let res = c.request(get(url)).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert!(res.hops[0].timings.connecting > std::time::Duration::ZERO);
    });
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

#[test]
fn request_on_a_connection_closed_under_it_is_retried() {
    // The server closes right after answering: the next request usually
    // finds the pooled connection alive and fails on it, then is retried.
    let (addr, conns, _) = start_raw(2, 20);
    run(async {
        let c = client();
        let url = url::Url::parse(&format!("http://{addr}/")).expect("url");
        for i in 0..20 {
            let res = c.request(get(url.clone())).await;
            assert_eq!(res.status, 200, "request {i}: {:?}", res.error);
            assert_eq!(res.hops.len(), 1);
        }
    });
    assert_eq!(conns.load(Ordering::SeqCst), 20);
}

/// A VU boxes the request future once per request: keep it small. Resolving and connecting
/// (rare: once per connection) are boxed separately so their state does not inflate it.
#[test]
fn request_future_stays_small() {
    let c = crate::client();
    let url: url::Url = "http://127.0.0.1:9/".parse().unwrap();
    let fut = c.request(crate::get(url));
    let size = std::mem::size_of_val(&fut);
    assert!(
        size <= 4096,
        "the request future is {size} bytes (it was 9 KiB with connecting inline)"
    );
}
