//! HTTPS with a local CA: insecure mode, trusted roots (explicit and via
//! `SSL_CERT_FILE`), unknown authority, and HTTP/2 by ALPN.

use std::sync::Arc;
use std::time::Duration;

use stampede_http::{tls, ClientConfig, HttpClient};

use crate::{get, run, server};

fn client_with(tls: Arc<rustls::ClientConfig>) -> HttpClient {
    HttpClient::new(Arc::new(ClientConfig {
        tls: Some(tls),
        ..ClientConfig::default()
    }))
}

fn write_ca(cert: &server::TestCert) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("tempfile");
    std::io::Write::write_all(&mut f, cert.ca_pem.as_bytes()).expect("write");
    f
}

#[test]
fn insecure_skip_verify_over_http1() {
    let cert = server::make_cert();
    let srv = server::start_tls(&cert, &[b"http/1.1"]);
    run(async {
        let c = HttpClient::new(Arc::new(ClientConfig {
            insecure_skip_tls_verify: true,
            ..ClientConfig::default()
        }));
        let first = c.request(get(srv.https_url("/echo"))).await;
        assert_eq!(first.status, 200, "{:?}", first.error);
        assert_eq!(first.proto, "HTTP/1.1");
        assert_eq!(first.tls_version, "tls1.3");
        assert!(
            first.tls_cipher_suite.starts_with("TLS_"),
            "{}",
            first.tls_cipher_suite
        );
        let t = first.hops[0].timings;
        assert!(t.tls_handshaking > Duration::ZERO && t.connecting > Duration::ZERO);
        // The handshake's bytes count too.
        assert!(first.hops[0].bytes_received > 500, "{:?}", first.hops[0]);

        let second = c.request(get(srv.https_url("/delay/50"))).await;
        assert_eq!(second.status, 200);
        let t = second.hops[0].timings;
        assert_eq!(t.tls_handshaking, Duration::ZERO);
        assert_eq!(t.connecting, Duration::ZERO);
        assert!((50..56).contains(&t.waiting.as_millis()), "{t:?}");
    });
    assert_eq!(srv.connections(), 1);
}

#[test]
fn trusted_root_verifies_ip_and_name() {
    let cert = server::make_cert();
    let srv = server::start_tls(&cert, &[b"h2", b"http/1.1"]);
    let ca = write_ca(&cert);
    let roots = tls::load_pem_roots(ca.path()).expect("roots");
    let config = tls::build_tls_with_roots(Arc::new(roots), false).expect("tls");
    run(async {
        let c = client_with(config);
        let res = c.request(get(srv.https_url("/echo"))).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        let url =
            url::Url::parse(&format!("https://localhost:{}/echo", srv.addr.port())).expect("url");
        let res = c.request(get(url)).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
    });
}

#[test]
fn unknown_authority_is_1310() {
    let cert = server::make_cert();
    let srv = server::start_tls(&cert, &[b"http/1.1"]);
    let config =
        tls::build_tls_with_roots(Arc::new(rustls::RootCertStore::empty()), false).expect("tls");
    run(async {
        let res = client_with(config)
            .request(get(srv.https_url("/echo")))
            .await;
        assert_eq!(res.status, 0);
        assert_eq!(res.error_code, 1310, "{:?}", res.error);
        assert_eq!(
            res.error.as_deref(),
            Some(
                "tls: failed to verify certificate: x509: certificate signed by unknown authority"
            )
        );
    });
}

/// Runs in a child process (see below) so that `SSL_CERT_FILE` is never
/// changed in this process.
#[test]
#[ignore = "run by ssl_cert_file_is_honoured in a child process"]
fn child_ssl_cert_file() {
    let Ok(target) = std::env::var("STAMPEDE_TEST_URL") else {
        return;
    };
    let config = tls::build_tls(false).expect("roots from SSL_CERT_FILE");
    run(async {
        let res = client_with(config)
            .request(get(url::Url::parse(&target).expect("url")))
            .await;
        assert_eq!(res.status, 200, "{:?}", res.error);
    });
}

#[test]
fn ssl_cert_file_is_honoured() {
    let cert = server::make_cert();
    let srv = server::start_tls(&cert, &[b"http/1.1"]);
    let ca = write_ca(&cert);
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "tls::child_ssl_cert_file",
            "--ignored",
            "--quiet",
        ])
        .env("SSL_CERT_FILE", ca.path())
        .env_remove("SSL_CERT_DIR")
        .env("STAMPEDE_TEST_URL", srv.https_url("/echo").as_str())
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A bad file is a configuration error, not a silent fallback.
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "tls::child_bad_ssl_cert_file",
            "--ignored",
            "--quiet",
        ])
        .env("SSL_CERT_FILE", "/nonexistent/stampede-ca.pem")
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "run by ssl_cert_file_is_honoured in a child process"]
fn child_bad_ssl_cert_file() {
    if std::env::var_os("SSL_CERT_FILE").is_none() {
        return;
    }
    let err = tls::build_tls(false).expect_err("must fail");
    assert!(err.to_string().contains("stampede-ca.pem"), "{err}");
}

#[test]
fn http2_by_alpn_multiplexes_one_connection() {
    let cert = server::make_cert();
    let srv = server::start_tls(&cert, &[b"h2", b"http/1.1"]);
    let ca = write_ca(&cert);
    let roots = tls::load_pem_roots(ca.path()).expect("roots");
    let config = tls::build_tls_with_roots(Arc::new(roots), false).expect("tls");
    run(async {
        let c = client_with(config);
        let res = c.request(get(srv.https_url("/echo"))).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(res.proto, "HTTP/2.0");
        assert_eq!(res.status_text, "200 OK");
        let v = crate::echoed(&res);
        assert_eq!(crate::echoed_header(&v, "host"), None);
        assert!(res.hops[0].bytes_sent > 0 && res.hops[0].bytes_received > 0);

        let handles: Vec<_> = (0..5)
            .map(|_| tokio::task::spawn_local(c.request(get(srv.https_url("/delay/50")))))
            .collect();
        for h in handles {
            let res = h.await.expect("join");
            assert_eq!(res.status, 200, "{:?}", res.error);
            assert_eq!(res.proto, "HTTP/2.0");
            let t = res.hops[0].timings;
            assert_eq!(t.connecting, Duration::ZERO);
            assert!((50..80).contains(&t.waiting.as_millis()), "{t:?}");
        }
        let mut waits = Vec::new();
        for _ in 0..3 {
            let res = c.request(get(srv.https_url("/delay/50"))).await;
            let t = res.hops[0].timings;
            println!(
                "h2 delay/50: sending={:?} waiting={:?} receiving={:?} duration={:?}",
                t.sending, t.waiting, t.receiving, t.duration
            );
            waits.push(t.waiting);
        }
        waits.sort();
        assert!((50..=54).contains(&waits[1].as_millis()), "{waits:?}");

        // A timed-out stream is reset; the shared connection stays usable.
        let mut req = get(srv.https_url("/delay/2000"));
        req.timeout = Duration::from_millis(100);
        let res = c.request(req).await;
        assert_eq!(res.error_code, 1050);
        let res = c.request(get(srv.https_url("/echo"))).await;
        assert_eq!(res.status, 200, "{:?}", res.error);
        assert_eq!(c.pooled_connections(), 1);
    });
    assert_eq!(srv.connections(), 1);
}
