//! The dashboard's HTTP server: its page, its events, the report as it stands; nothing else.
//! A thread of its own with a current-thread tokio runtime; the output hands it each new state
//! of the report through a watch channel, which every open event stream follows.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::watch;

type Body = BoxBody<Bytes, Infallible>;

pub(crate) struct Server {
    port: u16,
    state: watch::Sender<Arc<str>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Listens on `host:port` (port 0: a free one) and serves until [`Server::stop`].
    pub(crate) fn start(host: &str, port: u16) -> std::io::Result<Server> {
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        let addr: SocketAddr = format!("{}:{port}", bracketed(host)).parse().or_else(|_| {
            use std::net::ToSocketAddrs;
            (host, port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))
        })?;
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (state, watcher) = watch::channel::<Arc<str>>(Arc::from("null"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("web-dashboard".into())
            .spawn(move || serve(listener, watcher, stopped))?;
        Ok(Server {
            port,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The report's new state, to every viewer.
    pub(crate) fn publish(&self, model_json: String) {
        self.state.send_replace(Arc::from(model_json));
    }

    /// Ends the event streams and the server.
    pub(crate) fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn serve(
    listener: std::net::TcpListener,
    state: watch::Receiver<Arc<str>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        // Streams end when this is dropped (at stop).
        let (closing, closed) = watch::channel(false);
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, closed) = (state.clone(), closed.clone());
                tokio::task::spawn_local(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (state, closed) = (state.clone(), closed.clone());
                        async move { Ok::<_, Infallible>(route(req, state, closed)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        tokio::select! {
            _ = accept => {}
            _ = stopped => {}
        }
        let _ = closing.send(true);
        // Let the streams see it and end.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    });
}

fn route(
    req: Request<hyper::body::Incoming>,
    state: watch::Receiver<Arc<str>>,
    closed: watch::Receiver<bool>,
) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    match req.uri().path() {
        "/" | "/index.html" => page(stampede_report::dashboard_html()),
        "/report" | "/report.html" => {
            let model = state.borrow().clone();
            page(stampede_report::render_report(&model))
        }
        "/events" => events(state, closed),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text)).boxed()
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(full(text.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn page(html: String) -> Response<Body> {
    let mut r = Response::new(full(html));
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Everything the page needs is in it: no other origin may be reached from it.
    h.insert(
        hyper::header::CONTENT_SECURITY_POLICY,
        hyper::header::HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'",
        ),
    );
    r
}

/// `text/event-stream`: the report's current state at once, then each new one, until the
/// dashboard stops.
fn events(state: watch::Receiver<Arc<str>>, closed: watch::Receiver<bool>) -> Response<Body> {
    let stream = futures_util::stream::unfold(
        (state, closed, true),
        |(mut state, mut closed, first)| async move {
            if !first {
                tokio::select! {
                    changed = state.changed() => changed.ok()?,
                    _ = closed.wait_for(|c| *c) => return None,
                }
            }
            if *closed.borrow() {
                return None;
            }
            let model = state.borrow_and_update().clone();
            let event = format!("data: {model}\n\n");
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from(event))),
                (state, closed, false),
            ))
        },
    );
    let mut r = Response::new(StreamBody::new(stream).boxed());
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}
