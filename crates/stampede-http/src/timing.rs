//! Per-phase request timings (k6's `http_req_*` trend metrics) and the IO
//! wrappers that observe a connection to produce them.
//!
//! Two thin wrappers sit around every connection and share one [`ConnTrace`]:
//!
//! - [`Counted`] wraps the TCP stream (below TLS) and counts the bytes on the
//!   wire, as k6 does for `data_sent` / `data_received`.
//! - [`Timed`] wraps the stream hyper sees (above TLS, so that TLS session
//!   tickets and other records never look like response bytes) and records
//!   the instant of the last request write and of the first response read.
//!   This mirrors Go's `httptrace` `WroteRequest` / `GotFirstResponseByte`
//!   hooks that k6 uses.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The phases of one HTTP round trip, with k6's definitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Time before the connection was obtained or the dial started: waiting for
    /// an idle pooled connection, plus the DNS lookup for a new one
    /// (`http_req_blocked`).
    pub blocked: Duration,
    /// TCP connect; zero on a reused connection (`http_req_connecting`).
    pub connecting: Duration,
    /// TLS handshake; zero on a reused connection and for plain HTTP
    /// (`http_req_tls_handshaking`).
    pub tls_handshaking: Duration,
    /// From obtaining the connection to the last byte of the request written
    /// (`http_req_sending`).
    pub sending: Duration,
    /// From the request written to the first response byte, i.e. time to first
    /// byte (`http_req_waiting`).
    pub waiting: Duration,
    /// From the first response byte to the end of the body
    /// (`http_req_receiving`).
    pub receiving: Duration,
    /// `sending + waiting + receiving` (`http_req_duration`).
    pub duration: Duration,
}

/// Shared between a connection's IO wrappers (driven by hyper's connection
/// task) and the requests that use the connection. Only `Cell`s, so no borrow
/// is ever held.
#[derive(Debug, Default)]
pub(crate) struct ConnTrace {
    /// Bytes written on the wire since the last [`ConnTrace::take_bytes`].
    sent: Cell<u64>,
    /// Bytes read from the wire since the last [`ConnTrace::take_bytes`].
    received: Cell<u64>,
    /// Set by [`ConnTrace::arm`] when an HTTP/1 request starts.
    armed: Cell<bool>,
    /// Last write after arming and before the first read: "wrote request".
    wrote_at: Cell<Option<Instant>>,
    /// First read after a write since arming: "got first response byte".
    first_read: Cell<Option<Instant>>,
    /// The last write on the connection at all (used for multiplexed HTTP/2).
    last_write: Cell<Option<Instant>>,
}

impl ConnTrace {
    /// Starts observing one HTTP/1 exchange on this connection.
    pub(crate) fn arm(&self) {
        self.armed.set(true);
        self.wrote_at.set(None);
        self.first_read.set(None);
    }

    /// Stops observing (the connection goes back to the pool).
    pub(crate) fn disarm(&self) {
        self.armed.set(false);
    }

    /// When the armed request finished being written, if it has.
    pub(crate) fn wrote_at(&self) -> Option<Instant> {
        self.wrote_at.get()
    }

    /// When the first response byte of the armed request was read, if it was.
    pub(crate) fn first_read(&self) -> Option<Instant> {
        self.first_read.get()
    }

    /// The last write seen on the connection.
    pub(crate) fn last_write(&self) -> Option<Instant> {
        self.last_write.get()
    }

    /// Returns and resets the wire byte counters: `(sent, received)`.
    pub(crate) fn take_bytes(&self) -> (u64, u64) {
        (self.sent.replace(0), self.received.replace(0))
    }

    fn count_write(&self, n: usize) {
        self.sent.set(self.sent.get() + n as u64);
    }

    fn time_write(&self, n: usize) {
        if n > 0 {
            self.on_write();
        }
    }

    fn on_write(&self) {
        let now = Instant::now();
        self.last_write.set(Some(now));
        if self.armed.get() && self.first_read.get().is_none() {
            self.wrote_at.set(Some(now));
        }
    }

    fn on_read(&self) {
        if self.armed.get() && self.first_read.get().is_none() && self.wrote_at.get().is_some() {
            self.first_read.set(Some(Instant::now()));
        }
    }
}

/// Counts the bytes read and written through `S` into a [`ConnTrace`].
#[derive(Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    trace: Rc<ConnTrace>,
}

impl<S> Counted<S> {
    pub(crate) fn new(inner: S, trace: Rc<ConnTrace>) -> Self {
        Self { inner, trace }
    }
}

/// Records write and first-read instants of `S` into a [`ConnTrace`].
#[derive(Debug)]
pub(crate) struct Timed<S> {
    inner: S,
    trace: Rc<ConnTrace>,
}

impl<S> Timed<S> {
    pub(crate) fn new(inner: S, trace: Rc<ConnTrace>) -> Self {
        Self { inner, trace }
    }
}

/// Polls a read on `inner` and returns how many bytes it added to `buf`.
fn read_counting<S: AsyncRead + Unpin>(
    inner: &mut S,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<usize>> {
    let before = buf.filled().len();
    match Pin::new(inner).poll_read(cx, buf) {
        Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len() - before)),
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = std::task::ready!(read_counting(&mut this.inner, cx, buf))?;
        this.trace
            .received
            .set(this.trace.received.get() + n as u64);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = std::task::ready!(read_counting(&mut this.inner, cx, buf))?;
        if n > 0 {
            this.trace.on_read();
        }
        Poll::Ready(Ok(()))
    }
}

/// Forwards `AsyncWrite` to `inner`, calling `trace.$on(n)` after each
/// successful write of `n` bytes.
macro_rules! forward_write {
    ($ty:ident, $on:ident) => {
        impl<S: AsyncWrite + Unpin> AsyncWrite for $ty<S> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
                this.trace.$on(n);
                Poll::Ready(Ok(n))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let this = self.get_mut();
                let n = std::task::ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
                this.trace.$on(n);
                Poll::Ready(Ok(n))
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
            }
        }
    };
}

forward_write!(Counted, count_write);
forward_write!(Timed, time_write);

/// Instants of one round trip, filled in as it progresses; turned into
/// [`Timings`] when it ends (normally, with an error, or on timeout, where
/// the phase in progress runs until the end instant, as in k6).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    pub(crate) start: Instant,
    pub(crate) dial_start: Option<Instant>,
    pub(crate) connected: Option<Instant>,
    pub(crate) tls_start: Option<Instant>,
    pub(crate) tls_done: Option<Instant>,
    pub(crate) got_conn: Option<Instant>,
    pub(crate) wrote: Option<Instant>,
    pub(crate) first_byte: Option<Instant>,
    pub(crate) body_end: Option<Instant>,
}

impl Phases {
    pub(crate) fn new(start: Instant) -> Self {
        Self {
            start,
            dial_start: None,
            connected: None,
            tls_start: None,
            tls_done: None,
            got_conn: None,
            wrote: None,
            first_byte: None,
            body_end: None,
        }
    }

    /// Computes the timings; phases still running end at `end`.
    pub(crate) fn timings(&self, end: Instant) -> Timings {
        let span = |a: Option<Instant>, b: Option<Instant>| match a {
            Some(a) => b.unwrap_or(end).saturating_duration_since(a),
            None => Duration::ZERO,
        };
        let blocked = self
            .dial_start
            .or(self.got_conn)
            .unwrap_or(end)
            .saturating_duration_since(self.start);
        let connecting = span(self.dial_start, self.connected);
        let tls_handshaking = span(self.tls_start, self.tls_done);
        let (sending, waiting, receiving) = match self.got_conn {
            None => (Duration::ZERO, Duration::ZERO, Duration::ZERO),
            Some(_) => match self.wrote {
                None => (span(self.got_conn, None), Duration::ZERO, Duration::ZERO),
                Some(_) => (
                    span(self.got_conn, self.wrote),
                    span(self.wrote, self.first_byte),
                    span(self.first_byte, self.body_end),
                ),
            },
        };
        Timings {
            blocked,
            connecting,
            tls_handshaking,
            sending,
            waiting,
            receiving,
            duration: sending + waiting + receiving,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_add_up_and_running_phase_ends_at_end() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Phases::new(t0);
        p.dial_start = Some(t0 + ms(1));
        p.connected = Some(t0 + ms(3));
        p.got_conn = Some(t0 + ms(3));
        p.wrote = Some(t0 + ms(4));
        // Timed out while waiting for the first byte.
        let t = p.timings(t0 + ms(10));
        assert_eq!(t.blocked, ms(1));
        assert_eq!(t.connecting, ms(2));
        assert_eq!(t.tls_handshaking, Duration::ZERO);
        assert_eq!(t.sending, ms(1));
        assert_eq!(t.waiting, ms(6));
        assert_eq!(t.receiving, Duration::ZERO);
        assert_eq!(t.duration, ms(7));

        p.first_byte = Some(t0 + ms(8));
        p.body_end = Some(t0 + ms(9));
        let t = p.timings(t0 + ms(20));
        assert_eq!(t.waiting, ms(4));
        assert_eq!(t.receiving, ms(1));
        assert_eq!(t.duration, ms(6));
    }

    #[test]
    fn trace_first_read_needs_a_write_after_arming() {
        let t = ConnTrace::default();
        t.arm();
        t.on_read(); // e.g. a stray record before the request: ignored
        assert!(t.first_read().is_none());
        t.on_write();
        let wrote = t.wrote_at();
        assert!(wrote.is_some());
        t.on_read();
        assert!(t.first_read().is_some());
        t.on_write(); // later writes do not move "wrote request"
        assert_eq!(t.wrote_at(), wrote);
    }
}
