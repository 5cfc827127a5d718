//! Transport errors become k6 error codes.

use std::time::{Duration, Instant};

use crate::{client, get, run, server};

#[test]
fn timeout_is_1050_and_on_time() {
    let srv = server::start();
    run(async {
        let mut req = get(srv.url("/delay/2000"));
        req.timeout = Duration::from_millis(200);
        let t0 = Instant::now();
        let res = client().request(req).await;
        let took = t0.elapsed();
        println!("timeout returned after {took:?}");
        assert_eq!(res.status, 0);
        assert_eq!(res.error_code, 1050);
        assert_eq!(res.error.as_deref(), Some("request timeout"));
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_millis(250),
            "{took:?}"
        );
        let hop = &res.hops[0];
        assert_eq!(hop.error_code, 1050);
        // As in k6, the phase in progress (waiting) runs until the timeout.
        assert!(
            hop.timings.waiting >= Duration::from_millis(190),
            "{:?}",
            hop.timings
        );
    });
}

#[test]
fn timeout_covers_redirects() {
    let srv = server::start();
    run(async {
        // Each hop takes 60 ms: the third one is cut by a 150 ms timeout.
        let mut req = get(srv.url("/slow-redirect/4"));
        req.timeout = Duration::from_millis(150);
        let t0 = Instant::now();
        let res = client().request(req).await;
        assert!(
            t0.elapsed() < Duration::from_millis(200),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(res.error_code, 1050);
        let codes: Vec<(u16, u32)> = res.hops.iter().map(|h| (h.status, h.error_code)).collect();
        assert_eq!(codes, [(302, 0), (302, 0), (0, 1050)]);
        assert_eq!(res.url.path(), "/slow-redirect/2");
    });
}

#[test]
fn connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    run(async {
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
        let res = client().request(get(url)).await;
        assert_eq!(res.status, 0);
        assert_eq!(res.error_code, 1212);
        assert_eq!(res.error.as_deref(), Some("dial: connection refused"));
        assert_eq!(res.proto, "");
        assert_eq!(res.hops.len(), 1);
        assert_eq!(res.hops[0].status, 0);
    });
}

#[test]
fn unsupported_scheme_is_an_error_not_a_panic() {
    run(async {
        let url = url::Url::parse("ftp://127.0.0.1/").expect("url");
        let res = client().request(get(url)).await;
        assert_eq!(res.status, 0);
        assert_eq!(res.error_code, 1000);
        assert!(res
            .error
            .expect("error")
            .contains("unsupported protocol scheme"));
    });
}
