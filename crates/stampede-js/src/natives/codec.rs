//! `k6/encoding` and `k6/crypto`.

use base64::Engine as _;
use hmac::Mac;
use rquickjs::function::Opt;
use rquickjs::{ArrayBuffer, Ctx, Function, Object, Result, Value};
use sha2::Digest;

use super::{bytes_of, throw};

fn b64_engine(kind: &str) -> base64::engine::GeneralPurpose {
    use base64::engine::general_purpose as gp;
    match kind {
        "rawstd" => gp::STANDARD_NO_PAD,
        "url" => gp::URL_SAFE,
        "rawurl" => gp::URL_SAFE_NO_PAD,
        _ => gp::STANDARD,
    }
}

fn digest(algo: &str, data: &[u8]) -> Option<Vec<u8>> {
    Some(match algo {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

fn hmac_of(algo: &str, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    macro_rules! mac {
        ($t:ty) => {{
            let mut m = hmac::Hmac::<$t>::new_from_slice(key).ok()?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }};
    }
    Some(match algo {
        "md5" => mac!(md5::Md5),
        "sha1" => mac!(sha1::Sha1),
        "sha256" => mac!(sha2::Sha256),
        "sha384" => mac!(sha2::Sha384),
        "sha512" => mac!(sha2::Sha512),
        _ => return None,
    })
}

fn encode<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>, enc: &str) -> Result<Value<'js>> {
    match enc {
        "hex" => Ok(rquickjs::String::from_str(ctx.clone(), &hex::encode(bytes))?.into_value()),
        "base64" => Ok(
            rquickjs::String::from_str(ctx.clone(), &b64_engine("std").encode(bytes))?.into_value(),
        ),
        "base64url" => Ok(rquickjs::String::from_str(
            ctx.clone(),
            &b64_engine("url").encode(bytes),
        )?
        .into_value()),
        "base64rawurl" => Ok(rquickjs::String::from_str(
            ctx.clone(),
            &b64_engine("rawurl").encode(bytes),
        )?
        .into_value()),
        "binary" => Ok(ArrayBuffer::new(ctx.clone(), bytes)?.into_value()),
        other => Err(throw(ctx, format!("unsupported output encoding {other:?}"))),
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>) -> Result<()> {
    n.set(
        "b64encode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: Value<'js>, kind: String| -> Result<String> {
                let bytes = bytes_of(&input)
                    .ok_or_else(|| throw(&ctx, "b64encode: expected a string or an ArrayBuffer"))?;
                Ok(b64_engine(&kind).encode(bytes))
            },
        )?,
    )?;
    n.set(
        "b64decode",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, input: String, kind: String, format: String| -> Result<Value<'js>> {
                let engine = b64_engine(&kind);
                let bytes = engine
                    .decode(input.trim_end_matches('=').as_bytes())
                    .or_else(|_| engine.decode(input.as_bytes()))
                    .or_else(|_| {
                        b64_engine("rawstd").decode(input.trim_end_matches('=').as_bytes())
                    })
                    .map_err(|e| throw(&ctx, format!("b64decode: {e}")))?;
                if format == "s" {
                    Ok(
                        rquickjs::String::from_str(ctx.clone(), &String::from_utf8_lossy(&bytes))?
                            .into_value(),
                    )
                } else {
                    Ok(ArrayBuffer::new(ctx.clone(), bytes)?.into_value())
                }
            },
        )?,
    )?;
    n.set(
        "hash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, algo: String, input: Value<'js>, enc: String| -> Result<Value<'js>> {
                // An array: the parts a `createHash` object was given, in order.
                let data = match input.as_array() {
                    Some(parts) => {
                        let mut all = Vec::new();
                        for part in parts.iter::<Value<'_>>() {
                            all.extend_from_slice(&bytes_of(&part?).ok_or_else(|| {
                                throw(&ctx, "update: expected a string or an ArrayBuffer")
                            })?);
                        }
                        Some(all)
                    }
                    None => bytes_of(&input),
                }
                .ok_or_else(|| throw(&ctx, "hash: expected a string or an ArrayBuffer"))?;
                let out = digest(&algo, &data)
                    .ok_or_else(|| throw(&ctx, format!("unsupported hash algorithm {algo:?}")))?;
                encode(&ctx, out, &enc)
            },
        )?,
    )?;
    n.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             algo: String,
             key: Value<'js>,
             data: Value<'js>,
             enc: String|
             -> Result<Value<'js>> {
                let key = bytes_of(&key).ok_or_else(|| {
                    throw(&ctx, "hmac: the secret must be a string or an ArrayBuffer")
                })?;
                let data = bytes_of(&data).ok_or_else(|| {
                    throw(&ctx, "hmac: the data must be a string or an ArrayBuffer")
                })?;
                let out = hmac_of(&algo, &key, &data)
                    .ok_or_else(|| throw(&ctx, format!("unsupported hmac algorithm {algo:?}")))?;
                encode(&ctx, out, &enc)
            },
        )?,
    )?;
    n.set(
        "randomBytes",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, len: f64, _o: Opt<Value<'js>>| -> Result<Value<'js>> {
                let len = len.max(0.0) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
                Ok(ArrayBuffer::new(ctx.clone(), bytes)?.into_value())
            },
        )?,
    )?;
    Ok(())
}
