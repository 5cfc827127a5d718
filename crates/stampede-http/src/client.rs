//! [`HttpClient`]: one per VU, with its own connection pool and cookie jar.

use std::cell::RefCell;
use std::future::Future;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header;
use http::{Method, Version};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use url::Url;

use crate::auth::{self, AuthHeader, AuthScheme, NtlmStep};
use crate::cookies::CookieJar;
use crate::error::{code, Failure};
use crate::headers::{build_request, wants_close, HeadSpec};
use crate::message::{
    failed, finish, http_error_code, proto_str, ClientConfig, Hop, RawResponse, Request, Response,
    DEFAULT_USER_AGENT,
};
use crate::net::HostTarget;
use crate::pool::{self, Conn, ConnMeta, KeyRef, Pool, Sender};
use crate::timing::{ConnTrace, Phases};
use crate::{redirect, tls};

/// Largest body size pre-allocated from a `Content-Length` header.
const MAX_PREALLOC: u64 = 16 << 20;

/// An HTTP client for one VU. Cheap to clone (clones share pool and jar);
/// not `Send`: its futures must be polled inside a `tokio::task::LocalSet`
/// on a runtime with time and IO enabled.
#[derive(Clone)]
pub struct HttpClient {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("pooled", &self.pooled_connections())
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: Arc<ClientConfig>,
    pool: RefCell<Pool>,
    /// The VU's jar; [`HttpClient::reset_cookies`] puts a new one in its place.
    jar: RefCell<CookieJar>,
}

/// What a round trip learned about its connection.
#[derive(Default)]
struct ConnSeen {
    trace: Option<Rc<ConnTrace>>,
    meta: Option<ConnMeta>,
    h2: bool,
    /// What was sent and received, for `httpDebug`.
    dump: Option<Box<crate::HopDump>>,
}

impl HttpClient {
    /// The `User-Agent` requests carry unless the script sets its own (`None` or empty: none).
    pub fn user_agent(&self) -> Option<&str> {
        self.inner.user_agent()
    }

    /// A client with an empty pool and jar.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        let max_idle = if config.no_connection_reuse {
            0
        } else {
            config.max_idle_per_host
        };
        Self {
            inner: Rc::new(Inner {
                pool: RefCell::new(Pool::new(max_idle)),
                config,
                jar: RefCell::new(CookieJar::new()),
            }),
        }
    }

    /// Performs `req`, following redirects. The future owns everything it
    /// needs (`'static`), is not `Send`, and always yields a [`Response`].
    pub fn request(&self, req: Request) -> impl Future<Output = Response> + 'static {
        let inner = self.inner.clone();
        async move { inner.execute(req).await }
    }

    /// The client's cookie jar (shared, not a copy).
    pub fn cookie_jar(&self) -> CookieJar {
        self.inner.jar.borrow().clone()
    }

    /// Puts a new, empty jar in place of the current one, as k6 does at the start of each
    /// iteration: a jar the script still holds keeps its cookies but is no longer the client's.
    pub fn reset_cookies(&self) {
        let mut jar = self.inner.jar.borrow_mut();
        if !jar.is_shared() && jar.is_empty() {
            return;
        }
        *jar = CookieJar::new();
    }

    /// Drops pooled connections and all cookies (k6 resets the jar each
    /// iteration; connections too with `noVUConnectionReuse`).
    pub fn clear(&self) {
        self.clear_connections();
        self.clear_cookies();
    }

    /// Drops pooled connections; requests in flight keep theirs.
    pub fn clear_connections(&self) {
        self.inner.pool.borrow_mut().clear();
    }

    /// Deletes all cookies in the jar.
    pub fn clear_cookies(&self) {
        self.inner.jar.borrow().clear_all();
    }

    /// Idle HTTP/1.1 plus shared HTTP/2 connections currently pooled.
    pub fn pooled_connections(&self) -> usize {
        self.inner.pool.borrow().len()
    }
}

fn is_idempotent(m: &Method) -> bool {
    *m == Method::GET || *m == Method::HEAD || *m == Method::OPTIONS || *m == Method::TRACE
}

impl Inner {
    async fn execute(&self, req: Request) -> Response {
        let Request {
            method,
            url,
            headers,
            body,
            timeout,
            max_redirects,
            discard_body,
            cookies,
            replace_jar_cookies,
            use_jar,
            jar,
            auth,
            debug,
        } = req;
        let jar = match jar {
            _ if !use_jar => None,
            Some(j) => Some(j),
            None => Some(self.jar.borrow().clone()),
        };
        let start = Instant::now();
        let deadline = tokio::time::Instant::from_std(start)
            .checked_add(timeout)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);

        let request_close = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
        });
        // Only a digest handshake asks (its first request's Basic credentials).
        let has_own_auth = || {
            headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        };
        let user_cookie: Option<&str> = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .map(|(_, v)| v.as_str());

        let mut hops: Vec<Hop> = Vec::with_capacity(1);
        let mut method = method;
        let mut url = url;
        let (mut digest_creds, mut first_basic) = if auth == AuthScheme::Digest {
            let (creds, basic) = auth::digest_start(&mut url);
            (creds, basic)
        } else {
            Default::default()
        };
        let mut body = body;
        let mut prev_url: Option<Url> = None;
        let mut cookie = String::new();
        let mut redirects = 0u32;
        // The auth handshake of the current URL (k6's `auth: 'digest'` / `'ntlm'`).
        let mut auth_value: Option<String> = None;
        let mut digest_answered = false;
        let ntlm_step_for = |u: &Url| {
            (auth == AuthScheme::Ntlm && auth::ntlm_applies(u, &headers))
                .then_some(NtlmStep::Anonymous)
        };
        let mut ntlm_step = ntlm_step_for(&url);
        let mut response = loop {
            let hop_start = Instant::now();
            let mut ph = Phases::new(hop_start);
            let mut seen = ConnSeen::default();

            // Cookie header: the script's own (first hop only, as k6), the
            // per-request cookies, then the jar's.
            cookie.clear();
            if prev_url.is_none() {
                if let Some(c) = user_cookie {
                    cookie.push_str(c);
                }
            }
            for (n, v) in &cookies {
                if !cookie.is_empty() {
                    cookie.push_str("; ");
                }
                cookie.push_str(n);
                cookie.push('=');
                cookie.push_str(v);
            }
            if let Some(jar) = &jar {
                jar.append_request_cookies(&url, &mut cookie, &replace_jar_cookies);
            }
            let referer = prev_url.as_ref().and_then(|p| redirect::referer(p, &url));
            let spec = HeadSpec {
                method: &method,
                url: &url,
                headers: &headers,
                body: &body,
                user_agent: self.user_agent(),
                cookie: &cookie,
                redirected: prev_url.is_some(),
                sensitive_ok: prev_url
                    .as_ref()
                    .is_none_or(|p| redirect::may_copy_sensitive(p, &url)),
                referer: referer.as_deref(),
                h2: false,
                authorization: match (ntlm_step, auth_value.as_deref()) {
                    (Some(NtlmStep::Anonymous), _) => AuthHeader::Omit,
                    (Some(NtlmStep::Basic), _) => AuthHeader::Default,
                    (_, Some(v)) => AuthHeader::Value(v),
                    (_, None) => match first_basic.as_deref() {
                        Some(b) if !has_own_auth() => AuthHeader::Value(b),
                        _ => AuthHeader::Default,
                    },
                },
            };

            let result = tokio::select! {
                biased;
                r = self.round_trip(&spec, discard_body, request_close, debug, &mut ph, &mut seen) => r,
                _ = &mut sleep => Err(Failure::timeout()),
            };
            let end = Instant::now();
            if let (Some(t), Some(got_conn)) = (&seen.trace, ph.got_conn) {
                // A timeout may have cut the round trip before it copied
                // these from the connection trace.
                if seen.h2 {
                    let last = t.last_write().filter(|w| *w >= got_conn);
                    ph.wrote = ph.wrote.or(last).or(Some(got_conn));
                } else {
                    ph.wrote = ph.wrote.or(t.wrote_at());
                    ph.first_byte = ph.first_byte.or(t.first_read());
                }
            }
            let timings = ph.timings(end);
            let (bytes_sent, bytes_received) = match &seen.trace {
                Some(t) => t.take_bytes(),
                None => (0, 0),
            };
            let meta = seen.meta;
            let tls_version = meta.map(|m| m.tls_version).unwrap_or("");

            let raw = match result {
                Ok(raw) => raw,
                Err(f) => {
                    hops.push(Hop {
                        method,
                        url: url.clone(),
                        status: 0,
                        proto: "",
                        tls_version,
                        timings,
                        bytes_sent,
                        bytes_received,
                        error_code: f.code,
                        debug: seen.dump.take(),
                    });
                    break failed(url, f, meta, hops);
                }
            };

            if let Some(jar) = &jar {
                jar.store_response(&url, &raw.headers);
            }
            let status = raw.status.as_u16();
            hops.push(Hop {
                method: method.clone(),
                url: url.clone(),
                status,
                proto: proto_str(raw.version),
                tls_version,
                timings,
                bytes_sent,
                bytes_received,
                error_code: http_error_code(status),
                debug: seen.dump.take(),
            });

            if status == 401 {
                match auth {
                    AuthScheme::Digest if !digest_answered => {
                        if let Some(v) =
                            auth::digest_answer(&raw.headers, &method, &url, &digest_creds)
                        {
                            digest_answered = true;
                            auth_value = Some(v);
                            continue;
                        }
                    }
                    AuthScheme::Ntlm => {
                        if let Some(step) = ntlm_step {
                            match auth::ntlm_next(step, &raw.headers, &url) {
                                Ok(Some((next, v))) => {
                                    ntlm_step = Some(next);
                                    auth_value = v;
                                    continue;
                                }
                                Ok(None) => {}
                                Err(f) => break failed(url, f, meta, hops),
                            }
                        }
                    }
                    _ => {}
                }
            }

            let location = raw.headers.get(header::LOCATION);
            let next = redirect::next_method(status, &method, location.is_some());
            let (Some((next_method, keep_body)), Some(location)) = (next, location) else {
                break finish(raw, url, meta, discard_body, hops);
            };
            if redirects >= max_redirects {
                // k6 returns the last redirect response (and logs a warning).
                break finish(raw, url, meta, discard_body, hops);
            }
            let next_url = match location
                .to_str()
                .map_err(|_| Failure::new(code::GENERIC, "failed to parse Location header"))
                .and_then(|l| redirect::resolve_location(&url, l))
            {
                Ok(u) => u,
                Err(f) => break failed(url, f, meta, hops),
            };
            if !keep_body {
                body = Bytes::new();
            }
            method = next_method;
            redirects += 1;
            auth_value = None;
            digest_answered = false;
            first_basic = None;
            if auth == AuthScheme::Digest {
                digest_creds = auth::url_credentials(&next_url);
            }
            ntlm_step = ntlm_step_for(&next_url);
            prev_url = Some(std::mem::replace(&mut url, next_url));
        };
        // The Cookie header of the last request sent, for `res.request`.
        response.sent_cookie = cookie;
        response
    }

    fn user_agent(&self) -> Option<&str> {
        match &self.config.user_agent {
            Some(ua) => Some(ua.as_str()),
            None => Some(DEFAULT_USER_AGENT),
        }
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, Failure> {
        match &self.config.tls {
            Some(c) => Ok(c.clone()),
            None => tls::shared_tls(self.config.insecure_skip_tls_verify)
                .map_err(|e| Failure::new(code::TLS, e.to_string())),
        }
    }

    /// The address (and port) a new connection to `key` dials, after the test's network
    /// rules: a blocked name fails, a `hosts` entry replaces the name (and maybe the port),
    /// names are looked up (or taken from the cache while the DNS TTL allows), the DNS policy
    /// and selection pick one address, and a blacklisted one fails.
    async fn addresses(
        &self,
        key: KeyRef<'_>,
        host: &url::Host<&str>,
    ) -> Result<(Vec<IpAddr>, u16), Failure> {
        let rules = &self.config.net;
        let mut port = key.port;
        let mut lookup = host.to_owned();
        if let url::Host::Domain(name) = host {
            rules.check_name(name)?;
            if let Some(rule) = rules.host_rule(name, key.port) {
                port = rule.target_port.unwrap_or(port);
                lookup = match &rule.target {
                    HostTarget::Ip(IpAddr::V4(ip)) => url::Host::Ipv4(*ip),
                    HostTarget::Ip(IpAddr::V6(ip)) => url::Host::Ipv6(*ip),
                    HostTarget::Name(n) => url::Host::Domain(n.clone()),
                };
            }
        }
        let ips = match &lookup {
            url::Host::Ipv4(ip) => vec![IpAddr::V4(*ip)],
            url::Host::Ipv6(ip) => vec![IpAddr::V6(*ip)],
            url::Host::Domain(name) => {
                let ttl = rules.dns_ttl;
                let cached = match ttl {
                    Some(ttl) if ttl.is_zero() => None,
                    _ => self.pool.borrow_mut().cached_addrs(key, ttl),
                };
                match cached {
                    Some(a) => a,
                    None => {
                        // Boxed, like `connect`: rare, and its state would otherwise make
                        // every request's future several KiB larger.
                        let a = Box::pin(pool::resolve(&url::Host::Domain(name.as_str()), port))
                            .await?;
                        self.pool.borrow_mut().cache_addrs(key, &a);
                        a
                    }
                }
            }
        };
        // k6 dials the one address its resolver chose (an IP address is taken as it is).
        let ip = match &lookup {
            url::Host::Domain(name) => {
                let turn = self.pool.borrow_mut().next_dial(key);
                rules.pick(name, &ips, turn)?[0]
            }
            _ => ips[0],
        };
        rules.check_ip(ip)?;
        Ok((vec![ip], port))
    }

    /// Gets a connection: a pooled one that is ready, else a new one.
    async fn acquire(
        &self,
        key: KeyRef<'_>,
        host: &url::Host<&str>,
        ph: &mut Phases,
    ) -> Result<Conn, Failure> {
        if !self.config.no_connection_reuse {
            loop {
                let candidate = self.pool.borrow_mut().checkout(key);
                let Some(mut conn) = candidate else { break };
                let ready = match &mut conn.sender {
                    Sender::H1(s) => s.ready().await.is_ok(),
                    Sender::H2(s) => s.ready().await.is_ok(),
                };
                if ready {
                    return Ok(conn);
                }
                if conn.is_h2() {
                    self.pool.borrow_mut().remove_h2(key, &conn.trace);
                }
            }
        }
        let (addrs, port) = self.addresses(key, host).await?;
        let tls = if key.https {
            let name = tls::server_name(host).ok_or_else(|| {
                Failure::new(
                    code::TLS,
                    format!("tls: invalid server name {:?}", key.host),
                )
            })?;
            Some((self.tls_config()?, name))
        } else {
            None
        };
        let conn = Box::pin(pool::connect(&addrs, port, tls, ph)).await?;
        if conn.is_h2() && !self.config.no_connection_reuse {
            self.pool.borrow_mut().set_h2(key, &conn);
        }
        Ok(conn)
    }

    /// One round trip: connection, request, response head and body.
    async fn round_trip(
        &self,
        spec: &HeadSpec<'_>,
        discard: bool,
        request_close: bool,
        debug: crate::HttpDebug,
        ph: &mut Phases,
        seen: &mut ConnSeen,
    ) -> Result<RawResponse, Failure> {
        let url = spec.url;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(Failure::new(
                    code::GENERIC,
                    format!("unsupported protocol scheme {other:?}"),
                ))
            }
        };
        let host = url
            .host()
            .ok_or_else(|| Failure::new(code::GENERIC, "http: no Host in request URL"))?;
        let key = KeyRef {
            https,
            host: url.host_str().unwrap_or_default(),
            port: url
                .port_or_known_default()
                .unwrap_or(if https { 443 } else { 80 }),
        };

        let mut retried = false;
        loop {
            let mut conn = self.acquire(key, &host, ph).await?;
            let got_conn = Instant::now();
            ph.got_conn = Some(got_conn);
            seen.trace = Some(conn.trace.clone());
            seen.meta = Some(conn.meta);
            seen.h2 = conn.is_h2();
            let req = build_request(&HeadSpec {
                h2: conn.is_h2(),
                ..*spec
            })?;
            let full = debug == crate::HttpDebug::Full;
            if debug != crate::HttpDebug::Off {
                let host = req
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_else(|| crate::headers::authority(url))
                    .to_string();
                let request =
                    crate::debug::request(spec.method, url, &host, req.headers(), spec.body, full);
                seen.dump = Some(Box::new(crate::HopDump {
                    request,
                    response: None,
                }));
            }

            let sent = match &mut conn.sender {
                Sender::H1(s) => {
                    conn.trace.arm();
                    s.try_send_request(req).await
                }
                Sender::H2(s) => s.try_send_request(req).await,
            };
            let resp = match sent {
                Ok(r) => r,
                Err(mut e) => {
                    let unsent = e.take_message().is_some();
                    let err = e.error();
                    if conn.is_h2() {
                        self.pool.borrow_mut().remove_h2(key, &conn.trace);
                    }
                    // Like Go: a request that failed on a reused connection
                    // before any response (the server closed it while idle)
                    // is retried once on a fresh one, if it was not sent or
                    // is idempotent.
                    let replayable = unsent
                        || (is_idempotent(spec.method)
                            && !err.is_parse()
                            && !err.is_parse_status()
                            && !err.is_user());
                    if conn.reused && !retried && replayable {
                        retried = true;
                        // The failed attempt counts as blocked time.
                        *ph = Phases::new(ph.start);
                        seen.trace = None;
                        continue;
                    }
                    return Err(Failure::hyper(err, false));
                }
            };

            let now = Instant::now();
            if conn.is_h2() {
                // Multiplexed: the response future resolving is the first
                // byte; the last write before it ends sending.
                ph.first_byte = Some(now);
                ph.wrote = Some(
                    conn.trace
                        .last_write()
                        .filter(|w| *w >= got_conn && *w <= now)
                        .unwrap_or(got_conn),
                );
            } else {
                ph.wrote = Some(conn.trace.wrote_at().unwrap_or(got_conn));
                ph.first_byte = Some(conn.trace.first_read().unwrap_or(now));
            }

            let (parts, incoming) = resp.into_parts();
            let hint = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            // A full `httpDebug` dump shows the body even when the script discards it.
            let body = read_body(incoming, discard && !full, hint)
                .await
                .map_err(|e| Failure::hyper(&e, true))?;
            ph.body_end = Some(Instant::now());

            if let Sender::H1(sender) = conn.sender {
                conn.trace.disarm();
                let reuse = !self.config.no_connection_reuse
                    && !request_close
                    && !wants_close(&parts.headers)
                    && parts.version != Version::HTTP_10;
                if reuse {
                    self.pool
                        .borrow_mut()
                        .put_idle(key, sender, conn.trace.clone(), conn.meta);
                }
            }
            let reason = parts.extensions.get::<hyper::ext::ReasonPhrase>().cloned();
            if let Some(dump) = seen.dump.as_mut() {
                let code = parts.status.as_u16();
                let text = match (&reason, parts.status.canonical_reason()) {
                    (Some(r), _) => format!("{code} {}", String::from_utf8_lossy(r.as_bytes())),
                    (None, Some(c)) => format!("{code} {c}"),
                    (None, None) => code.to_string(),
                };
                dump.response = Some(crate::debug::response(
                    proto_str(parts.version),
                    &text,
                    code,
                    &parts.headers,
                    &body,
                    full,
                ));
            }
            return Ok(RawResponse {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                reason,
                body,
            });
        }
    }
}

/// Reads the whole body; keeps it unless `discard`. A single-chunk body is
/// kept without copying.
async fn read_body(
    mut body: Incoming,
    discard: bool,
    hint: Option<u64>,
) -> Result<Bytes, hyper::Error> {
    let mut first: Option<Bytes> = None;
    let mut buf: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        if discard || data.is_empty() {
            continue;
        }
        if let Some(b) = buf.as_mut() {
            b.extend_from_slice(&data);
        } else if let Some(f) = first.take() {
            let want = hint.unwrap_or(0).min(MAX_PREALLOC) as usize;
            let mut b = BytesMut::with_capacity(want.max(f.len() + data.len()));
            b.extend_from_slice(&f);
            b.extend_from_slice(&data);
            buf = Some(b);
        } else {
            first = Some(data);
        }
    }
    Ok(match buf {
        Some(b) => b.freeze(),
        None => first.unwrap_or_default(),
    })
}
