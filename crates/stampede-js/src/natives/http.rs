//! `k6/http`'s natives: turn the prepared request into a [`stampede_http::Request`], block the VU
//! on it, emit k6's `http_req_*` metrics for every hop, and hand back a plain response object.

use std::rc::Rc;
use std::time::Duration;

use rquickjs::{
    qjs, Array, ArrayBuffer, Ctx, Exception, FromJs, Function, Object, Persistent, Result, Value,
};
use stampede_core::SystemTag;
use stampede_http::{AuthScheme, Hop, Request, Response};
use stampede_metrics::{builtin, MetricId, MetricType};

use super::metrics::tags_of;
use super::{bytes_of, interrupted, throw};
use crate::vu::VuState;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq)]
enum BodyMode {
    Text,
    Binary,
    None,
}

/// What this layer needs of a request once it is sent: [`prepare`] hands the request itself
/// to the client apart from this.
struct Prepared {
    method: http::Method,
    tags: Vec<(String, String)>,
    mode: BodyMode,
    /// `Some(None)`: the request's own `responseCallback: null`.
    callback: Option<Option<Vec<(u16, u16)>>>,
    /// Raise a failed request as an exception: the request's `throw` param, else the option.
    throw: bool,
    /// k6's `auth` param: with digest or NTLM, a 401 first response counts as expected.
    auth: AuthScheme,
    /// Why the request is not sent (a param k6 refuses, e.g. an unknown `compression`).
    refused: Option<String>,
    /// A URL that does not parse: what k6 (Go) makes of it (boxed: it is rare, and the
    /// struct moves with every request).
    bad_url: Option<Box<BadUrl>>,
}

/// What k6 does with a URL the `url` crate can't parse. Go's parser is laxer: a relative URL,
/// one without a host or with a port out of range is handed to Go's client, which fails it
/// as a request (counted in `http_reqs`); one Go can't parse either fails with 1020 before.
struct BadUrl {
    code: u32,
    /// `res.error`.
    error: String,
    /// Go's error text (the warning's `error`, the `throw` exception).
    go_error: String,
    /// The URL as Go prints it: the `url` and `name` tags.
    shown: String,
    /// `res.url`: as the script gave it, or empty when Go can't parse it either.
    res_url: String,
    /// Counted as a failed request (else not at all).
    counted: bool,
}

impl BadUrl {
    fn classify(method: &http::Method, raw: &str, e: url::ParseError) -> BadUrl {
        use url::ParseError as E;
        let m = method.as_str();
        let verb = format!("{}{}", &m[..1], m[1..].to_ascii_lowercase());
        let shown = match raw.split_once("://") {
            // Go prints a URL without a host as `scheme:`.
            Some((scheme, "")) => format!("{scheme}:"),
            _ => raw.replace(' ', "%20"),
        };
        let sent = |code: u32, error: String| BadUrl {
            code,
            go_error: format!("{verb} \"{shown}\": {error}"),
            error,
            shown: shown.clone(),
            res_url: raw.to_string(),
            counted: true,
        };
        let port_digits = || {
            let authority = raw.split_once("://").map_or("", |(_, rest)| rest);
            let host = authority.split(['/', '?', '#']).next().unwrap_or("");
            host.rsplit_once(':')
                .map(|(_, p)| p.to_string())
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        match e {
            E::RelativeUrlWithoutBase => sent(1000, "unsupported protocol scheme \"\"".into()),
            E::EmptyHost => sent(1000, "http: no Host in request URL".into()),
            E::InvalidPort if port_digits().is_some() => {
                let port = port_digits().unwrap_or_default();
                sent(1210, format!("dial tcp: address {port}: invalid port"))
            }
            other => {
                let reason = match other {
                    E::InvalidDomainCharacter | E::IdnaError => {
                        let host = raw.split_once("://").map_or(raw, |(_, r)| r);
                        match host
                            .chars()
                            .find(|c| " <>\"{}|\\^`%".contains(*c) || c.is_control())
                        {
                            Some(c) => {
                                format!("invalid character {:?} in host name", c.to_string())
                            }
                            None => other.to_string(),
                        }
                    }
                    _ => other.to_string(),
                };
                let error = format!("invalid URL: parse \"{raw}\": {reason}");
                BadUrl {
                    code: 1020,
                    go_error: error.clone(),
                    error,
                    shown,
                    res_url: String::new(),
                    counted: false,
                }
            }
        }
    }
}

/// The response to a request whose URL doesn't parse, as k6's: a failed request when Go's
/// client would have tried it (counted, with its URL as Go prints it), else not counted.
fn bad_url<'js>(
    ctx: &Ctx<'js>,
    s: &VuState,
    p: &Prepared,
    req: Value<'js>,
    url: url::Url,
    b: &BadUrl,
) -> Result<Value<'js>> {
    let mut r = Response::not_sent(url.clone(), b.error.clone());
    r.error_code = b.code;
    if b.counted {
        let hop = Hop {
            method: p.method.clone(),
            url,
            status: 0,
            proto: "",
            tls_version: "",
            timings: Default::default(),
            bytes_sent: 0,
            bytes_received: 0,
            error_code: b.code,
            debug: None,
        };
        // Named by the URL as Go prints it, unless the script named the request.
        let mut tags = p.tags.clone();
        if !tags.iter().any(|(k, _)| k == "name") {
            tags.push(("name".into(), b.shown.clone()));
        }
        let expected = match &p.callback {
            Some(cb) => cb.clone(),
            None => s.expected.borrow().clone(),
        };
        emit_hop(s, &hop, Some(&b.error), &tags, &expected);
    }
    if p.throw {
        return Err(go_exception(ctx, &b.go_error));
    }
    crate::console::emit(
        crate::LogLevel::Warning,
        "Request Failed",
        &[("error", &b.go_error)],
    );
    make_response(ctx, s, p, req, r)
}

/// k6's exception for a failed request under `throw`: a `GoError`, as k6 raises Go errors.
pub(crate) fn go_exception(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    match Exception::from_message(ctx.clone(), message).and_then(|e| {
        e.set("name", "GoError")?;
        Ok(e)
    }) {
        Ok(e) => ctx.throw(e.into_value()),
        Err(e) => e,
    }
}

/// Reads an `expectedStatuses(...)` result (or null) into status ranges.
fn ranges_of(ctx: &Ctx<'_>, v: &Value<'_>) -> Result<Option<Vec<(u16, u16)>>> {
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    let obj = v.as_object().ok_or_else(|| {
        throw(
            ctx,
            "responseCallback must be the result of http.expectedStatuses() or null",
        )
    })?;
    let ranges: Option<Array<'_>> = obj.get("__expectedStatuses")?;
    let ranges = ranges.ok_or_else(|| {
        throw(
            ctx,
            "only http.expectedStatuses() callbacks are supported as responseCallback",
        )
    })?;
    let mut out = Vec::new();
    for r in ranges.iter::<Vec<f64>>() {
        let r = r?;
        if r.len() == 2 {
            out.push((r[0].clamp(0.0, 999.0) as u16, r[1].clamp(0.0, 999.0) as u16));
        }
    }
    Ok(Some(out))
}

fn pairs<'js>(v: Option<Array<'js>>) -> Result<Vec<Vec<String>>> {
    let Some(a) = v else { return Ok(Vec::new()) };
    a.iter::<Vec<String>>().collect()
}

/// Reads the array `prepare()` in `k6_http.js` builds (see there for the layout).
/// Element `i` of the request array; past its end `undefined` without the prototype-chain
/// lookup a read out of bounds costs (the `get()` fast path passes only two elements).
fn item<'js, T: FromJs<'js>>(a: &Array<'js>, len: usize, i: usize) -> Result<T> {
    if i < len {
        a.get(i)
    } else {
        T::from_js(a.ctx(), Value::new_undefined(a.ctx().clone()))
    }
}

fn prepare<'js>(ctx: &Ctx<'js>, s: &VuState, a: &Array<'js>) -> Result<(Request, Prepared)> {
    let len = a.len();
    // Borrowed: QuickJS hands out ASCII strings without a copy.
    let method: rquickjs::CString<'js> = item(a, len, 0)?;
    let url_s: rquickjs::CString<'js> = item(a, len, 1)?;
    let (method, url_s) = (method.as_str(), url_s.as_str());
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| throw(ctx, format!("invalid HTTP method {method:?}")))?;
    let (url, bad_url) = match s.parse_url(url_s) {
        Ok(url) => (url, None),
        Err(e) => (
            // Never requested: the request fails as `bad_url` says.
            url::Url::parse("http://invalid.invalid/").map_err(|e| throw(ctx, e.to_string()))?,
            Some(Box::new(BadUrl::classify(&method, url_s, e))),
        ),
    };
    let body: Value<'js> = item(a, len, 2)?;
    let has_body = !(body.is_undefined() || body.is_null());
    let mut body = if has_body {
        bytes_of(&body).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut headers: Vec<(String, String)> = pairs(item(a, len, 3)?)?
        .into_iter()
        .filter_map(|mut h| {
            (h.len() == 2).then(|| (std::mem::take(&mut h[0]), std::mem::take(&mut h[1])))
        })
        .collect();
    // The rarer params (jar, auth, compression) follow only when the script gave one.
    let rare = len > 12;
    let mut refused = None;
    let compression = if rare {
        item::<Option<String>>(a, len, 14)?
    } else {
        None
    };
    if let Some(list) = compression {
        match stampede_http::Compression::parse_list(&list) {
            Err(e) => refused = Some(e),
            Ok(algos) if has_body && !algos.is_empty() => {
                compress(&algos, &method, &url, &mut body, &mut headers)
                    .map_err(|e| throw(ctx, format!("compressing the body: {e}")))?;
            }
            Ok(_) => {}
        }
    }
    let mut cookies = Vec::new();
    let mut replace_jar_cookies = Vec::new();
    for c in pairs(item(a, len, 4)?)? {
        if c.len() >= 2 {
            if c.get(2).is_some_and(|r| r == "1") {
                replace_jar_cookies.push(c[0].clone());
            }
            cookies.push((c[0].clone(), c[1].clone()));
        }
    }
    let tags = tags_of(item::<Option<Object<'js>>>(a, len, 5)?);
    let settings = &s.worker.test.settings;
    let timeout = match item::<Option<f64>>(a, len, 6)? {
        Some(ms) if ms > 0.0 => Duration::from_secs_f64(ms / 1000.0),
        _ => DEFAULT_TIMEOUT,
    };
    let max_redirects = item::<Option<f64>>(a, len, 7)?
        .map(|n| n.max(0.0) as u32)
        .unwrap_or(settings.max_redirects);
    let mode = match item::<Option<String>>(a, len, 8)?.as_deref() {
        Some("binary") => BodyMode::Binary,
        Some("none") => BodyMode::None,
        Some("text") => BodyMode::Text,
        _ if settings.discard_response_bodies => BodyMode::None,
        _ => BodyMode::Text,
    };
    let callback = if item::<Option<bool>>(a, len, 9)?.unwrap_or(false) {
        let cb: Value<'js> = item(a, len, 10)?;
        Some(ranges_of(ctx, &cb)?)
    } else {
        None
    };
    let throw = item::<Option<bool>>(a, len, 11)?.unwrap_or(settings.throw);
    let (jar, auth) = if rare {
        let jar = item::<Option<rquickjs::Class<'js, super::cookie_jar::JarHandle>>>(a, len, 12)?
            .map(|h| h.borrow().jar.clone());
        // As k6: "digest" and "ntlm" start a handshake; anything else leaves Basic from the
        // URL.
        let auth = match item::<Option<rquickjs::CString<'js>>>(a, len, 13)?
            .as_ref()
            .map(|s| s.as_str())
        {
            Some("digest") => AuthScheme::Digest,
            Some("ntlm") => AuthScheme::Ntlm,
            _ => AuthScheme::Basic,
        };
        (jar, auth)
    } else {
        (None, AuthScheme::Basic)
    };
    let prepared = Prepared {
        method: method.clone(),
        tags,
        mode,
        callback,
        throw,
        auth,
        refused,
        bad_url,
    };
    let req = Request {
        method,
        url,
        headers,
        body: body.into(),
        timeout,
        max_redirects,
        discard_body: mode == BodyMode::None,
        cookies,
        replace_jar_cookies,
        use_jar: true,
        jar,
        auth,
        debug: settings.http_debug,
    };
    Ok((req, prepared))
}

/// Logs one round trip as k6's `httpDebug` does: `Request:` and `Response:` lines at info
/// level, with the VU's tags, `iter`, `vu`, `source=http-debug` and a `request_id` pairing them
/// (fields in logrus' order: sorted by name).
fn log_dump(s: &VuState, dump: &stampede_http::HopDump, user_tags: &[(String, String)]) {
    use rand::Rng as _;
    let id: u128 = rand::rng().random();
    let hex = format!("{id:032x}");
    let request_id = format!(
        "{}-{}-4{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    );
    let user: Vec<(&str, &str)> = user_tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (mut vu, mut iter) = (itoa::Buffer::new(), itoa::Buffer::new());
    let vu = vu.format(s.id);
    let iter = iter.format(s.iterations.get().saturating_sub(1));
    s.with_base_tags(&user, |tags, _| {
        let mut fields: Vec<(&str, &str)> = tags.to_vec();
        if !fields.iter().any(|(k, _)| *k == "group") {
            fields.push(("group", ""));
        }
        fields.extend([
            ("iter", iter),
            ("request_id", request_id.as_str()),
            ("source", "http-debug"),
            ("vu", vu),
        ]);
        fields.sort_by(|a, b| a.0.cmp(b.0));
        let msg = format!("Request:\n{}\n", dump.request);
        crate::console::emit(crate::LogLevel::Info, &msg, &fields);
        if let Some(r) = &dump.response {
            let msg = format!("Response:\n{r}\n");
            crate::console::emit(crate::LogLevel::Info, &msg, &fields);
        }
    });
}

/// A request k6 refuses before sending it (a bad param): raised under the `throw` option (as
/// k6, the option, not the param), else logged, and answered with a response that is only an
/// error (no metrics).
fn refused<'js>(
    ctx: &Ctx<'js>,
    s: &VuState,
    p: &Prepared,
    req: Value<'js>,
    url: url::Url,
    error: &str,
    warning: &str,
) -> Result<Value<'js>> {
    if s.worker.test.settings.throw {
        return Err(go_exception(ctx, error));
    }
    crate::console::emit(crate::LogLevel::Warning, warning, &[("error", error)]);
    make_response(ctx, s, p, req, Response::not_sent(url, error.to_string()))
}

/// Compresses the body as k6's `compression` param asks and sets `Content-Encoding`, unless
/// the script set another (then k6 warns and sends its header with the compressed body).
fn compress(
    algos: &[stampede_http::Compression],
    method: &http::Method,
    url: &url::Url,
    body: &mut Vec<u8>,
    headers: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    let (data, encoding) = stampede_http::compress_body(algos, body)?;
    *body = data;
    match headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
    {
        None => headers.push(("Content-Encoding".to_string(), encoding)),
        Some((_, own)) if *own == encoding => {}
        Some(_) => crate::console::emit(
            crate::LogLevel::Warning,
            &format!(
                "There's a mismatch between the desired `compression` the manually set `Content-Encoding` header in the {method} request for '{url}', the custom header has precedence and won't be overwritten. This may result in invalid data being sent to the server."
            ),
            &[],
        ),
    }
    Ok(())
}

/// Emits the metrics of one hop (`error`: the failure of the request, on its last hop).
fn emit_hop(
    s: &VuState,
    hop: &Hop,
    error: Option<&str>,
    user_tags: &[(String, String)],
    expected: &Option<Vec<(u16, u16)>>,
) {
    let sys = s.worker.test.settings.system_tags;
    let mut status_buf = itoa::Buffer::new();
    let status = status_buf.format(hop.status);
    let name = user_tags
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str());
    // k6 tags a named request's `url` with its name too, so that neither splits the series.
    let url = name.unwrap_or(hop.url.as_str());
    let mut code_buf = itoa::Buffer::new();
    let error_code = code_buf.format(hop.error_code);
    let ok = expected.as_ref().map(|ranges| {
        hop.status != 0 && ranges.iter().any(|(a, b)| (*a..=*b).contains(&hop.status))
    });
    let mut tags: smallvec::SmallVec<[(&str, &str); 12]> = smallvec::SmallVec::new();
    let mut tag = |t: SystemTag, v: &'static str, value| {
        if sys.has(t) {
            tags.push((v, value));
        }
    };
    tag(SystemTag::Method, "method", hop.method.as_str());
    tag(SystemTag::Url, "url", url);
    if name.is_none() {
        tag(SystemTag::Name, "name", url);
    }
    tag(SystemTag::Status, "status", status);
    tag(SystemTag::Proto, "proto", hop.proto);
    if let Some(ok) = ok {
        tag(
            SystemTag::ExpectedResponse,
            "expected_response",
            if ok { "true" } else { "false" },
        );
    }
    if hop.error_code != 0 {
        tag(SystemTag::ErrorCode, "error_code", error_code);
    }
    if let Some(e) = error {
        tag(SystemTag::Error, "error", e);
    }
    if !hop.tls_version.is_empty() {
        tag(SystemTag::TlsVersion, "tls_version", hop.tls_version);
    }
    // The script's own tags, its `name` too, whatever the system tags.
    for (k, v) in user_tags {
        tags.push((k, v));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let t = &hop.timings;
    let mut values: smallvec::SmallVec<[(MetricId, MetricType, f64); 9]> = smallvec::smallvec![
        (builtin::HTTP_REQS, MetricType::Counter, 1.0),
        (
            builtin::HTTP_REQ_DURATION,
            MetricType::Trend,
            ms(t.duration)
        ),
        (builtin::HTTP_REQ_BLOCKED, MetricType::Trend, ms(t.blocked)),
        (
            builtin::HTTP_REQ_CONNECTING,
            MetricType::Trend,
            ms(t.connecting)
        ),
        (
            builtin::HTTP_REQ_TLS_HANDSHAKING,
            MetricType::Trend,
            ms(t.tls_handshaking)
        ),
        (builtin::HTTP_REQ_SENDING, MetricType::Trend, ms(t.sending)),
        (builtin::HTTP_REQ_WAITING, MetricType::Trend, ms(t.waiting)),
        (
            builtin::HTTP_REQ_RECEIVING,
            MetricType::Trend,
            ms(t.receiving)
        ),
    ];
    if let Some(ok) = ok {
        let failed = if ok { 0.0 } else { 1.0 };
        values.push((builtin::HTTP_REQ_FAILED, MetricType::Rate, failed));
    }
    s.emit_all(&tags, &values);
    s.bytes_sent.set(s.bytes_sent.get() + hop.bytes_sent);
    s.bytes_received
        .set(s.bytes_received.get() + hop.bytes_received);
}

/// The parts of a response a script reads only on demand, through the getters of
/// `k6_http.js`'s `Response` (`status_text`, `url`, `headers`, `timings`...). They stay in Rust
/// until read: most scripts look at `status` and `body` and nothing else, and building every
/// field as a JS value for each response was a good part of a request's CPU.
#[derive(rquickjs::class::Trace, rquickjs::JsLifetime)]
#[rquickjs::class(rename = "ResponseMeta")]
pub(crate) struct ResponseMeta {
    /// The response without its body (the body is an own property of the JS object) and hops.
    #[qjs(skip_trace)]
    r: Response,
    /// blocked, connecting, tls_handshaking, sending, waiting, receiving, duration (ms).
    #[qjs(skip_trace)]
    timings: [f64; 7],
    /// `res.url` when the URL did not parse.
    #[qjs(skip_trace)]
    url: Option<String>,
}

#[rquickjs::methods]
impl ResponseMeta {
    /// 0 status_text, 1 proto, 2 url, 3 remote_ip, 4 remote_port, 5 error, 6 error_code,
    /// 7 the `Set-Cookie` values as lines (parsed by `k6_http.js`), 8 the `Cookie` header sent,
    /// 9 tls_version, 10 tls_cipher_suite.
    pub fn field<'js>(&self, ctx: Ctx<'js>, i: u32) -> Result<Value<'js>> {
        let r = &self.r;
        let text = |t: &str| rquickjs::String::from_str(ctx.clone(), t).map(|s| s.into_value());
        match i {
            0 => text(&r.status_text),
            1 => text(r.proto),
            2 => text(self.url.as_deref().unwrap_or(r.url.as_str())),
            3 => text(&r.remote_ip.map(|ip| ip.to_string()).unwrap_or_default()),
            4 => Ok(Value::new_int(ctx.clone(), i32::from(r.remote_port))),
            5 => text(r.error.as_deref().unwrap_or("")),
            6 => Ok(Value::new_number(ctx.clone(), f64::from(r.error_code))),
            7 => text(&r.set_cookies.join("\n")),
            8 => text(&r.sent_cookie),
            9 => text(r.tls_version),
            10 => text(r.tls_cipher_suite),
            _ => Ok(Value::new_undefined(ctx.clone())),
        }
    }

    /// The headers as k6's `res.headers`: Go-canonical names, repeated headers already joined.
    pub fn headers<'js>(&self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        let h = Object::new(ctx)?;
        for (k, v) in &self.r.headers {
            h.set(k.as_str(), v.as_str())?;
        }
        Ok(h)
    }

    /// The final round trip's timings, in the order of the `timings` field.
    pub fn timings<'js>(&self, ctx: Ctx<'js>) -> Result<Array<'js>> {
        let a = Array::new(ctx)?;
        for (i, t) in self.timings.iter().enumerate() {
            a.set(i, *t)?;
        }
        Ok(a)
    }
}

/// What a response object is made of: `k6_http.js`'s `Response.prototype` and the atoms of
/// the four own properties every response gets.
pub(crate) struct ResponseShape {
    proto: Persistent<Object<'static>>,
    /// `status`, `body`, `_n`, `_req`: interned once, not per response.
    atoms: [qjs::JSAtom; 4],
}

impl ResponseShape {
    fn new<'js>(ctx: &Ctx<'js>, proto: Object<'js>) -> Self {
        let atoms = ["status", "body", "_n", "_req"].map(|name| {
            // SAFETY: a valid context on this thread; the atom is freed by `release`.
            unsafe {
                qjs::JS_NewAtomLen(ctx.as_raw().as_ptr(), name.as_ptr().cast(), name.len() as _)
            }
        });
        ResponseShape {
            proto: Persistent::save(ctx, proto),
            atoms,
        }
    }

    /// Gives the atoms back; call before the context goes.
    pub(crate) fn release(self, ctx: &Ctx<'_>) {
        for atom in self.atoms {
            // SAFETY: each atom was created by `new` in this runtime and is freed once.
            unsafe { qjs::JS_FreeAtom(ctx.as_raw().as_ptr(), atom) };
        }
    }
}

/// Builds the script's `Response` natively: an object with `Response.prototype` and the own
/// data properties `status`, `body`, `_n` (the [`ResponseMeta`] with everything else) and
/// `_req` (the request array, for `res.request`). Defining them directly skips what a JS
/// assignment does first: look along the prototype chain, which holds all the getters, for a
/// setter.
fn make_response<'js>(
    ctx: &Ctx<'js>,
    s: &VuState,
    p: &Prepared,
    req: Value<'js>,
    mut r: Response,
) -> Result<Value<'js>> {
    let (proto, atoms) = {
        let shape = s.response_shape.borrow();
        let shape = shape
            .as_ref()
            .ok_or_else(|| throw(ctx, "k6/http is not initialized"))?;
        (shape.proto.clone().restore(ctx)?, shape.atoms)
    };
    let body: Value<'js> = match p.mode {
        BodyMode::None => Value::new_null(ctx.clone()),
        _ if r.status == 0 && r.body.is_empty() => Value::new_null(ctx.clone()),
        BodyMode::Binary => {
            s.typed_arrays(ctx)?;
            ArrayBuffer::new(ctx.clone(), r.body.to_vec())?.into_value()
        }
        BodyMode::Text => {
            rquickjs::String::from_str(ctx.clone(), &String::from_utf8_lossy(&r.body))?.into_value()
        }
    };
    let t = r.hops.last().map(|h| h.timings).unwrap_or_default();
    let timings = [
        t.blocked,
        t.connecting,
        t.tls_handshaking,
        t.sending,
        t.waiting,
        t.receiving,
        t.duration,
    ]
    .map(|d| d.as_secs_f64() * 1000.0);
    let status = Value::new_int(ctx.clone(), i32::from(r.status));
    r.body = bytes::Bytes::new();
    r.hops = Vec::new();
    let meta = rquickjs::Class::instance(
        ctx.clone(),
        ResponseMeta {
            r,
            timings,
            url: p.bad_url.as_ref().map(|b| b.res_url.clone()),
        },
    )?
    .into_value();
    let c = ctx.as_raw().as_ptr();
    // SAFETY: every value belongs to this context; JS_NewObjectProto returns an owned value
    // (or an exception), and JS_DefinePropertyValue takes ownership of the value it is given,
    // so each is duplicated from a value that is still dropped normally here.
    unsafe {
        let obj = qjs::JS_NewObjectProto(c, proto.as_raw());
        if qjs::JS_IsException(obj) {
            // Pending in the context: the caller's catch sees it.
            return Err(rquickjs::Error::Exception);
        }
        let obj = Value::from_raw(ctx.clone(), obj);
        for (atom, v) in atoms.into_iter().zip([&status, &body, &meta, &req]) {
            let flags = (qjs::JS_PROP_C_W_E | qjs::JS_PROP_THROW) as _;
            if qjs::JS_DefinePropertyValue(
                c,
                obj.as_raw(),
                atom,
                qjs::JS_DupValue(c, v.as_raw()),
                flags,
            ) < 0
            {
                return Err(rquickjs::Error::Exception);
            }
        }
        Ok(obj)
    }
}

#[inline(never)]
fn finish<'js>(
    ctx: &Ctx<'js>,
    s: &VuState,
    p: &Prepared,
    req: Value<'js>,
    r: Response,
) -> Result<Value<'js>> {
    let expected = match &p.callback {
        Some(cb) => cb.clone(),
        None => s.expected.borrow().clone(),
    };
    let last = r.hops.len().saturating_sub(1);
    for (i, hop) in r.hops.iter().enumerate() {
        if let Some(dump) = &hop.debug {
            log_dump(s, dump, &p.tags);
        }
        let error = r.error.as_deref().filter(|_| i == last);
        if i == 0 && p.auth != AuthScheme::Basic && expected.is_some() {
            // k6 expects the first response of a digest handshake to be a 401 (and of an NTLM
            // one a 401 or an expected status).
            let first = match p.auth {
                AuthScheme::Ntlm => {
                    let mut r = expected.clone().unwrap_or_default();
                    r.push((401, 401));
                    r
                }
                _ => vec![(401, 401)],
            };
            emit_hop(s, hop, error, &p.tags, &Some(first));
            continue;
        }
        emit_hop(s, hop, error, &p.tags, &expected);
    }
    if let Some(e) = r.go_error(&p.method) {
        if p.throw {
            return Err(go_exception(ctx, &e));
        }
        crate::console::emit(crate::LogLevel::Warning, "Request Failed", &[("error", &e)]);
    }
    make_response(ctx, s, p, req, r)
}

/// `http.batch`'s requests, at most `limits.total` at a time and `limits.per_host` to one
/// host and port (k6's `batch` and `batchPerHost`; 0 is no limit), their responses in order.
async fn batch_requests(
    http: stampede_http::HttpClient,
    reqs: Vec<stampede_http::Request>,
    limits: crate::BatchLimits,
    rps: Option<&governor::DefaultDirectRateLimiter>,
) -> Vec<stampede_http::Response> {
    use tokio::sync::Semaphore;
    let permits = |n: u32| {
        Semaphore::new(if n == 0 {
            Semaphore::MAX_PERMITS
        } else {
            n as usize
        })
    };
    let total = permits(limits.total);
    let mut hosts: Vec<(String, Semaphore)> = Vec::new();
    let host_of = |r: &stampede_http::Request| {
        format!(
            "{}:{}",
            r.url.host_str().unwrap_or(""),
            r.url.port_or_known_default().unwrap_or(0)
        )
    };
    for r in &reqs {
        let host = host_of(r);
        if !hosts.iter().any(|(h, _)| *h == host) {
            hosts.push((host, permits(limits.per_host)));
        }
    }
    let (total, hosts, http) = (&total, &hosts, &http);
    futures_util::future::join_all(reqs.into_iter().map(|r| async move {
        let host = host_of(&r);
        let per_host = hosts.iter().find(|(h, _)| *h == host).map(|(_, s)| s);
        // Neither semaphore is ever closed.
        let _one = total.acquire().await.ok();
        let _to_host = match per_host {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        if let Some(limiter) = rps {
            limiter.until_ready().await;
        }
        http.request(r).await
    }))
    .await
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, state: &Rc<VuState>) -> Result<()> {
    // For `res.request.headers` (a string, not a function: read once per `res.request`).
    n.set(
        "userAgent",
        state.http.user_agent().filter(|ua| !ua.is_empty()),
    )?;
    let s = state.clone();
    n.set(
        "request",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, o: Array<'js>| -> Result<Value<'js>> {
                if s.in_init.get() {
                    return Err(throw(
                        &ctx,
                        "making HTTP requests in the init context is not supported",
                    ));
                }
                let (req, p) = prepare(&ctx, &s, &o)?;
                if let Some(b) = &p.bad_url {
                    return bad_url(&ctx, &s, &p, o.into_value(), req.url, b);
                }
                if let Some(e) = &p.refused {
                    return refused(&ctx, &s, &p, o.into_value(), req.url, e, "Request Failed");
                }
                let http = s.http.clone();
                let r = if s.worker.test.rps_limiter.is_some() {
                    let test = s.worker.test.clone();
                    s.block_on(move || async move {
                        if let Some(limiter) = &test.rps_limiter {
                            limiter.until_ready().await;
                        }
                        http.request(req).await
                    })
                } else {
                    s.block_on(move || http.request(req))
                }
                .map_err(|_| interrupted(&ctx))?;
                finish(&ctx, &s, &p, o.into_value(), r)
            },
        )?,
    )?;

    let s = state.clone();
    n.set(
        "batch",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, list: Array<'js>| -> Result<Array<'js>> {
                if s.in_init.get() {
                    return Err(throw(
                        &ctx,
                        "making HTTP requests in the init context is not supported",
                    ));
                }
                let mut prepared = Vec::with_capacity(list.len());
                let mut reqs: Vec<Request> = Vec::with_capacity(list.len());
                let mut arrays: Vec<Array<'js>> = Vec::with_capacity(list.len());
                for o in list.iter::<Array<'js>>() {
                    let o = o?;
                    let (req, p) = prepare(&ctx, &s, &o)?;
                    // A URL that doesn't parse stops the batch as a refused param does.
                    let refusal = p
                        .refused
                        .clone()
                        .or_else(|| p.bad_url.as_ref().map(|b| b.go_error.clone()));
                    if let Some(e) = refusal {
                        // As k6: nothing is sent; the requests before it get empty
                        // responses, the rest none.
                        let out = Array::new(ctx.clone())?;
                        for (i, (p, (r, o))) in prepared
                            .iter()
                            .zip(reqs.into_iter().zip(arrays))
                            .enumerate()
                        {
                            let empty = Response::not_sent(r.url, String::new());
                            out.set(i, make_response(&ctx, &s, p, o.into_value(), empty)?)?;
                        }
                        let last = refused(
                            &ctx,
                            &s,
                            &p,
                            o.into_value(),
                            req.url,
                            &e,
                            "A batch request failed",
                        )?;
                        out.set(out.len(), last)?;
                        for i in out.len()..list.len() {
                            out.set(i, Value::new_null(ctx.clone()))?;
                        }
                        return Ok(out);
                    }
                    reqs.push(req);
                    prepared.push(p);
                    arrays.push(o);
                }
                let http = s.http.clone();
                let test = s.worker.test.clone();
                let results = s
                    .block_on(move || async move {
                        let limits = test.settings.batch;
                        batch_requests(http, reqs, limits, test.rps_limiter.as_ref()).await
                    })
                    .map_err(|_| interrupted(&ctx))?;
                let out = Array::new(ctx.clone())?;
                for (i, ((p, o), r)) in prepared.iter().zip(arrays).zip(results).enumerate() {
                    out.set(i, finish(&ctx, &s, p, o.into_value(), r)?)?;
                }
                Ok(out)
            },
        )?,
    )?;

    let s = state.clone();
    n.set(
        "setResponsePrototype",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, proto: Object<'js>| {
            let shape = ResponseShape::new(&ctx, proto);
            if let Some(old) = s.response_shape.borrow_mut().replace(shape) {
                old.release(&ctx);
            }
        })?,
    )?;

    let s = state.clone();
    n.set(
        "setResponseCallback",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, cb: Value<'js>| -> Result<()> {
                *s.expected.borrow_mut() = ranges_of(&ctx, &cb)?;
                Ok(())
            },
        )?,
    )?;

    // `res.json(selector)`: the selected value's JSON text, or undefined where the path selects
    // nothing (k6 runs the same gjson selectors).
    n.set(
        "gjson",
        Function::new(
            ctx.clone(),
            |body: rquickjs::String<'js>, selector: String| -> Result<Option<String>> {
                let body = body.to_string()?;
                let v = gjson::get(&body, &selector);
                Ok(v.exists().then(|| v.json().to_string()))
            },
        )?,
    )?;
    super::cookie_jar::install(ctx, n, state)?;
    Ok(())
}
