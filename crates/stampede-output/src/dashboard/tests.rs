use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{server::Server, Config};
use crate::testing::params;

#[test]
fn configuration_as_k6_reads_it_but_on_loopback() {
    let c = Config::from(&params(None, &[])).unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.period),
        ("127.0.0.1", Some(5665), Duration::from_secs(10))
    );
    let c = Config::from(&params(
        Some("port=-1&export=r.html"),
        &[
            ("K6_WEB_DASHBOARD_PERIOD", "2s"),
            ("K6_WEB_DASHBOARD_PORT", "7000"),
        ],
    ))
    .unwrap();
    assert_eq!(c.port, None, "the argument wins");
    assert_eq!(c.period, Duration::from_secs(2));
    assert_eq!(c.export.as_deref(), Some(std::path::Path::new("r.html")));
    for (arg, why) in [
        ("port=70000", "is not a port"),
        ("period=0s", "more than 0"),
        ("open=maybe", "not true or false"),
        ("colour=red", "unknown parameter"),
    ] {
        let e = Config::from(&params(Some(arg), &[]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(why), "{arg}: {e}");
    }
}

/// A request on loopback; the status line and what follows the headers.
fn request(port: u16, line: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "{line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text.lines().next().unwrap_or("").to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serves_its_page_and_events_and_nothing_else() {
    let server = Server::start("127.0.0.1", 0).unwrap();
    let port = server.port();
    server.publish(r#"{"version":1,"meta":{"live":true}}"#.into());
    let (status, body) = request(port, "GET /");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("<html"), "{body}");
    for path in [
        "/../etc/passwd",
        "/assets/x.js",
        "/favicon.ico",
        "/events/../",
    ] {
        let (status, _) = request(port, &format!("GET {path}"));
        assert!(status.contains("404"), "{path}: {status}");
    }
    assert!(request(port, "POST /").0.contains("405"));

    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("data: {\"version\":1,\"meta\":{\"live\":true}}") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    server.publish(r#"{"version":1,"meta":{"live":false}}"#.into());
    while !seen.contains("\"live\":false") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    server.stop();
}
