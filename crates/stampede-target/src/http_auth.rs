//! httpbin-style HTTP authentication endpoints that check the client's handshake:
//! `GET /digest-auth/{qop}/{user}/{passwd}[/{algorithm}]` (as httpbin: a 401 digest challenge,
//! then 200 `{authenticated, user}` for a correct `Authorization: Digest`) and
//! `GET /ntlm-auth/{user}/{passwd}` (NTLM: 401 `NTLM`, then a challenge for the negotiate
//! message, then 200 `{authenticated, user, domain}` for an authenticate message whose NTLMv2
//! response is right). `digest_auth` recomputes the digest; `ntlmclient` parses the NTLM
//! messages and derives the NTLMv2 key.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::json;

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn unauthorized(challenge: String) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "authenticated": false })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::try_from(challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /digest-auth/{qop}/{user}/{passwd}` (MD5) and `.../{algorithm}` (`MD5`, `SHA-256`).
pub(crate) async fn digest(
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let parts: Vec<&str> = rest.split('/').collect();
    let (qop, user, pass, algorithm) = match parts.as_slice() {
        [q, u, p] => (*q, *u, *p, "MD5"),
        [q, u, p, a] => (*q, *u, *p, *a),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let ok = authorization(&headers)
        .and_then(|a| digest_auth::AuthorizationHeader::parse(a).ok())
        .is_some_and(|mut got| {
            let sent = got.response.clone();
            let path = uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or_else(|| uri.path());
            let context = digest_auth::AuthContext::new_with_method(
                user,
                pass,
                path,
                Option::<&[u8]>::None,
                digest_auth::HttpMethod::from(method.as_str().to_string()),
            );
            got.username == user && got.uri == path && {
                got.digest(&context);
                got.response == sent
            }
        });
    if ok {
        return Json(json!({ "authenticated": true, "user": user })).into_response();
    }
    let nonce = hex(&fastrand::u128(..).to_le_bytes());
    let opaque = hex(&fastrand::u64(..).to_le_bytes());
    unauthorized(format!(
        "Digest realm=\"me@kennethreitz.com\", nonce=\"{nonce}\", qop=\"{qop}\", opaque=\"{opaque}\", algorithm={algorithm}, stale=FALSE"
    ))
}

/// The server challenge of this process (a handshake may use any connection).
fn server_challenge() -> [u8; 8] {
    static CHALLENGE: OnceLock<[u8; 8]> = OnceLock::new();
    *CHALLENGE.get_or_init(|| fastrand::u64(..).to_le_bytes())
}

/// The NTLM message of the request: its type (1 negotiate, 3 authenticate) and, for an
/// authenticate message, its contents. Only the type of a negotiate message is read: clients
/// differ in the optional fields they send (Go's omits the version `ntlmclient` expects).
fn ntlm_message(headers: &HeaderMap) -> Option<(u32, Option<ntlmclient::AuthenticateMessage>)> {
    let data = authorization(headers)?.strip_prefix("NTLM ")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()?;
    if bytes.len() < 12 || &bytes[..8] != b"NTLMSSP\0" {
        return None;
    }
    let kind = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let auth = match ntlmclient::Message::try_from(bytes.as_slice()) {
        Ok(ntlmclient::Message::Authenticate(m)) => Some(m),
        _ => None,
    };
    Some((kind, auth))
}

/// Whether an authenticate message carries `user`'s NTLMv2 response to [`server_challenge`].
fn ntlm_v2_ok(m: &ntlmclient::AuthenticateMessage, user: &str, pass: &str) -> bool {
    if !m.user_name.eq_ignore_ascii_case(user) || m.ntlm_response.len() <= 16 {
        return false;
    }
    let key = ntlmclient::ntlm_v2_password_func(&ntlmclient::Credentials {
        username: m.user_name.clone(),
        password: pass.to_string(),
        domain: m.domain_name.clone(),
    });
    let (proof, blob) = m.ntlm_response.split_at(16);
    let Ok(mut mac) = Hmac::<md5::Md5>::new_from_slice(&key) else {
        return false;
    };
    mac.update(&server_challenge());
    mac.update(blob);
    mac.verify_slice(proof).is_ok()
}

/// `GET /ntlm-auth/{user}/{passwd}`.
pub(crate) async fn ntlm(
    Path((user, pass)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match ntlm_message(&headers) {
        Some((1, _)) => {
            let challenge = ntlmclient::Message::Challenge(ntlmclient::ChallengeMessage {
                target_name: "STAMPEDE".to_string(),
                flags: ntlmclient::Flags::NEGOTIATE_UNICODE
                    | ntlmclient::Flags::NEGOTIATE_NTLM
                    | ntlmclient::Flags::REQUEST_TARGET,
                challenge: server_challenge(),
                context: (0, 0),
                target_information: vec![ntlmclient::TargetInfoEntry::from_string(
                    ntlmclient::TargetInfoType::NtServer,
                    "STAMPEDE",
                )],
                os_version: Default::default(),
            });
            match challenge.to_bytes() {
                Ok(bytes) => unauthorized(format!(
                    "NTLM {}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        Some((3, Some(m))) if ntlm_v2_ok(&m, &user, &pass) => {
            Json(json!({ "authenticated": true, "user": m.user_name, "domain": m.domain_name }))
                .into_response()
        }
        _ => unauthorized("NTLM".to_string()),
    }
}
