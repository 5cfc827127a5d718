//! httpbin-style helper routes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{get, req, Conn};
use crate::server;

#[tokio::test]
async fn hello_get_headers_and_404() {
    let s = server();
    assert!(s.base_url().starts_with("http://127.0.0.1:"));
    let r = get(s.addr(), "/").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    let r = req(
        s.addr(),
        "GET",
        "/get?a=1&a=2&b=x",
        &[("X-Test", "yes")],
        b"",
    )
    .await;
    let v = r.json();
    assert_eq!(v["args"]["a"], json!(["1", "2"]));
    assert_eq!(v["headers"]["X-Test"], "yes");
    assert!(v["url"].as_str().unwrap().ends_with("/get?a=1&a=2&b=x"));
    assert_eq!(v["origin"], "127.0.0.1");
    let r = req(
        s.addr(),
        "GET",
        "/headers",
        &[("User-Agent", "k6/1.1.0")],
        b"",
    )
    .await;
    assert_eq!(r.json()["headers"]["User-Agent"], "k6/1.1.0");
    let r = get(s.addr(), "/no/such/route").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["status"], 404);
    assert_eq!(s.stats().route("GET (unmatched)"), 1);
}

#[tokio::test]
async fn delay_sleeps_within_tolerance() {
    let s = server();
    let start = Instant::now();
    let r = req(s.addr(), "POST", "/delay/200", &[], b"x").await;
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["delay_ms"], 200);
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(450),
        "{took:?}"
    );
    assert_eq!(s.stats().route("POST /delay/{ms}"), 1);
    // A zero delay answers at once (a timerfd set to zero would never fire).
    let start = Instant::now();
    assert_eq!(get(s.addr(), "/delay/0").await.status, 200);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(get(s.addr(), "/delay/abc").await.status, 400);
    assert_eq!(get(s.addr(), "/delay/999999999").await.status, 400);
}

#[tokio::test]
async fn status_codes() {
    let s = server();
    for code in [200u16, 201, 204, 400, 418, 429, 500, 503] {
        let r = req(s.addr(), "PUT", &format!("/status/{code}"), &[], b"").await;
        assert_eq!(r.status, code);
    }
    let r = get(s.addr(), "/status/302").await;
    assert_eq!((r.status, r.header("location")), (302, Some("/get")));
    for bad in ["99", "600", "abc", "-1"] {
        assert_eq!(
            get(s.addr(), &format!("/status/{bad}")).await.status,
            400,
            "{bad}"
        );
    }
    assert_eq!(s.stats().status(418), 1);
}

#[tokio::test]
async fn bytes_lengths() {
    let s = server();
    let mut c = Conn::connect(s.addr()).await.unwrap();
    for n in [0usize, 1, 100, 65_536, 65_537, 1_000_000] {
        let r = c
            .request("GET", &format!("/bytes/{n}"), &[], b"")
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), n);
        assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    }
    let r = c
        .request("GET", &format!("/bytes/{}", 64 * 1024 * 1024 + 1), &[], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn redirect_chain_ends_at_get() {
    let s = server();
    let mut path = "/redirect/3".to_string();
    let mut hops = 0;
    loop {
        let r = get(s.addr(), &path).await;
        if r.status != 302 {
            assert_eq!(r.status, 200);
            assert!(r.json()["url"].as_str().unwrap().ends_with("/get"));
            break;
        }
        path = r.header("location").unwrap().to_string();
        hops += 1;
        assert!(hops <= 3);
    }
    assert_eq!(hops, 3);
    assert_eq!(s.stats().route("GET /redirect/{n}"), 3);
}

#[tokio::test]
async fn cookies_set_and_read() {
    let s = server();
    let r = req(
        s.addr(),
        "GET",
        "/cookies/set?flavour=choc&n=1",
        &[("Cookie", "old=x")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let set = r.headers_all("set-cookie");
    assert!(
        set.contains(&"flavour=choc; Path=/") && set.contains(&"n=1; Path=/"),
        "{set:?}"
    );
    assert_eq!(
        r.json()["cookies"],
        json!({"old": "x", "flavour": "choc", "n": "1"})
    );
    let r = req(s.addr(), "GET", "/cookies", &[("Cookie", "a=1; b=2")], b"").await;
    assert_eq!(r.json()["cookies"], json!({"a": "1", "b": "2"}));
    assert_eq!(get(s.addr(), "/cookies/set?bad=a%3Bb").await.status, 400);
}

#[tokio::test]
async fn echo_and_post_forms() {
    let s = server();
    let r = req(
        s.addr(),
        "PATCH",
        "/echo?x=1",
        &[("X-Id", "42")],
        br#"{"k":[1,2]}"#,
    )
    .await;
    let v = r.json();
    assert_eq!(v["method"], "PATCH");
    assert_eq!(v["path"], "/echo");
    assert_eq!(v["query"]["x"], "1");
    assert_eq!(v["headers"]["X-Id"], "42");
    assert_eq!(v["body"], r#"{"k":[1,2]}"#);
    assert_eq!(v["json"]["k"][1], 2);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let v = req(s.addr(), "POST", "/post", &form, b"a=1&b=two+words")
        .await
        .json();
    assert_eq!(v["form"], json!({"a": "1", "b": "two words"}));
    assert_eq!(v["json"], serde_json::Value::Null);
    let v = req(s.addr(), "POST", "/post", &[], br#"{"a":1}"#)
        .await
        .json();
    assert_eq!(v["json"]["a"], 1);
    assert_eq!(v["data"], r#"{"a":1}"#);
}
