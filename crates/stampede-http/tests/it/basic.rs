//! Requests, bodies, headers, status codes, cookies.

use bytes::Bytes;
use http::Method;
use stampede_http::{CookieOptions, Request, DEFAULT_USER_AGENT};

use crate::{client, echoed, echoed_header, get, run, server};

#[test]
fn get_echoes_with_default_headers() {
    let srv = server::start();
    run(async {
        let c = client();
        let mut req = get(srv.url("/echo?a=1"));
        req.headers.push(("x-custom".into(), "v1".into()));
        let res = c.request(req).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(res.status_text, "200 OK");
        assert_eq!(res.proto, "HTTP/1.1");
        assert_eq!(res.error, None);
        assert_eq!(res.error_code, 0);
        assert_eq!(res.remote_ip, Some([127, 0, 0, 1].into()));
        assert_eq!(res.remote_port, srv.addr.port());
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert!(res.headers.iter().any(|(n, _)| n == "Content-Type"));
        let v = echoed(&res);
        assert_eq!(v["method"], "GET");
        assert_eq!(v["uri"], "/echo?a=1");
        assert_eq!(echoed_header(&v, "x-custom").as_deref(), Some("v1"));
        assert_eq!(
            echoed_header(&v, "user-agent").as_deref(),
            Some(DEFAULT_USER_AGENT)
        );
        assert_eq!(echoed_header(&v, "host"), Some(srv.addr.to_string()));
        assert_eq!(echoed_header(&v, "content-length"), None);
        assert_eq!(res.hops.len(), 1);
        let hop = &res.hops[0];
        assert_eq!(hop.status, 200);
        assert!(hop.bytes_sent > 50 && hop.bytes_received > 100, "{hop:?}");
    });
}

#[test]
fn post_sends_body_and_headers_in_order() {
    let srv = server::start();
    run(async {
        let c = client();
        let mut req = Request::new(Method::POST, srv.url("/echo"));
        req.body = Bytes::from_static(b"{\"k\":1}");
        req.headers = vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-B".into(), "2".into()),
            ("X-A".into(), "1".into()),
            ("X-A".into(), "3".into()),
            ("User-Agent".into(), "mine".into()),
        ];
        let res = c.request(req).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        let v = echoed(&res);
        assert_eq!(v["method"], "POST");
        assert_eq!(v["body"], "{\"k\":1}");
        assert_eq!(echoed_header(&v, "content-length").as_deref(), Some("7"));
        assert_eq!(echoed_header(&v, "user-agent").as_deref(), Some("mine"));
        let names: Vec<&str> = v["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|p| p[0].as_str().expect("name"))
            .collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
        assert!(pos("x-b") < pos("x-a"), "{names:?}");
        let xa: Vec<_> = v["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .filter(|p| p[0] == "x-a")
            .map(|p| p[1].as_str().expect("value").to_string())
            .collect();
        assert_eq!(xa, ["1", "3"]);

        // POST without a body still sends Content-Length: 0, like Go.
        let res = c
            .request(Request::new(Method::POST, srv.url("/echo")))
            .await;
        assert_eq!(
            echoed_header(&echoed(&res), "content-length").as_deref(),
            Some("0")
        );
    });
}

#[test]
fn status_codes_and_error_codes() {
    let srv = server::start();
    run(async {
        let c = client();
        for (code, text) in [
            (201, "201 Created"),
            (404, "404 Not Found"),
            (503, "503 Service Unavailable"),
        ] {
            let res = c.request(get(srv.url(&format!("/status/{code}")))).await;
            assert_eq!(res.status, code);
            assert_eq!(res.status_text, text);
            assert_eq!(res.error, None);
            let want = if code >= 400 {
                1000 + u32::from(code)
            } else {
                0
            };
            assert_eq!(res.error_code, want);
            assert_eq!(res.hops[0].error_code, want);
        }
    });
}

#[test]
fn response_headers_are_canonical_and_joined() {
    let srv = server::start();
    run(async {
        let res = client().request(get(srv.url("/headers"))).await;
        assert_eq!(res.header("X-Multi"), Some("a, b"));
        assert!(res
            .headers
            .iter()
            .any(|(n, v)| n == "X-Lower-Case" && v == "c"));
    });
}

#[test]
fn gzip_body_is_decompressed_and_discard_keeps_nothing() {
    let srv = server::start();
    run(async {
        let c = client();
        let res = c.request(get(srv.url("/gzip"))).await;
        assert_eq!(&res.body[..], b"compressed hello");

        let mut req = get(srv.url("/bytes/100000"));
        req.discard_body = true;
        let res = c.request(req).await;
        assert_eq!(res.status, 200);
        assert!(res.body.is_empty());
        assert!(res.hops[0].bytes_received > 100_000);
    });
}

#[test]
fn cookies_from_server_are_sent_back_and_jar_api_works() {
    let srv = server::start();
    run(async {
        let c = client();
        let res = c
            .request(get(srv.url("/set-cookie?session=abc&theme=dark")))
            .await;
        assert_eq!(res.status, 200);
        assert_eq!(res.set_cookies.len(), 2);
        let parsed = stampede_http::parse_set_cookie(&res.set_cookies[0]).expect("cookie");
        assert_eq!(
            (parsed.name.as_str(), parsed.value.as_str()),
            ("session", "abc")
        );

        let mut req = get(srv.url("/echo"));
        req.cookies.push(("extra".into(), "1".into()));
        let v = echoed(&c.request(req).await);
        assert_eq!(
            echoed_header(&v, "cookie").as_deref(),
            Some("extra=1; session=abc; theme=dark")
        );

        let jar = c.cookie_jar();
        let url = srv.url("/");
        let got = jar.cookies_for_url(&url);
        assert_eq!(got.len(), 2, "{got:?}");
        jar.set(&url, "manual", "m", &CookieOptions::default());
        jar.delete(&url, "theme");
        let v = echoed(&c.request(get(srv.url("/echo"))).await);
        assert_eq!(
            echoed_header(&v, "cookie").as_deref(),
            Some("session=abc; manual=m")
        );

        // Replacing a jar cookie with a per-request one.
        let mut req = get(srv.url("/echo"));
        req.cookies.push(("session".into(), "override".into()));
        req.replace_jar_cookies.push("session".into());
        let v = echoed(&c.request(req).await);
        assert_eq!(
            echoed_header(&v, "cookie").as_deref(),
            Some("session=override; manual=m")
        );

        // Without the jar nothing is sent.
        let mut req = get(srv.url("/echo"));
        req.use_jar = false;
        assert_eq!(
            echoed_header(&echoed(&c.request(req).await), "cookie"),
            None
        );

        c.clear();
        assert!(jar.cookies_for_url(&url).is_empty());
        assert_eq!(c.pooled_connections(), 0);
        let v = echoed(&c.request(get(srv.url("/echo"))).await);
        assert_eq!(echoed_header(&v, "cookie"), None);
    });
}

#[test]
fn localhost_is_resolved() {
    let srv = server::start();
    run(async {
        let url =
            url::Url::parse(&format!("http://localhost:{}/echo", srv.addr.port())).expect("url");
        let res = client().request(get(url)).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(res.remote_ip, Some([127, 0, 0, 1].into()));
        assert_eq!(
            echoed_header(&echoed(&res), "host"),
            Some(format!("localhost:{}", srv.addr.port()))
        );
    });
}
