//! JSON error answers and lenient request-body parsing shared by every handler.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, StatusCode};
use serde_json::{json, Map, Value};

/// An error answered as `{"error": message, "status": code}`.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.message, "status": self.status.as_u16() }));
        let mut res = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

/// The raw request body, capped by the router's body limit (413 beyond it).
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| ApiError::new(e.status(), e.body_text()))
    }
}

/// A request body as JSON, whatever its Content-Type (k6 sends `JSON.stringify` bodies without
/// one), or as an object of strings when it is `application/x-www-form-urlencoded`.
pub(crate) struct Payload(pub Value);

impl<S: Send + Sync> FromRequest<S> for Payload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let form = is_form(req.headers());
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        // curl -d sends JSON labelled as a form: trust the body's first byte over the label.
        if form && !matches!(first, Some(b'{' | b'[')) {
            return Ok(Payload(Value::Object(parse_form(&bytes))));
        }
        if first.is_none() {
            return Err(ApiError::bad_request(
                "request body is empty; expected JSON",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(Payload)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

pub(crate) fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `a=1&b=2` as a JSON object of strings (a repeated key keeps its last value).
pub(crate) fn parse_form(bytes: &[u8]) -> Map<String, Value> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// The first of `names` present in `v` as a non-empty string.
pub(crate) fn str_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| Some(v.get(*n)?.as_str()?.trim()).filter(|s| !s.is_empty()))
}

/// Like [`str_field`], answering 400 when absent.
pub(crate) fn require_str<'a>(v: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    if !v.is_object() {
        return Err(ApiError::bad_request("expected a JSON object"));
    }
    str_field(v, &[name])
        .ok_or_else(|| ApiError::bad_request(format!("missing or empty string field `{name}`")))
}

/// The first of `names` present as an unsigned integer (a number or a numeric string).
pub(crate) fn u64_field(v: &Value, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|n| as_u64(v.get(*n)?))
}

pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The first of `names` present as a number (or numeric string).
pub(crate) fn f64_field(v: &Value, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|n| match v.get(*n)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Page and limit from a query map: page >= 1 (default 1), limit in 1..=100 (default 20).
pub(crate) fn pagination(q: &std::collections::HashMap<String, String>) -> (usize, usize) {
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    (page, limit)
}

/// `{data, page, limit, total, totalPages}` for one page of `items`.
pub(crate) fn page_json(data: Vec<Value>, page: usize, limit: usize, total: usize) -> Value {
    json!({
        "data": data,
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": total.div_ceil(limit),
    })
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `2025-01-02T03:04:05.678Z` for milliseconds since the epoch.
pub(crate) fn iso8601(millis: u64) -> String {
    let secs = millis / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn fields() {
        let v = json!({"a": "7", "b": 8, "c": " ", "d": "x"});
        assert_eq!(u64_field(&v, &["a"]), Some(7));
        assert_eq!(u64_field(&v, &["z", "b"]), Some(8));
        assert_eq!(str_field(&v, &["c", "d"]), Some("x"));
        assert!(require_str(&v, "c").is_err());
        assert!(require_str(&json!([1]), "a").is_err());
    }
}
