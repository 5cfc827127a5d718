//! `k6/ws`: WebSocket sessions driven from the VU's event loop in `k6_ws.js`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rquickjs::{Array, ArrayBuffer, Ctx, Function, Object, Result, Value};
use stampede_core::SystemTag;
use stampede_metrics::{builtin, MetricType};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::metrics::tags_of;
use super::{bytes_of, interrupted, throw};
use crate::vu::VuState;

trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

type Ws = WebSocketStream<Box<dyn Io>>;

struct Conn {
    /// Taken while a future owns it.
    stream: Option<Ws>,
    started: Instant,
    tags: Vec<(String, String)>,
    ping_sent: Option<Instant>,
    failed: bool,
    /// We sent a close frame: a peer that then drops the connection is closing, not failing.
    close_sent: bool,
}

type Conns = Rc<RefCell<Vec<Option<Conn>>>>;

/// The metric tags of connection `id` (empty once it is gone).
fn conn_tags(conns: &Conns, id: usize) -> Vec<(String, String)> {
    conns
        .borrow()
        .get(id)
        .and_then(|x| x.as_ref())
        .map(|x| x.tags.clone())
        .unwrap_or_default()
}

/// Why a connection did not open, as k6 tells it.
enum OpenError {
    /// The server answered the upgrade with another status: k6 hands that response to the
    /// script (status, headers, body) with no error, or throws `websocket: bad handshake`.
    Handshake {
        status: u16,
        headers: String,
        body: String,
    },
    /// Anything else (dial, TLS): Go's text.
    Other(String),
}

/// The response headers as `Name: value` lines, names Go-canonical.
fn header_block(headers: &http::HeaderMap) -> String {
    let mut block = String::new();
    for (k, v) in headers {
        if !block.is_empty() {
            block.push('\n');
        }
        block.push_str(&stampede_http::canonical_name(k.as_str()));
        block.push_str(": ");
        block.push_str(v.to_str().unwrap_or(""));
    }
    block
}

async fn dial(host: &str, port: u16) -> std::result::Result<tokio::net::TcpStream, String> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("dial tcp: lookup {host}: {e}"))?;
    let mut last = format!("dial tcp: lookup {host}: no such host");
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = stampede_http::go_dial_error(addr, &e),
        }
    }
    Err(last)
}

async fn open(
    url: url::Url,
    headers: Vec<(String, String)>,
    insecure: bool,
) -> std::result::Result<(Ws, u16, String), OpenError> {
    let other = |e: String| OpenError::Other(e);
    let host = url
        .host_str()
        .ok_or_else(|| other("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| other("the URL has no port".into()))?;
    let tcp = dial(&host, port).await.map_err(other)?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if url.scheme() == "wss" {
        let tls = stampede_http::tls::shared_tls(insecure).map_err(|e| other(e.to_string()))?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| other(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| other(format!("tls: {e}")))?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| other(e.to_string()))?;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            req.headers_mut().append(k, v);
        }
    }
    let (ws, resp) = tokio_tungstenite::client_async(req, io)
        .await
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(resp) => OpenError::Handshake {
                status: resp.status().as_u16(),
                headers: header_block(resp.headers()),
                body: resp
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            },
            e => other(e.to_string()),
        })?;
    Ok((ws, resp.status().as_u16(), header_block(resp.headers())))
}

fn emit(
    s: &VuState,
    metric: stampede_metrics::MetricId,
    kind: MetricType,
    value: f64,
    tags: &[(String, String)],
) {
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.emit(metric, kind, value, &pairs);
}

/// Runs `f` on the connection's stream inside the VU's event loop and puts the stream back.
fn with_stream<'js, T: 'static, F, Fut>(
    ctx: &Ctx<'js>,
    s: &VuState,
    conns: &Conns,
    id: usize,
    f: F,
) -> Result<T>
where
    F: FnOnce(Ws) -> Fut + 'static,
    Fut: std::future::Future<Output = (Ws, T)> + 'static,
{
    let stream = conns
        .borrow_mut()
        .get_mut(id)
        .and_then(|c| c.as_mut())
        .and_then(|c| c.stream.take())
        .ok_or_else(|| throw(ctx, "the WebSocket is closed"))?;
    let (stream, out) = s
        .block_on(move || f(stream))
        .map_err(|_| interrupted(ctx))?;
    if let Some(Some(c)) = conns.borrow_mut().get_mut(id) {
        c.stream = Some(stream);
    }
    Ok(out)
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, state: &Rc<VuState>) -> Result<()> {
    let conns: Conns = Rc::new(RefCell::new(Vec::new()));
    let (s, c) = (state.clone(), conns.clone());
    n.set(
        "wsConnect",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  u: String,
                  headers: Vec<Vec<String>>,
                  tags: Option<Object<'js>>|
                  -> Result<Array<'js>> {
                if s.in_init.get() {
                    return Err(throw(
                        &ctx,
                        "making WebSocket connections in the init context is not supported",
                    ));
                }
                let url = url::Url::parse(&u)
                    .map_err(|e| throw(&ctx, format!("invalid URL {u:?}: {e}")))?;
                if url.scheme() != "ws" && url.scheme() != "wss" {
                    return Err(throw(
                        &ctx,
                        format!("invalid WebSocket URL {u:?}: the scheme must be ws or wss"),
                    ));
                }
                let headers = headers
                    .into_iter()
                    .filter(|h| h.len() == 2)
                    .map(|mut h| (std::mem::take(&mut h[0]), std::mem::take(&mut h[1])))
                    .collect();
                let started = Instant::now();
                let insecure = s.worker.test.http.insecure_skip_tls_verify;
                let result = s
                    .block_on(move || open(url, headers, insecure))
                    .map_err(|_| interrupted(&ctx))?;
                let connecting = started.elapsed().as_secs_f64() * 1000.0;
                let out = Array::new(ctx.clone())?;
                let sys = s.worker.test.settings.system_tags;
                let mut tags_v = tags_of(tags);
                if sys.has(SystemTag::Url) {
                    tags_v.push(("url".into(), u.clone()));
                }
                match result {
                    Ok((ws, status, header_block)) => {
                        if sys.has(SystemTag::Status) {
                            tags_v.push(("status".into(), status.to_string()));
                        }
                        emit(&s, builtin::WS_SESSIONS, MetricType::Counter, 1.0, &tags_v);
                        emit(
                            &s,
                            builtin::WS_CONNECTING,
                            MetricType::Trend,
                            connecting,
                            &tags_v,
                        );
                        let mut list = c.borrow_mut();
                        let id = list.iter().position(Option::is_none).unwrap_or(list.len());
                        let conn = Conn {
                            stream: Some(ws),
                            started,
                            tags: tags_v,
                            ping_sent: None,
                            failed: false,
                            close_sent: false,
                        };
                        if id == list.len() {
                            list.push(Some(conn));
                        } else {
                            list[id] = Some(conn);
                        }
                        out.set(0, id as i32)?;
                        out.set(1, status)?;
                        out.set(2, "")?;
                        out.set(3, header_block)?;
                    }
                    Err(e) => {
                        // As k6: a failed handshake is a session too, with its connecting
                        // time and duration; the script gets the response (or the error),
                        // and an exception only under the `throw` option.
                        let (status, error, headers, body) = match e {
                            OpenError::Handshake {
                                status,
                                headers,
                                body,
                            } => (status, None, headers, body),
                            OpenError::Other(e) => (0, Some(e), String::new(), String::new()),
                        };
                        if sys.has(SystemTag::Status) {
                            tags_v.push(("status".into(), status.to_string()));
                        }
                        emit(&s, builtin::WS_SESSIONS, MetricType::Counter, 1.0, &tags_v);
                        emit(
                            &s,
                            builtin::WS_CONNECTING,
                            MetricType::Trend,
                            connecting,
                            &tags_v,
                        );
                        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                        emit(
                            &s,
                            builtin::WS_SESSION_DURATION,
                            MetricType::Trend,
                            elapsed,
                            &tags_v,
                        );
                        if s.worker.test.settings.throw {
                            let msg = error.as_deref().unwrap_or("websocket: bad handshake");
                            return Err(super::http::go_exception(&ctx, msg));
                        }
                        out.set(0, -1)?;
                        out.set(1, status)?;
                        out.set(2, error.unwrap_or_default())?;
                        out.set(3, headers)?;
                        out.set(4, "")?;
                        out.set(5, body)?;
                        return Ok(out);
                    }
                }
                out.set(4, u)?;
                out.set(5, "")?;
                Ok(out)
            },
        )?,
    )?;

    let (s, c) = (state.clone(), conns.clone());
    n.set(
        "wsNext",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: usize, timeout_ms: f64| -> Result<Array<'js>> {
                let out = Array::new(ctx.clone())?;
                let failed = c
                    .borrow()
                    .get(id)
                    .and_then(|x| x.as_ref())
                    .map(|x| x.failed)
                    .unwrap_or(true);
                if failed {
                    out.set(0, "close")?;
                    out.set(1, 1006)?;
                    return Ok(out);
                }
                let timeout =
                    (timeout_ms >= 0.0).then(|| Duration::from_secs_f64(timeout_ms / 1000.0));
                let next = with_stream(&ctx, &s, &c, id, move |mut ws| async move {
                    let r = match timeout {
                        Some(t) => tokio::time::timeout(t, ws.next()).await.ok(),
                        None => Some(ws.next().await),
                    };
                    // Pongs to the server's pings go out on the next flush.
                    let _ = ws.flush().await;
                    (ws, r)
                })?;
                let tags = conn_tags(&c, id);
                match next {
                    None => out.set(0, "timer")?,
                    Some(Some(Ok(msg))) => match msg {
                        Message::Text(t) => {
                            emit(
                                &s,
                                builtin::WS_MSGS_RECEIVED,
                                MetricType::Counter,
                                1.0,
                                &tags,
                            );
                            out.set(0, "message")?;
                            out.set(1, t.as_str())?;
                        }
                        Message::Binary(b) => {
                            emit(
                                &s,
                                builtin::WS_MSGS_RECEIVED,
                                MetricType::Counter,
                                1.0,
                                &tags,
                            );
                            out.set(0, "binaryMessage")?;
                            out.set(1, ArrayBuffer::new(ctx.clone(), b.to_vec())?)?;
                        }
                        Message::Ping(_) => out.set(0, "ping")?,
                        Message::Pong(_) => {
                            let sent = c
                                .borrow_mut()
                                .get_mut(id)
                                .and_then(|x| x.as_mut())
                                .and_then(|x| x.ping_sent.take());
                            if let Some(sent) = sent {
                                emit(
                                    &s,
                                    builtin::WS_PING,
                                    MetricType::Trend,
                                    sent.elapsed().as_secs_f64() * 1000.0,
                                    &tags,
                                );
                            }
                            out.set(0, "pong")?;
                        }
                        Message::Close(frame) => {
                            out.set(0, "close")?;
                            out.set(1, frame.map(|f| u16::from(f.code)).unwrap_or(1005))?;
                        }
                        Message::Frame(_) => out.set(0, "timer")?,
                    },
                    Some(None) => {
                        out.set(0, "close")?;
                        out.set(1, 1006)?;
                    }
                    Some(Some(Err(e))) => {
                        let closing = match c.borrow_mut().get_mut(id) {
                            Some(Some(conn)) => {
                                conn.failed = true;
                                conn.close_sent
                            }
                            _ => false,
                        };
                        if closing {
                            out.set(0, "close")?;
                            out.set(1, 1000)?;
                        } else {
                            out.set(0, "error")?;
                            out.set(1, e.to_string())?;
                        }
                    }
                }
                Ok(out)
            },
        )?,
    )?;

    let (s, c) = (state.clone(), conns.clone());
    n.set(
        "wsSend",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: usize, data: Value<'js>, binary: bool| -> Result<()> {
                let msg = if binary {
                    Message::Binary(bytes_of(&data).unwrap_or_default().into())
                } else {
                    Message::Text(
                        data.as_string()
                            .and_then(|s| s.to_string().ok())
                            .unwrap_or_default()
                            .into(),
                    )
                };
                let sent = with_stream(&ctx, &s, &c, id, move |mut ws| async move {
                    let r = ws.send(msg).await;
                    (ws, r.is_ok())
                })?;
                if sent {
                    let tags = conn_tags(&c, id);
                    emit(&s, builtin::WS_MSGS_SENT, MetricType::Counter, 1.0, &tags);
                }
                Ok(())
            },
        )?,
    )?;

    let (s, c) = (state.clone(), conns.clone());
    n.set(
        "wsPing",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, id: usize| -> Result<()> {
            if let Some(Some(conn)) = c.borrow_mut().get_mut(id) {
                conn.ping_sent = Some(Instant::now());
            }
            with_stream(&ctx, &s, &c, id, move |mut ws| async move {
                let _ = ws.send(Message::Ping(Vec::new().into())).await;
                (ws, ())
            })
        })?,
    )?;

    let (s, c) = (state.clone(), conns.clone());
    n.set(
        "wsClose",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: usize, code: u16| -> Result<()> {
                if let Some(Some(conn)) = c.borrow_mut().get_mut(id) {
                    conn.close_sent = true;
                }
                with_stream(&ctx, &s, &c, id, move |mut ws| async move {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: "".into(),
                    };
                    let _ = ws.send(Message::Close(Some(frame))).await;
                    (ws, ())
                })
            },
        )?,
    )?;

    let (s, c) = (state.clone(), conns);
    n.set(
        "wsFinish",
        Function::new(ctx.clone(), move |id: usize| {
            let conn = c.borrow_mut().get_mut(id).and_then(Option::take);
            if let Some(conn) = conn {
                let ms = conn.started.elapsed().as_secs_f64() * 1000.0;
                emit(
                    &s,
                    builtin::WS_SESSION_DURATION,
                    MetricType::Trend,
                    ms,
                    &conn.tags,
                );
            }
        })?,
    )?;
    Ok(())
}
