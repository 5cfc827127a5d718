//! HTTP client for stampede's virtual users, following k6's `k6/http`
//! semantics: HTTP/1.1 and HTTP/2 (over TLS with ALPN) on hyper, per-phase
//! timings with k6's definitions, keep-alive pooling, a cookie jar, redirects
//! with Go's rules, and k6's error codes.
//!
//! Start with [`HttpClient`]: each VU owns one (its own pool and jar) and
//! calls [`HttpClient::request`] with a [`Request`]; the future always yields a
//! [`Response`] whose [`Response::hops`] carry one [`Hop`] (status, [`Timings`],
//! wire bytes) per round trip, for the metrics. Transport failures are
//! reported in [`Response::error`] / [`Response::error_code`], never as
//! panics.
//!
//! Everything is single-threaded: a client and its futures are not `Send`;
//! they run on a current-thread tokio runtime inside a
//! `tokio::task::LocalSet` (connection drivers use `spawn_local`).
//!
//! Layout: `client` (request flow, redirects loop), `message` (the public
//! request/response types), `pool` (connections,
//! dialing), `timing` (IO wrappers that observe writes/reads, [`Timings`]),
//! `tls` (rustls configuration), `cookies` ([`CookieJar`]), `redirect`
//! (Go's rules), `headers` (request head, response header conversion),
//! `decode` (gzip/deflate), `error` (k6 error codes), `net` (`hosts`, blocked names and
//! ranges, DNS ttl/select/policy).

mod auth;
mod client;
mod compress;
mod cookies;
mod debug;
mod decode;
mod error;
mod headers;
mod message;
mod net;
mod pool;
mod redirect;
mod timing;
pub mod tls;

pub use auth::AuthScheme;
pub use client::HttpClient;
pub use compress::{compress_body, Compression};
pub use cookies::{parse_set_cookie, CookieJar, CookieOptions, ResponseCookie};
pub use debug::{HopDump, HttpDebug};
pub use error::{code as error_code, go_dial_error, HttpError};
pub use headers::canonical_name;
pub use message::{ClientConfig, Hop, Request, Response, DEFAULT_USER_AGENT};
pub use net::{split_host_port, HostRule, HostTarget, NetRules};
pub use timing::Timings;
pub use tls::build_tls;
