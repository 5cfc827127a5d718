//! A client's connections: idle HTTP/1.1 connections and one shared HTTP/2
//! connection per host, plus a small DNS cache. Also dialing (TCP, TLS with
//! ALPN, hyper handshake).
//!
//! Everything here lives on one thread: connection drivers are spawned with
//! `tokio::task::spawn_local`, so requests must run inside a
//! `tokio::task::LocalSet`.
//!
//! A driver of its own per connection is also faster than polling hyper's connection future
//! from the request's task (tried: case 1 of the benchmark went from 14.5 to 15.4 µs of CPU per
//! request): spawned drivers run after the VUs that queued requests, so a worker's writes
//! leave in bursts and the server's side wakes once per burst rather than once per request.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{code, Failure};
use crate::headers::ReqBody;
use crate::timing::{ConnTrace, Counted, Phases, Timed};

/// Identifies a pool of connections: scheme, host and port.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyRef<'a> {
    pub(crate) https: bool,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

/// Facts about a connection that responses report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnMeta {
    pub(crate) remote: SocketAddr,
    /// k6's `tls_version` value (`"tls1.3"`), empty for plain HTTP.
    pub(crate) tls_version: &'static str,
    /// Go's name of the negotiated cipher suite, empty for plain HTTP.
    pub(crate) tls_cipher: &'static str,
}

/// The request half of a connection.
pub(crate) enum Sender {
    H1(http1::SendRequest<ReqBody>),
    H2(http2::SendRequest<ReqBody>),
}

/// A connection ready for one request.
pub(crate) struct Conn {
    pub(crate) sender: Sender,
    pub(crate) trace: Rc<ConnTrace>,
    pub(crate) meta: ConnMeta,
    /// Taken from the pool rather than dialed for this request.
    pub(crate) reused: bool,
}

impl Conn {
    pub(crate) fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }
}

struct Idle {
    sender: http1::SendRequest<ReqBody>,
    trace: Rc<ConnTrace>,
    meta: ConnMeta,
}

struct Shared {
    sender: http2::SendRequest<ReqBody>,
    trace: Rc<ConnTrace>,
    meta: ConnMeta,
}

struct HostEntry {
    https: bool,
    host: String,
    port: u16,
    idle: Vec<Idle>,
    h2: Option<Shared>,
    dns: Option<(Vec<IpAddr>, Instant)>,
    /// New connections made to this host (for `dns.select: roundRobin`).
    dials: usize,
}

impl HostEntry {
    fn is(&self, key: KeyRef<'_>) -> bool {
        self.port == key.port && self.https == key.https && self.host == key.host
    }
}

/// Per-client connection pool. A VU talks to few hosts, so hosts are a small
/// vector searched linearly (no hashing, no key allocation per request).
pub(crate) struct Pool {
    hosts: Vec<HostEntry>,
    max_idle_per_host: usize,
}

impl Pool {
    pub(crate) fn new(max_idle_per_host: usize) -> Self {
        Self {
            hosts: Vec::new(),
            max_idle_per_host,
        }
    }

    fn find(&mut self, key: KeyRef<'_>) -> Option<&mut HostEntry> {
        self.hosts.iter_mut().find(|e| e.is(key))
    }

    fn entry(&mut self, key: KeyRef<'_>) -> &mut HostEntry {
        let idx = match self.hosts.iter().position(|e| e.is(key)) {
            Some(i) => i,
            None => {
                self.hosts.push(HostEntry {
                    https: key.https,
                    host: key.host.to_string(),
                    port: key.port,
                    idle: Vec::new(),
                    h2: None,
                    dns: None,
                    dials: 0,
                });
                self.hosts.len() - 1
            }
        };
        &mut self.hosts[idx]
    }

    /// A pooled connection for `key`: the shared HTTP/2 one, else the most
    /// recently used idle HTTP/1 one. Closed connections are dropped here;
    /// the caller still awaits readiness.
    pub(crate) fn checkout(&mut self, key: KeyRef<'_>) -> Option<Conn> {
        let entry = self.find(key)?;
        if let Some(shared) = &entry.h2 {
            if !shared.sender.is_closed() {
                return Some(Conn {
                    sender: Sender::H2(shared.sender.clone()),
                    trace: shared.trace.clone(),
                    meta: shared.meta,
                    reused: true,
                });
            }
            entry.h2 = None;
        }
        while let Some(idle) = entry.idle.pop() {
            if !idle.sender.is_closed() {
                return Some(Conn {
                    sender: Sender::H1(idle.sender),
                    trace: idle.trace,
                    meta: idle.meta,
                    reused: true,
                });
            }
        }
        None
    }

    /// Returns an HTTP/1 connection whose exchange completed.
    pub(crate) fn put_idle(
        &mut self,
        key: KeyRef<'_>,
        sender: http1::SendRequest<ReqBody>,
        trace: Rc<ConnTrace>,
        meta: ConnMeta,
    ) {
        let max = self.max_idle_per_host;
        if max == 0 || sender.is_closed() {
            return;
        }
        let entry = self.entry(key);
        if entry.idle.len() >= max {
            entry.idle.remove(0);
        }
        entry.idle.push(Idle {
            sender,
            trace,
            meta,
        });
    }

    /// Makes `conn` the shared HTTP/2 connection of `key`.
    pub(crate) fn set_h2(&mut self, key: KeyRef<'_>, conn: &Conn) {
        if let Sender::H2(s) = &conn.sender {
            self.entry(key).h2 = Some(Shared {
                sender: s.clone(),
                trace: conn.trace.clone(),
                meta: conn.meta,
            });
        }
    }

    /// Forgets the shared HTTP/2 connection of `key` if it is the one traced
    /// by `trace` (it failed).
    pub(crate) fn remove_h2(&mut self, key: KeyRef<'_>, trace: &Rc<ConnTrace>) {
        if let Some(entry) = self.find(key) {
            if entry
                .h2
                .as_ref()
                .is_some_and(|s| Rc::ptr_eq(&s.trace, trace))
            {
                entry.h2 = None;
            }
        }
    }

    /// Cached addresses of `key`'s host, if younger than `ttl` (`None`: any age).
    pub(crate) fn cached_addrs(
        &mut self,
        key: KeyRef<'_>,
        ttl: Option<Duration>,
    ) -> Option<Vec<IpAddr>> {
        let (addrs, at) = self.find(key)?.dns.as_ref()?;
        ttl.is_none_or(|ttl| at.elapsed() < ttl)
            .then(|| addrs.clone())
    }

    /// How many connections were dialed to `key` before this one.
    pub(crate) fn next_dial(&mut self, key: KeyRef<'_>) -> usize {
        let e = self.entry(key);
        e.dials += 1;
        e.dials - 1
    }

    pub(crate) fn cache_addrs(&mut self, key: KeyRef<'_>, addrs: &[IpAddr]) {
        self.entry(key).dns = Some((addrs.to_vec(), Instant::now()));
    }

    /// Drops every pooled connection (their drivers then shut down).
    pub(crate) fn clear(&mut self) {
        self.hosts.clear();
    }

    /// Number of idle HTTP/1 connections plus shared HTTP/2 connections.
    pub(crate) fn len(&self) -> usize {
        self.hosts
            .iter()
            .map(|e| e.idle.len() + usize::from(e.h2.is_some()))
            .sum()
    }
}

/// Resolves `host` (IP literals without a lookup).
pub(crate) async fn resolve(host: &url::Host<&str>, port: u16) -> Result<Vec<IpAddr>, Failure> {
    match host {
        url::Host::Ipv4(ip) => Ok(vec![IpAddr::V4(*ip)]),
        url::Host::Ipv6(ip) => Ok(vec![IpAddr::V6(*ip)]),
        url::Host::Domain(name) => {
            let addrs = tokio::net::lookup_host((*name, port))
                .await
                .map_err(|e| Failure::dns(name, &e))?;
            let mut ips: Vec<IpAddr> = Vec::new();
            for a in addrs {
                if !ips.contains(&a.ip()) {
                    ips.push(a.ip());
                }
            }
            if ips.is_empty() {
                return Err(Failure::new(code::DNS_NO_SUCH_HOST, "lookup: no such host"));
            }
            Ok(ips)
        }
    }
}

/// Runs hyper's HTTP/2 background tasks on the current `LocalSet`.
#[derive(Clone, Copy, Debug)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: std::future::Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// Dials a new connection to one of `addrs`, recording the dial and TLS
/// phases in `ph`. `tls` carries the configuration and server name for https.
pub(crate) async fn connect(
    addrs: &[IpAddr],
    port: u16,
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    ph: &mut Phases,
) -> Result<Conn, Failure> {
    ph.dial_start = Some(Instant::now());
    let mut last_err = Failure::new(code::TCP_DIAL, "dial: no address");
    let mut stream = None;
    for ip in addrs {
        let addr = SocketAddr::new(*ip, port);
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(e) => last_err = Failure::dial(addr, &e),
        }
    }
    let Some((tcp, remote)) = stream else {
        return Err(last_err);
    };
    ph.connected = Some(Instant::now());
    // Without it, small requests stall on delayed ACKs.
    let _ = tcp.set_nodelay(true);
    let trace = Rc::new(ConnTrace::default());
    let counted = Counted::new(tcp, trace.clone());

    let Some((config, name)) = tls else {
        let meta = ConnMeta {
            remote,
            tls_version: "",
            tls_cipher: "",
        };
        let io = TokioIo::new(Timed::new(counted, trace.clone()));
        return handshake_h1(io, trace, meta).await;
    };

    // Boxed: the TLS handshake's state is kilobytes, and every plain connection's future
    // would otherwise reserve room for it (10,000 VUs connect at once when a test starts).
    Box::pin(secure(counted, trace, remote, config, name, ph)).await
}

/// The TLS handshake and the HTTP/1 or HTTP/2 handshake over it.
async fn secure(
    counted: Counted<TcpStream>,
    trace: Rc<ConnTrace>,
    remote: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
    ph: &mut Phases,
) -> Result<Conn, Failure> {
    ph.tls_start = ph.connected;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, counted)
        .await
        .map_err(|e| Failure::tls(&e))?;
    ph.tls_done = Some(Instant::now());
    let session = stream.get_ref().1;
    let h2 = session.alpn_protocol() == Some(b"h2");
    let meta = ConnMeta {
        remote,
        tls_version: match session.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "tls1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "tls1.2",
            _ => "",
        },
        tls_cipher: session
            .negotiated_cipher_suite()
            .map(|s| go_cipher_name(s.suite()))
            .unwrap_or(""),
    };
    let io = TokioIo::new(Timed::new(stream, trace.clone()));
    if h2 {
        let (sender, conn) = http2::Builder::new(LocalExec)
            .handshake(io)
            .await
            .map_err(|e| Failure::hyper(&e, false))?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender: Sender::H2(sender),
            trace,
            meta,
            reused: false,
        })
    } else {
        handshake_h1(io, trace, meta).await
    }
}

async fn handshake_h1<T>(io: T, trace: Rc<ConnTrace>, meta: ConnMeta) -> Result<Conn, Failure>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    let (sender, conn) = http1::Builder::new()
        // Go writes canonical header names; some servers care.
        .title_case_headers(true)
        .handshake(io)
        .await
        .map_err(|e| Failure::hyper(&e, false))?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(Conn {
        sender: Sender::H1(sender),
        trace,
        meta,
        reused: false,
    })
}

/// Go's `tls.CipherSuiteName` for a rustls suite.
fn go_cipher_name(suite: rustls::CipherSuite) -> &'static str {
    use rustls::CipherSuite as C;
    match suite {
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        // k6 shows Go's older names of these two.
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        }
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        other => other.as_str().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every VU dials at once when a test starts, and each dial's boxed future lives until its
    /// handshake ends: the TLS handshake is boxed on its own so plain HTTP dials stay small.
    #[test]
    fn plain_connect_future_stays_small() {
        let mut ph = Phases::new(Instant::now());
        let fut = connect(&[], 80, None, &mut ph);
        let size = std::mem::size_of_val(&fut);
        assert!(size <= 1024, "the connect future is {size} bytes");
    }
}
