//! httpbin-style test helpers: `/`, `/delay/{ms}`, `/status/{code}`, `/bytes/{n}`, `/echo`,
//! `/cookies`, `/cookies/set`, `/cookies/delete`, `/redirect/{n}`, `/get`, `/post`, `/put`,
//! `/patch`, `/delete`, `/anything`, `/headers`, `/user-agent`, `/ip`, `/decompress`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{json, Map, Value};

use crate::error::{is_form, parse_form, ApiError, RawBody};

/// Longest accepted `/delay/{ms}`.
const MAX_DELAY_MS: u64 = 300_000;
/// Largest `/bytes/{n}`.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Longest `/redirect/{n}` chain.
const MAX_REDIRECTS: u64 = 100;

const CHUNK_LEN: usize = 64 * 1024;
static PATTERN: [u8; CHUNK_LEN] = pattern();

const fn pattern() -> [u8; CHUNK_LEN] {
    let mut a = [0u8; CHUNK_LEN];
    let mut i = 0;
    while i < CHUNK_LEN {
        a[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    a
}

/// `GET /` -> `hello`.
pub(crate) async fn hello() -> &'static str {
    "hello"
}

fn parse_param(raw: &str, what: &str, max: u64) -> Result<u64, ApiError> {
    let n: u64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{what} must be a whole number")))?;
    if n > max {
        return Err(ApiError::bad_request(format!(
            "{what} must be at most {max}"
        )));
    }
    Ok(n)
}

/// Sleeps `d` on a timerfd: tokio's timer wheel has a 1 ms tick and rounds deadlines up, so a
/// 20 ms delay took 20-21 ms and every client measured about 21.2 ms at the median. The
/// benchmark's accuracy case compares tools against the known floor, which has to be the
/// delay asked for. Falls back to tokio's timer if no timerfd can be made (no files left).
async fn precise_sleep(d: Duration) {
    let deadline = tokio::time::Instant::now() + d;
    if d.is_zero() || timerfd_sleep(d).await.is_err() {
        tokio::time::sleep_until(deadline).await;
    }
}

/// A one-shot monotonic timerfd (nanosecond resolution) waited on through tokio's reactor.
async fn timerfd_sleep(d: Duration) -> std::io::Result<()> {
    use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
    let fd = rustix::time::timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )?;
    let at = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: Timespec::try_from(d).map_err(|_| std::io::ErrorKind::InvalidInput)?,
    };
    rustix::time::timerfd_settime(&fd, TimerfdTimerFlags::empty(), &at)?;
    // SAFETY: `fd` is an OwnedFd moved into the AsyncFd, so it stays open and the same file
    // for the AsyncFd's whole life.
    let fd = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    }
    .map_err(|e| e.into_parts().1)?;
    loop {
        let mut ready = fd.readable().await?;
        let mut expirations = [0u8; 8];
        match rustix::io::read(fd.get_ref(), &mut expirations) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
            Err(e) => return Err(e.into()),
        }
    }
}

/// `ANY /delay/{ms}`: sleeps, then answers 200.
pub(crate) async fn delay(
    method: Method,
    uri: Uri,
    Path(ms): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ms = parse_param(&ms, "delay", MAX_DELAY_MS)?;
    precise_sleep(Duration::from_millis(ms)).await;
    Ok(Json(json!({
        "delay_ms": ms,
        "method": method.as_str(),
        "url": uri.to_string(),
        "args": query_json(&uri),
    })))
}

/// `ANY /status/{code}`: answers with that status (200..=599); 3xx ones point at `/get`.
pub(crate) async fn status(Path(code): Path<String>) -> Result<Response, ApiError> {
    let code = parse_param(&code, "status", 599)?;
    let status = u16::try_from(code)
        .ok()
        .filter(|c| *c >= 200)
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| ApiError::bad_request("status must be within 200..=599"))?;
    let mut res = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        status.into_response()
    } else {
        (status, Json(json!({ "status": code }))).into_response()
    };
    if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
        res.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/get"));
    }
    Ok(res)
}

/// `GET /bytes/{n}`: n bytes (`abc...z` repeated), streamed, at most 64 MiB.
pub(crate) async fn bytes(Path(n): Path<String>) -> Result<Response, ApiError> {
    let n = parse_param(&n, "length", MAX_BYTES)?;
    let len = usize::try_from(n).map_err(|_| ApiError::bad_request("length too large"))?;
    let chunks = len.div_ceil(CHUNK_LEN);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let size = (len - i * CHUNK_LEN).min(CHUNK_LEN);
        Ok::<_, Infallible>(Bytes::from_static(&PATTERN[..size]))
    }));
    let mut res = Response::new(Body::from_stream(stream));
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    Ok(res)
}

/// The query string as a JSON object; a repeated key becomes an array.
pub(crate) fn query_json(uri: &Uri) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        let v = Value::String(v.into_owned());
        match out.get_mut(k.as_ref()) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.take(), v]),
            None => {
                out.insert(k.into_owned(), v);
            }
        }
    }
    out
}

/// The query string as a map (a repeated key keeps its last value); never fails.
pub(crate) fn query_map(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `user-agent` -> `User-Agent`, as httpbin shows header names.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

/// Request headers as a JSON object with title-cased names; repeats joined with `, `.
pub(crate) fn headers_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let key = title_case(name.as_str());
        match out.get_mut(&key) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&value);
            }
            _ => {
                out.insert(key, Value::String(value));
            }
        }
    }
    out
}

fn body_parts(headers: &HeaderMap, body: &Bytes) -> (Value, Value, Value) {
    let text = Value::String(String::from_utf8_lossy(body).into_owned());
    let form = if is_form(headers) {
        Value::Object(parse_form(body))
    } else {
        json!({})
    };
    let parsed = serde_json::from_slice(body).unwrap_or(Value::Null);
    (text, form, parsed)
}

/// The client's address, when the server recorded it.
pub(crate) struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

fn origin(peer: Peer) -> String {
    peer.0
        .map_or_else(|| "127.0.0.1".to_string(), |a| a.ip().to_string())
}

fn full_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}{uri}")
}

/// `ANY /echo`: the request as JSON {method, path, query, headers, body, json}.
pub(crate) async fn echo(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Json<Value> {
    let (text, _, parsed) = body_parts(&headers, &body);
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": query_json(&uri),
        "headers": headers_json(&headers),
        "body": text,
        "json": parsed,
    }))
}

/// `GET /get`: httpbin's {args, headers, origin, url}.
pub(crate) async fn get(uri: Uri, headers: HeaderMap, peer: Peer) -> Json<Value> {
    Json(json!({
        "args": query_json(&uri),
        "headers": headers_json(&headers),
        "origin": origin(peer),
        "url": full_url(&headers, &uri),
    }))
}

/// `POST /post` (and `/put`, `/patch`, `/delete`, `ANY /anything`): httpbin's
/// {args, data, files, form, headers, json, method, origin, url}.
pub(crate) async fn anything(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Peer,
    RawBody(body): RawBody,
) -> Json<Value> {
    let (text, form, parsed) = body_parts(&headers, &body);
    Json(json!({
        "args": query_json(&uri),
        "data": text,
        "files": {},
        "form": form,
        "headers": headers_json(&headers),
        "json": parsed,
        "method": method.as_str(),
        "origin": origin(peer),
        "url": full_url(&headers, &uri),
    }))
}

/// Undoes one `Content-Encoding` layer.
fn decode_layer(encoding: &str, data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out)?,
        "deflate" => flate2::read::ZlibDecoder::new(data).read_to_end(&mut out)?,
        "br" => brotli::Decompressor::new(data, 4096).read_to_end(&mut out)?,
        "zstd" => return zstd::stream::decode_all(data),
        "identity" => return Ok(data.to_vec()),
        other => {
            return Err(std::io::Error::other(format!(
                "unsupported Content-Encoding {other:?}"
            )))
        }
    };
    Ok(out)
}

/// `ANY /decompress`: the request body with its `Content-Encoding` layers undone (last
/// first): {content_encoding, data} or 400 with the reason.
pub(crate) async fn decompress(
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut data = body.to_vec();
    for layer in encoding
        .rsplit(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        data = decode_layer(layer, &data).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    Ok(Json(json!({
        "content_encoding": encoding,
        "data": String::from_utf8_lossy(&data),
    })))
}

/// `GET /headers`.
pub(crate) async fn headers(headers: HeaderMap) -> Json<Value> {
    Json(json!({ "headers": headers_json(&headers) }))
}

/// `GET /user-agent`.
pub(crate) async fn user_agent(headers: HeaderMap) -> Json<Value> {
    let ua = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Json(json!({ "user-agent": ua }))
}

/// `GET /ip`.
pub(crate) async fn ip(peer: Peer) -> Json<Value> {
    Json(json!({ "origin": origin(peer) }))
}

/// The cookies a request carries.
fn request_cookies(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.trim().to_string(), Value::String(v.trim().to_string())))
        })
        .collect()
}

/// `GET /cookies`: {cookies} received.
pub(crate) async fn cookies(headers: HeaderMap) -> Json<Value> {
    Json(json!({ "cookies": request_cookies(&headers) }))
}

fn cookie_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'=' | b'"' | b'\\'))
}

/// `GET /cookies/set?k=v`: sets each pair as a cookie and answers {cookies}: those received,
/// updated with the ones just set (what httpbin shows after its redirect).
pub(crate) async fn cookies_set(uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    let mut jar = request_cookies(&headers);
    let mut set = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if !cookie_safe(&k) || !(v.is_empty() || cookie_safe(&v)) {
            return Err(ApiError::bad_request(format!(
                "cookie {k:?}={v:?} has unsafe characters"
            )));
        }
        let header = HeaderValue::try_from(format!("{k}={v}; Path=/"))
            .map_err(|_| ApiError::bad_request("invalid cookie"))?;
        set.push(header);
        jar.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let mut res = Json(json!({ "cookies": jar })).into_response();
    for h in set {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(res)
}

/// `GET /cookies/delete?k`: expires the named cookies and answers {cookies} left.
pub(crate) async fn cookies_delete(uri: Uri, headers: HeaderMap) -> Response {
    let mut jar = request_cookies(&headers);
    let mut res_headers = Vec::new();
    for (k, _) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        jar.remove(k.as_ref());
        if let Ok(h) = HeaderValue::try_from(format!("{k}=; Path=/; Max-Age=0")) {
            res_headers.push(h);
        }
    }
    let mut res = Json(json!({ "cookies": jar })).into_response();
    for h in res_headers {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
    res
}

/// `GET /redirect/{n}`: 302 to `/redirect/{n-1}`, the last one to `/get`.
pub(crate) async fn redirect(Path(n): Path<String>) -> Result<Response, ApiError> {
    let n = parse_param(&n, "redirect count", MAX_REDIRECTS)?;
    let location = if n <= 1 {
        "/get".to_string()
    } else {
        format!("/redirect/{}", n - 1)
    };
    let location =
        HeaderValue::try_from(location).map_err(|_| ApiError::bad_request("bad redirect"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_cases_names() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-a-b"), "X-A-B");
    }

    #[test]
    fn repeated_query_keys_become_arrays() {
        let uri: Uri = "/get?a=1&a=2&b=x%20y".parse().expect("uri");
        let q = query_json(&uri);
        assert_eq!(q["a"], json!(["1", "2"]));
        assert_eq!(q["b"], json!("x y"));
    }
}
