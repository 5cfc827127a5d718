//! Where the file outputs (json, csv) write: a file, a gzip file (`.gz`), or standard output.

use std::fs::File;
use std::io::{BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

/// Bytes buffered before they are written out.
const BUFFER: usize = 256 * 1024;

pub(crate) enum Sink {
    File(BufWriter<File>),
    /// Buffered before the encoder too: the encoder zeroes its 32 KiB output buffer on every
    /// write it gets, which for lines of a few hundred bytes cost more than compressing them.
    Gzip(BufWriter<GzEncoder<BufWriter<File>>>),
    Stdout(BufWriter<Stdout>),
}

impl Sink {
    /// Creates (truncates) `path`, gzip-compressed if it ends in `.gz`; standard output for
    /// `None`.
    pub(crate) fn create(path: Option<&Path>) -> std::io::Result<Sink> {
        let Some(path) = path else {
            return Ok(Sink::Stdout(BufWriter::with_capacity(
                BUFFER,
                std::io::stdout(),
            )));
        };
        let file = BufWriter::with_capacity(BUFFER, File::create(path)?);
        Ok(if path.extension().is_some_and(|e| e == "gz") {
            // The fastest level: on k6's NDJSON it compresses 1.2 GB/s to a 21th of the size,
            // the default level 170 MB/s to a 36th; at 3.4 KB a request, the default level
            // cost 33 µs of CPU per request, more than the request itself.
            Sink::Gzip(BufWriter::with_capacity(
                BUFFER,
                GzEncoder::new(file, flate2::Compression::fast()),
            ))
        } else {
            Sink::File(file)
        })
    }

    /// Writes out what is buffered; `last` also ends the gzip stream.
    pub(crate) fn flush(&mut self, last: bool) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Stdout(s) => s.flush(),
            Sink::Gzip(g) if last => {
                g.flush()?;
                let gz = g.get_mut();
                gz.try_finish()?;
                gz.get_mut().flush()
            }
            Sink::Gzip(g) => g.flush(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Gzip(g) => g.write(buf),
            Sink::Stdout(s) => s.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.write_all(buf),
            Sink::Gzip(g) => g.write_all(buf),
            Sink::Stdout(s) => s.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Sink::flush(self, false)
    }
}

/// A file output's argument: a path, or standard output for `-`.
pub(crate) fn path_of(arg: &str) -> Option<PathBuf> {
    (!arg.is_empty() && arg != "-").then(|| PathBuf::from(arg))
}
