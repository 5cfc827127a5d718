//! Request body compression for k6's `compression` param: `gzip`, `deflate` (zlib), `zstd`
//! and `br`, applied in the order listed.

use std::io::Write;

/// One of k6's request body compressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Deflate,
    Zstd,
    Br,
}

impl Compression {
    /// The `Content-Encoding` token.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Deflate => "deflate",
            Compression::Zstd => "zstd",
            Compression::Br => "br",
        }
    }

    /// Parses k6's comma-separated list (blank: none), with k6's error for an unknown name.
    pub fn parse_list(list: &str) -> Result<Vec<Compression>, String> {
        let list = list.trim();
        if list.is_empty() {
            return Ok(Vec::new());
        }
        list.split(',')
            .map(|name| match name.trim() {
                "gzip" => Ok(Compression::Gzip),
                "deflate" => Ok(Compression::Deflate),
                "zstd" => Ok(Compression::Zstd),
                "br" => Ok(Compression::Br),
                other => Err(format!(
                    "unknown compression algorithm {other}, supported algorithms are [gzip deflate zstd br]"
                )),
            })
            .collect()
    }
}

/// Compresses `body` with each algorithm in turn; returns the result and its
/// `Content-Encoding` value (`gzip, br`).
pub fn compress_body(algos: &[Compression], body: &[u8]) -> std::io::Result<(Vec<u8>, String)> {
    let mut data = body.to_vec();
    let mut encoding = String::new();
    for algo in algos {
        if !encoding.is_empty() {
            encoding.push_str(", ");
        }
        encoding.push_str(algo.name());
        data = match algo {
            Compression::Gzip => {
                let mut w =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(&data)?;
                w.finish()?
            }
            Compression::Deflate => {
                let mut w =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(&data)?;
                w.finish()?
            }
            Compression::Zstd => zstd::stream::encode_all(&data[..], 0)?,
            Compression::Br => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 6, 22);
                    w.write_all(&data)?;
                }
                out
            }
        };
    }
    Ok((data, encoding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn parses_k6_lists() {
        assert_eq!(
            Compression::parse_list(" gzip , br "),
            Ok(vec![Compression::Gzip, Compression::Br])
        );
        assert_eq!(Compression::parse_list(" "), Ok(vec![]));
        assert_eq!(
            Compression::parse_list("gzip,lzma"),
            Err("unknown compression algorithm lzma, supported algorithms are [gzip deflate zstd br]".into())
        );
    }

    #[test]
    fn layers_compress_in_order() {
        let (data, enc) =
            compress_body(&[Compression::Deflate, Compression::Zstd], b"hello").expect("compress");
        assert_eq!(enc, "deflate, zstd");
        let inner = zstd::stream::decode_all(&data[..]).expect("zstd");
        let mut out = String::new();
        flate2::read::ZlibDecoder::new(&inner[..])
            .read_to_string(&mut out)
            .expect("zlib");
        assert_eq!(out, "hello");
        let (data, _) = compress_body(&[Compression::Br, Compression::Gzip], b"hi").expect("br");
        let mut gz = Vec::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_end(&mut gz)
            .expect("gzip");
        let mut out = Vec::new();
        brotli::Decompressor::new(&gz[..], 4096)
            .read_to_end(&mut out)
            .expect("brotli");
        assert_eq!(out, b"hi");
    }
}
