//! Redirects with Go's rules.

use bytes::Bytes;
use http::Method;
use stampede_http::Request;

use crate::{client, echoed, echoed_header, get, run, server};

#[test]
fn follows_a_chain_of_three() {
    let srv = server::start();
    run(async {
        let res = client().request(get(srv.url("/redirect/3"))).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(&res.body[..], b"done");
        assert_eq!(res.url.path(), "/redirect/0");
        let statuses: Vec<u16> = res.hops.iter().map(|h| h.status).collect();
        assert_eq!(statuses, [302, 302, 302, 200]);
        let paths: Vec<&str> = res.hops.iter().map(|h| h.url.path()).collect();
        assert_eq!(
            paths,
            ["/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0"]
        );
        // One keep-alive connection for all hops.
        assert!(res.hops[1..].iter().all(|h| h.timings.connecting.is_zero()));
    });
    assert_eq!(srv.connections(), 1);
}

#[test]
fn max_redirects_returns_the_last_redirect() {
    let srv = server::start();
    run(async {
        let c = client();
        let mut req = get(srv.url("/redirect/3"));
        req.max_redirects = 2;
        let res = c.request(req).await;
        assert_eq!(res.status, 302);
        assert_eq!(res.error, None);
        assert_eq!(res.hops.len(), 3);
        assert_eq!(res.url.path(), "/redirect/1");

        let mut req = get(srv.url("/redirect/3"));
        req.max_redirects = 0;
        let res = c.request(req).await;
        assert_eq!(res.status, 302);
        assert_eq!(res.hops.len(), 1);
        assert_eq!(res.header("Location"), Some("/redirect/2"));
    });
}

#[test]
fn see_other_turns_post_into_get_and_temporary_keeps_it() {
    let srv = server::start();
    run(async {
        let c = client();
        let mut req = Request::new(Method::POST, srv.url("/see-other"));
        req.body = Bytes::from_static(b"payload");
        req.headers
            .push(("Content-Type".into(), "text/plain".into()));
        let res = c.request(req).await;
        assert_eq!(res.status, 200);
        let v = echoed(&res);
        assert_eq!(v["method"], "GET");
        assert_eq!(v["body"], "");
        assert_eq!(echoed_header(&v, "content-length"), None);
        assert_eq!(
            echoed_header(&v, "referer"),
            Some(srv.url("/see-other").to_string())
        );
        assert_eq!(res.hops[0].method, Method::POST);
        assert_eq!(res.hops[1].method, Method::GET);
        assert_eq!(res.hops[0].status, 303);

        let mut req = Request::new(Method::POST, srv.url("/temporary"));
        req.body = Bytes::from_static(b"payload");
        let res = c.request(req).await;
        let v = echoed(&res);
        assert_eq!(v["method"], "POST");
        assert_eq!(v["body"], "payload");
    });
}

#[test]
fn cookies_set_on_a_redirect_are_sent_on_the_next_hop() {
    let srv = server::start();
    run(async {
        let mut req = get(srv.url("/cookie-redirect"));
        req.headers.push(("Cookie".into(), "mine=1".into()));
        let res = client().request(req).await;
        assert_eq!(res.hops.len(), 2);
        // Like k6, the script's own Cookie header is only sent on the first hop.
        assert_eq!(
            echoed_header(&echoed(&res), "cookie").as_deref(),
            Some("hop=1")
        );
    });
}
