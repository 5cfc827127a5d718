//! k6's `auth: 'digest'` and `auth: 'ntlm'`: the extra round trips their handshakes take, with
//! the credentials of the URL's user info. `digest_auth` computes the digest and `ntlmclient`
//! builds the NTLM messages.

use base64::Engine as _;
use http::header::{HeaderMap, WWW_AUTHENTICATE};
use url::{Position, Url};

use crate::error::{code, Failure};

/// How a request authenticates beyond the Basic credentials of its URL (k6's `auth` param).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthScheme {
    /// Basic from the URL's user info, if any (k6's default, and `auth: 'basic'`).
    #[default]
    Basic,
    /// HTTP Digest: a 401 challenge is answered once with `Authorization: Digest`.
    Digest,
    /// NTLM, as Go's `ntlmssp.Negotiator`: anonymous, then negotiate, then authenticate.
    Ntlm,
}

/// The `Authorization` header of one round trip.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum AuthHeader<'a> {
    /// The script's own header, else Basic from the URL's user info.
    #[default]
    Default,
    /// None at all.
    Omit,
    /// This value, in place of any other.
    Value(&'a str),
}

fn decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The URL's user name and password, percent-decoded.
pub(crate) fn url_credentials(url: &Url) -> (String, String) {
    (
        decoded(url.username()),
        decoded(url.password().unwrap_or_default()),
    )
}

/// What a digest handshake keeps of the URL: k6's digest transport takes the user info off the
/// URL (the response's `url` and the metrics' show it without), though the first request
/// still carries it as Basic credentials.
pub(crate) fn digest_start(url: &mut Url) -> ((String, String), Option<String>) {
    let creds = url_credentials(url);
    if url.username().is_empty() && url.password().is_none() {
        return (creds, None);
    }
    let basic = crate::headers::basic_auth(url)
        .ok()
        .and_then(|v| v.to_str().ok().map(str::to_string));
    let _ = url.set_username("");
    let _ = url.set_password(None);
    (creds, basic)
}

/// The values of the response's `WWW-Authenticate` headers.
fn challenges(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

/// The `Authorization: Digest` answer to a 401's challenge, or `None` when it has no digest
/// challenge that can be answered (the 401 is then the response, as in k6).
pub(crate) fn digest_answer(
    headers: &HeaderMap,
    method: &http::Method,
    url: &Url,
    (user, pass): &(String, String),
) -> Option<String> {
    let challenge = challenges(headers).find(|c| {
        c.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("digest "))
    })?;
    let mut prompt = digest_auth::parse(challenge).ok()?;
    let uri = &url[Position::BeforePath..Position::AfterQuery];
    let context = digest_auth::AuthContext::new_with_method(
        user.as_str(),
        pass.as_str(),
        uri,
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::from(method.as_str().to_string()),
    );
    prompt.respond(&context).ok().map(|h| h.to_header_string())
}

/// Which of NTLM's steps a request is at (Go's `ntlmssp.Negotiator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NtlmStep {
    /// Sent without credentials, in case the connection is still authenticated.
    Anonymous,
    /// The server asked for no NTLM: sent again with Basic credentials.
    Basic,
    /// Sent the negotiate message.
    Negotiated,
    /// Sent the authenticate message: whatever comes back is the response.
    Done,
}

/// The server's NTLM (or Negotiate) challenge: the scheme it used and its base64 data.
fn ntlm_challenge(headers: &HeaderMap) -> Option<(&'static str, &str)> {
    challenges(headers).find_map(|c| {
        let (scheme, data) = c.split_once(' ').unwrap_or((c, ""));
        if scheme.eq_ignore_ascii_case("ntlm") {
            Some(("NTLM", data.trim()))
        } else if scheme.eq_ignore_ascii_case("negotiate") {
            Some(("Negotiate", data.trim()))
        } else {
            None
        }
    })
}

fn ntlm_error(what: impl std::fmt::Display) -> Failure {
    Failure::new(code::GENERIC, format!("ntlm: {what}"))
}

/// The user name without its domain, and the domain (`DOMAIN\user`; `user@domain` is sent as
/// it is), as Go's `ntlmssp.GetDomain` splits them.
fn split_domain(user: &str) -> (String, String) {
    match user.split_once('\\') {
        Some((domain, user)) => (user.to_string(), domain.to_string()),
        None => (user.to_string(), String::new()),
    }
}

/// NTLM's next request after a 401 at `step`: the new step and its `Authorization` value
/// (`None`: send Basic), or `Ok(None)` when the 401 is the response.
pub(crate) fn ntlm_next(
    step: NtlmStep,
    headers: &HeaderMap,
    url: &Url,
) -> Result<Option<(NtlmStep, Option<String>)>, Failure> {
    let challenge = ntlm_challenge(headers);
    match (step, challenge) {
        (NtlmStep::Anonymous, None) => Ok(Some((NtlmStep::Basic, None))),
        (NtlmStep::Anonymous | NtlmStep::Basic, Some((scheme, _))) => {
            let (user, _) = url_credentials(url);
            let (_, domain) = split_domain(&user);
            let mut flags = ntlmclient::Flags::NEGOTIATE_UNICODE
                | ntlmclient::Flags::REQUEST_TARGET
                | ntlmclient::Flags::NEGOTIATE_NTLM
                | ntlmclient::Flags::NEGOTIATE_ALWAYS_SIGN
                | ntlmclient::Flags::NEGOTIATE_NTLM2_KEY
                | ntlmclient::Flags::NEGOTIATE_128BIT
                | ntlmclient::Flags::NEGOTIATE_56BIT;
            if !domain.is_empty() {
                flags |= ntlmclient::Flags::NEGOTIATE_DOMAIN_SUPPLIED;
            }
            let msg = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
                flags,
                supplied_domain: domain,
                supplied_workstation: String::new(),
                os_version: Default::default(),
            });
            let bytes = msg.to_bytes().map_err(|e| ntlm_error(format!("{e:?}")))?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            Ok(Some((
                NtlmStep::Negotiated,
                Some(format!("{scheme} {b64}")),
            )))
        }
        (NtlmStep::Negotiated, Some((scheme, data))) if !data.is_empty() => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| ntlm_error(format!("invalid challenge: {e}")))?;
            let challenge = match ntlmclient::Message::try_from(bytes.as_slice()) {
                Ok(ntlmclient::Message::Challenge(c)) => c,
                Ok(other) => {
                    return Err(ntlm_error(format!(
                        "expected a challenge message, got type {}",
                        other.message_number()
                    )))
                }
                Err(e) => return Err(ntlm_error(format!("invalid challenge: {e:?}"))),
            };
            let target_info: Vec<u8> = challenge
                .target_information
                .iter()
                .flat_map(|e| e.to_bytes())
                .collect();
            let (user, pass) = url_credentials(url);
            let (user, domain) = split_domain(&user);
            let creds = ntlmclient::Credentials {
                username: user,
                password: pass,
                domain,
            };
            let answer = ntlmclient::respond_challenge_ntlm_v2(
                challenge.challenge,
                &target_info,
                ntlmclient::get_ntlm_time(),
                &creds,
            );
            let flags = ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM;
            let msg = answer.to_message(&creds, "", flags);
            let bytes = msg.to_bytes().map_err(|e| ntlm_error(format!("{e:?}")))?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            Ok(Some((NtlmStep::Done, Some(format!("{scheme} {b64}")))))
        }
        _ => Ok(None),
    }
}

/// Whether NTLM applies: Go's negotiator only steps in when the request carries Basic
/// credentials (the URL's user info, or the script's own `Authorization: Basic`).
pub(crate) fn ntlm_applies(url: &Url, headers: &[(String, String)]) -> bool {
    match headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        Some((_, v)) => v.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("basic ")),
        None => !url.username().is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_answers_a_challenge() {
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\", opaque=\"op\", algorithm=MD5"
                .parse()
                .expect("header"),
        );
        let url = Url::parse("http://user:p%40ss@127.0.0.1/x?y=1").expect("url");
        let creds = url_credentials(&url);
        assert_eq!(creds, ("user".to_string(), "p@ss".to_string()));
        let answer = digest_answer(&h, &http::Method::GET, &url, &creds).expect("answer");
        assert!(answer.starts_with("Digest "), "{answer}");
        assert!(answer.contains("username=\"user\""), "{answer}");
        assert!(answer.contains("uri=\"/x?y=1\""), "{answer}");
        let none = HeaderMap::new();
        assert!(digest_answer(&none, &http::Method::GET, &url, &creds).is_none());
    }

    #[test]
    fn ntlm_steps() {
        let url = Url::parse("http://DOM%5Cuser:pw@127.0.0.1/").expect("url");
        assert!(ntlm_applies(&url, &[]));
        assert!(!ntlm_applies(
            &Url::parse("http://127.0.0.1/").expect("url"),
            &[]
        ));
        let mut h = HeaderMap::new();
        h.insert(WWW_AUTHENTICATE, "Basic realm=x".parse().expect("header"));
        let next = ntlm_next(NtlmStep::Anonymous, &h, &url).expect("next");
        assert_eq!(next, Some((NtlmStep::Basic, None)));
        h.insert(WWW_AUTHENTICATE, "NTLM".parse().expect("header"));
        let (step, value) = ntlm_next(NtlmStep::Basic, &h, &url)
            .expect("next")
            .expect("negotiate");
        assert_eq!(step, NtlmStep::Negotiated);
        assert!(value.expect("value").starts_with("NTLM TlRMTVNTUAAB"));
        // A negotiate answered without a challenge: the 401 is the response.
        assert_eq!(
            ntlm_next(NtlmStep::Negotiated, &h, &url).expect("next"),
            None
        );
    }
}
