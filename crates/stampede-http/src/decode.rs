//! Response body decompression by `Content-Encoding`, as k6 does for
//! `gzip`, `deflate`, `br` and `zstd`.

use std::io::Read;

use bytes::Bytes;
use http::HeaderMap;

use crate::error::{code, Failure};

/// Decodes `body` according to the response's `Content-Encoding` (applied in
/// reverse order when several are listed). Unknown encodings leave the body
/// as received.
pub(crate) fn decode_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, Failure> {
    let Some(value) = headers.get(http::header::CONTENT_ENCODING) else {
        return Ok(body);
    };
    let Ok(value) = value.to_str() else {
        return Ok(body);
    };
    if body.is_empty() {
        return Ok(body);
    }
    let mut body = body;
    for enc in value.rsplit(',').map(str::trim) {
        body = if enc.eq_ignore_ascii_case("gzip") || enc.eq_ignore_ascii_case("x-gzip") {
            read_all(flate2::read::MultiGzDecoder::new(&body[..]), body.len())?
        } else if enc.eq_ignore_ascii_case("deflate") {
            read_all(flate2::read::ZlibDecoder::new(&body[..]), body.len())?
        } else if enc.eq_ignore_ascii_case("br") {
            read_all(brotli::Decompressor::new(&body[..], 4096), body.len())?
        } else if enc.eq_ignore_ascii_case("zstd") {
            let decoder = zstd::stream::read::Decoder::new(&body[..]).map_err(|e| {
                Failure::new(
                    code::RESPONSE_DECOMPRESSION,
                    format!("error decompressing response body ({e})"),
                )
            })?;
            read_all(decoder, body.len())?
        } else {
            // identity, or an encoding we do not decode.
            return Ok(body);
        };
    }
    Ok(body)
}

fn read_all(mut r: impl Read, hint: usize) -> Result<Bytes, Failure> {
    let mut out = Vec::with_capacity(hint.saturating_mul(4));
    r.read_to_end(&mut out).map_err(|e| {
        Failure::new(
            code::RESPONSE_DECOMPRESSION,
            format!("error decompressing response body ({e})"),
        )
    })?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_round_trip() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello hello hello").expect("write");
        let gz = enc.finish().expect("finish");
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_ENCODING,
            "gzip".parse().expect("value"),
        );
        let out = decode_body(&h, Bytes::from(gz)).expect("decode");
        assert_eq!(&out[..], b"hello hello hello");
    }

    #[test]
    fn corrupt_gzip_is_1701() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_ENCODING,
            "gzip".parse().expect("value"),
        );
        let err = decode_body(&h, Bytes::from_static(b"not gzip")).expect_err("must fail");
        assert_eq!(err.code, 1701);
    }
}
