//! A local test server on 127.0.0.1:0, run on its own thread and runtime, that
//! counts accepted connections. Plain HTTP (h1, h2c) or TLS with ALPN.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{}", self.addr, path)).expect("url")
    }

    pub fn https_url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("https://{}{}", self.addr, path)).expect("url")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A test CA and a server certificate for `localhost` and `127.0.0.1`.
pub struct TestCert {
    pub ca_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
}

pub fn make_cert() -> TestCert {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "stampede test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    TestCert {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key_der: leaf_key.serialize_der(),
    }
}

/// Starts a plain HTTP server (HTTP/1.1, and h2c by prior knowledge).
pub fn start() -> TestServer {
    spawn(None)
}

/// Starts an HTTPS server offering the given ALPN protocols.
pub fn start_tls(cert: &TestCert, alpn: &[&[u8]]) -> TestServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            cert.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone())),
        )
        .expect("server cert");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    spawn(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

fn spawn(tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let counter = connections.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
            let app = router();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let _ = tcp.set_nodelay(true);
                        counter.fetch_add(1, Ordering::SeqCst);
                        let svc = TowerToHyperService::new(app.clone());
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            let builder = auto::Builder::new(TokioExecutor::new());
                            match tls {
                                Some(acceptor) => {
                                    if let Ok(stream) = acceptor.accept(tcp).await {
                                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                                    }
                                }
                                None => {
                                    let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                                }
                            }
                        });
                    }
                }
            }
        });
    });
    TestServer {
        addr,
        connections,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

fn router() -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/status/{code}", any(status))
        .route("/delay/{ms}", any(delay))
        .route("/redirect/{n}", any(redirect_chain))
        .route("/slow-redirect/{n}", any(slow_redirect))
        .route(
            "/see-other",
            any(|| async { redirect(StatusCode::SEE_OTHER, "/echo") }),
        )
        .route(
            "/temporary",
            any(|| async { redirect(StatusCode::TEMPORARY_REDIRECT, "/echo") }),
        )
        .route("/set-cookie", get(set_cookie))
        .route("/cookie-redirect", get(cookie_redirect))
        .route("/headers", get(headers))
        .route("/gzip", get(gzip))
        .route(
            "/close",
            get(|| async { ([("connection", "close")], "bye") }),
        )
        .route("/stream", get(stream))
        .route(
            "/bytes/{n}",
            get(|Path(n): Path<usize>| async move { vec![b'x'; n] }),
        )
}

/// Echoes the request as JSON: method, uri, headers (in order), body.
async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let hs: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let json = serde_json::json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "headers": hs,
        "body": String::from_utf8_lossy(&body),
    });
    ([("content-type", "application/json")], json.to_string())
}

async fn status(Path(code): Path<u16>) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (code, "status").into_response()
}

async fn delay(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "delayed"
}

fn redirect(code: StatusCode, to: &str) -> Response {
    (code, [("location", to.to_string())], "").into_response()
}

async fn redirect_chain(Path(n): Path<u32>) -> Response {
    if n == 0 {
        "done".into_response()
    } else {
        redirect(StatusCode::FOUND, &format!("/redirect/{}", n - 1))
    }
}

/// Sleeps 60 ms, then redirects to `n - 1` (200 at 0).
async fn slow_redirect(Path(n): Path<u32>) -> Response {
    tokio::time::sleep(Duration::from_millis(60)).await;
    if n == 0 {
        "done".into_response()
    } else {
        redirect(StatusCode::FOUND, &format!("/slow-redirect/{}", n - 1))
    }
}

async fn set_cookie(Query(q): Query<Vec<(String, String)>>) -> Response {
    let mut r = "cookies set".into_response();
    for (n, v) in q {
        r.headers_mut().append(
            "set-cookie",
            format!("{n}={v}; Path=/").parse().expect("header"),
        );
    }
    r
}

async fn cookie_redirect() -> Response {
    let mut r = redirect(StatusCode::FOUND, "/echo");
    r.headers_mut()
        .append("set-cookie", "hop=1; Path=/".parse().expect("header"));
    r
}

async fn headers() -> Response {
    let mut r = "h".into_response();
    let h = r.headers_mut();
    h.append("x-multi", "a".parse().expect("header"));
    h.append("x-multi", "b".parse().expect("header"));
    h.append("x-lower-case", "c".parse().expect("header"));
    r
}

async fn gzip() -> Response {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"compressed hello").expect("gzip");
    let body = enc.finish().expect("gzip");
    ([("content-encoding", "gzip")], body).into_response()
}

/// 500 KiB in 10 chunks of 50 KiB, 20 ms apart (the first immediately).
async fn stream() -> Response {
    Response::new(Body::new(SlowBody {
        left: 10,
        sleep: None,
    }))
}

struct SlowBody {
    left: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for SlowBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        if let Some(s) = self.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.left -= 1;
        self.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_millis(20))));
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'y';
            50 * 1024
        ])))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left as u64 * 50 * 1024)
    }
}
