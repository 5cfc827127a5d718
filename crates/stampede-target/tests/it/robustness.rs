//! Malformed input: every answer is a 4xx and the server stays up.

use std::time::Duration;

use serde_json::json;
use stampede_target::fixtures;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{get, get_auth, post_auth, req, Conn};
use crate::{server, server_with};

#[tokio::test]
async fn bad_bodies_get_400_and_missing_tokens_401() {
    let s = server();
    let a = s.addr();
    let auth = format!("Bearer {}", fixtures::USER_TOKEN);
    let with_token = [("Authorization", auth.as_str())];
    for path in [
        "/auth/signup",
        "/auth/login",
        "/api/orders",
        "/api/bulk/import",
        "/jobs",
        "/messages/send",
    ] {
        for body in [&b"{oops"[..], b"", b"\xff\xfe", b"42", b"[1,2"] {
            let r = req(a, "POST", path, &with_token, body).await;
            assert_eq!(r.status, 400, "{path} {body:?}: {}", r.text());
            assert!(r.json()["error"].is_string());
        }
    }
    for (method, path) in [
        ("POST", "/jobs"),
        ("GET", "/jobs/mine"),
        ("GET", "/auth/me"),
        ("POST", "/messages/send"),
        ("GET", "/messages/conversations"),
        ("GET", "/analytics/summary"),
    ] {
        assert_eq!(
            req(a, method, path, &[], b"{}").await.status,
            401,
            "{method} {path}"
        );
    }
    assert_eq!(get_auth(a, "/jobs/mine", "garbage-token").await.status, 401);
    assert_eq!(req(a, "GET", "/auth/login", &[], b"").await.status, 405);
    assert_eq!(
        get_auth(a, "/jobs/abc", fixtures::USER_TOKEN).await.status,
        404
    );
    let r = post_auth(
        a,
        "/jobs/1/quotes/zz/accept",
        fixtures::USER_TOKEN,
        &json!({}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(get(a, "/health").await.status, 200);
}

#[tokio::test]
async fn huge_bodies_get_413() {
    let s = server_with(|c| c.max_body_bytes = 1024 * 1024);
    let a = s.addr();
    // Declared too large: refused before the body is read.
    let mut c = Conn::connect(a).await.unwrap();
    c.send_raw(
        b"POST /api/bulk/import HTTP/1.1\r\nHost: x\r\nContent-Length: 11534336\r\n\r\n[1,2,3",
    )
    .await
    .unwrap();
    let r = c.read_response(false).await.unwrap();
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].is_string());

    // Chunked, with no length announced: refused once the limit is crossed.
    let stream = TcpStream::connect(a).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let _ = wr.write_all(head).await;
        let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
        for _ in 0..40 {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), rd.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    drop(rd);
    let _ = writer.await;

    // Just under the limit is fine.
    let body = format!("[{}0]", "0,".repeat(400_000));
    let r = req(a, "POST", "/api/bulk/import", &[], body.as_bytes()).await;
    assert_eq!(
        (r.status, r.json()["imported"].as_u64()),
        (200, Some(400_001))
    );
    assert_eq!(get(a, "/health").await.status, 200);
}

#[tokio::test]
async fn garbage_on_the_socket_is_refused_and_the_server_lives() {
    let s = server();
    let a = s.addr();
    let payloads: [&[u8]; 6] = [
        b"\x00\x01\x02GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\r\n\r\n",
        b"POST /post HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nnot really h2",
    ];
    for p in payloads {
        let mut stream = TcpStream::connect(a).await.unwrap();
        stream.write_all(p).await.unwrap();
        let mut out = Vec::new();
        // Either a 4xx answer and close, or just a close.
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "server kept a garbage connection open: {p:?}");
        let text = String::from_utf8_lossy(&out);
        assert!(
            out.is_empty() || text.starts_with("HTTP/1.1 4") || !text.starts_with("HTTP/1.1 2"),
            "{p:?} -> {text}"
        );
    }
    // Half a request, then hang up.
    let mut stream = TcpStream::connect(a).await.unwrap();
    stream
        .write_all(b"POST /post HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        .await
        .unwrap();
    drop(stream);
    assert_eq!(get(a, "/health").await.status, 200);
    assert_eq!(get(a, "/").await.text(), "hello");
}
