//! `k6/http`'s cookie jars: `new http.CookieJar()`, `http.cookieJar()` (the VU's jar of the
//! running iteration) and their methods, with the semantics of Go's `net/http/cookiejar` that
//! k6 wraps. `k6_http.js` wraps a [`JarHandle`] in the object the script sees.

use std::rc::Rc;

use rquickjs::{Class, Ctx, Function, Object, Result};
use stampede_http::{CookieJar, CookieOptions};

use super::http::go_exception;
use crate::vu::VuState;

/// A jar as a script holds it (the `jar` request param passes it back).
#[derive(rquickjs::class::Trace, rquickjs::JsLifetime)]
#[rquickjs::class(rename = "CookieJarHandle")]
pub(crate) struct JarHandle {
    #[qjs(skip_trace)]
    pub(crate) jar: CookieJar,
}

/// Go's `time.RFC1123` layout, as k6 names it in its error.
const RFC1123: &str = "Mon, 02 Jan 2006 15:04:05 MST";

/// Parses k6's `expires` option (Go's `time.RFC1123`; the zone abbreviation counts as UTC, as
/// Go reads an abbreviation it does not know) into Unix seconds.
fn parse_expires(s: &str) -> std::result::Result<i64, String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second]"
    );
    let bad = |why: &str| {
        format!(
            "unable to parse \"expires\" date string \"{s}\": parsing time \"{s}\" as \"{RFC1123}\": {why}"
        )
    };
    let (stamp, zone) = s
        .rsplit_once(' ')
        .ok_or_else(|| bad("cannot parse the date"))?;
    if zone.is_empty() || !zone.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad(&format!("cannot parse {zone:?} as \"MST\"")));
    }
    let t = time::PrimitiveDateTime::parse(stamp, format).map_err(|e| bad(&e.to_string()))?;
    Ok(t.assume_utc().unix_timestamp())
}

/// An absolute URL for a jar call, or k6's error (a `GoError`) naming it.
fn parse_url(ctx: &Ctx<'_>, u: &str) -> Result<url::Url> {
    url::Url::parse(u).map_err(|e| go_exception(ctx, &format!("parse {u:?}: {e}")))
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, state: &Rc<VuState>) -> Result<()> {
    n.set(
        "newJar",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            Class::instance(
                ctx,
                JarHandle {
                    jar: CookieJar::new(),
                },
            )
        })?,
    )?;
    let s = state.clone();
    n.set(
        "vuJar",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>| -> Result<Class<'js, JarHandle>> {
                if s.in_init.get() {
                    return Err(go_exception(
                        &ctx,
                        "Making cookie jars in the init context is not supported",
                    ));
                }
                Class::instance(
                    ctx,
                    JarHandle {
                        jar: s.http.cookie_jar(),
                    },
                )
            },
        )?,
    )?;
    n.set(
        "jarGet",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, h: Class<'js, JarHandle>, u: String| -> Result<Object<'js>> {
                let url = parse_url(&ctx, &u)?;
                let o = Object::new(ctx.clone())?;
                for (name, values) in h.borrow().jar.cookies_for_url(&url) {
                    o.set(name, values)?;
                }
                Ok(o)
            },
        )?,
    )?;
    // opts: [domain, path, expires, max_age, secure, http_only], already converted by JS.
    n.set(
        "jarSet",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  h: Class<'js, JarHandle>,
                  u: String,
                  name: String,
                  value: String,
                  opts: Object<'js>|
                  -> Result<bool> {
                let url = parse_url(&ctx, &u)?;
                let expires_unix = match opts.get::<_, Option<String>>("expires")? {
                    Some(e) if !e.is_empty() => {
                        Some(parse_expires(&e).map_err(|m| go_exception(&ctx, &m))?)
                    }
                    _ => None,
                };
                let o = CookieOptions {
                    domain: opts.get("domain")?,
                    path: opts.get("path")?,
                    expires_unix,
                    max_age: opts.get::<_, Option<f64>>("max_age")?.unwrap_or(0.0) as i64,
                    secure: opts.get::<_, Option<bool>>("secure")?.unwrap_or(false),
                    http_only: opts.get::<_, Option<bool>>("http_only")?.unwrap_or(false),
                };
                h.borrow().jar.set(&url, &name, &value, &o);
                Ok(true)
            },
        )?,
    )?;
    n.set(
        "jarClear",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, h: Class<'js, JarHandle>, u: String| -> Result<()> {
                let url = parse_url(&ctx, &u)?;
                h.borrow().jar.clear(&url);
                Ok(())
            },
        )?,
    )?;
    n.set(
        "jarDelete",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, h: Class<'js, JarHandle>, u: String, name: String| -> Result<()> {
                if name.is_empty() {
                    return Err(go_exception(&ctx, "cookie: is null"));
                }
                let url = parse_url(&ctx, &u)?;
                h.borrow().jar.delete(&url, &name);
                Ok(())
            },
        )?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_expires;

    #[test]
    fn expires_is_rfc1123() {
        assert_eq!(
            parse_expires("Mon, 02 Jan 2006 15:04:05 MST"),
            Ok(1_136_214_245)
        );
        assert_eq!(parse_expires("Thu, 01 Jan 1970 00:01:00 GMT"), Ok(60));
        let e = parse_expires("tomorrow").unwrap_err();
        assert!(
            e.starts_with("unable to parse \"expires\" date string \"tomorrow\": parsing time"),
            "{e}"
        );
    }
}
