//! `-o result=run.ndjson.gz`: stampede's own result file, the run's metrics stream as it was
//! (one record per second of aggregates, HDR histograms included), from which `stampede report`
//! draws the HTML report afterwards, and which merges exactly with other instances' files.
//!
//! NDJSON, gzip-compressed when the name ends in `.gz`:
//!
//! ```text
//! {"type":"header","version":1,"tool":"stampede 0.1.0","script":"load.js","options":{...},"scenarios":[...]}
//! {"type":"metric","id":25,"def":{"name":"my_trend","type":"trend","contains":"time"}}
//! {"type":"interval","start":1796664737000000000,"end":1796664738000000000,"entries":[{"metric":9,"tags":{...},"agg":{"type":"counter","sum":812.0}}, ...]}
//! {"type":"end","end":1796664797400000000}
//! ```
//!
//! A `metric` record comes before the first interval that uses the metric; ids are this file's
//! own (a reader maps them by name). An interval keeps the tags reports read (see
//! [`stampede_report::REPORT_TAGS`]) and those of the thresholds' selectors.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stampede_metrics::{Delta, MetricDef, MetricId, Registry, UnixNanos};

use crate::sink::{path_of, Sink};
use crate::{Names, Needs, Output, OutputError, OutputParams, Report, RunInfo};

/// The format's version; a reader refuses a file of another.
pub const VERSION: u32 = 1;

/// One line of a result file, as read.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Header(Header),
    Metric { id: MetricId, def: MetricDef },
    Interval(Delta),
    End { end: UnixNanos },
}

/// A record as it is written (borrowing what it writes).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Out<'a> {
    Header(&'a Header),
    Metric { id: MetricId, def: &'a MetricDef },
    Interval(&'a Delta),
    End { end: UnixNanos },
}

/// What a result file says about its run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub tool: String,
    pub script: String,
    /// The resolved options (thresholds included) as JSON.
    pub options: serde_json::Value,
    /// `(name, executor, description)` of each scenario.
    pub scenarios: Vec<(String, String, String)>,
}

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    let path =
        p.arg.as_deref().and_then(path_of).ok_or_else(|| {
            OutputError::config("result", "give the file: -o result=run.ndjson.gz")
        })?;
    Ok(Box::new(ResultOutput {
        path,
        out: None,
        names: None,
        written: Vec::new(),
        end: None,
        pending: 0,
    }))
}

struct ResultOutput {
    path: PathBuf,
    out: Option<Sink>,
    names: Option<Names>,
    /// Per metric id: its `metric` record is written.
    written: Vec<bool>,
    end: Option<UnixNanos>,
    /// Entries written since the last flush.
    pending: u64,
}

impl ResultOutput {
    fn write(&mut self, record: &Out<'_>, report: &Report) -> bool {
        let Some(out) = self.out.as_mut() else {
            return false;
        };
        let line = serde_json::to_vec(record).map_err(|e| e.to_string());
        let written = line.and_then(|mut l| {
            l.push(b'\n');
            out.write_all(&l).map_err(|e| e.to_string())
        });
        match written {
            Ok(()) => true,
            Err(e) => {
                report.lost(1, &format!("{}: {e}", self.path.display()));
                false
            }
        }
    }
}

impl Output for ResultOutput {
    fn description(&self) -> String {
        format!("result ({})", self.path.display())
    }

    fn needs(&self) -> Needs {
        Needs {
            tags: stampede_report::REPORT_TAGS.to_vec(),
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn start(&mut self, run: &RunInfo, report: &Report) -> Result<(), OutputError> {
        self.names = Some(Names::new(&run.registry));
        let sink = Sink::create(Some(&self.path)).map_err(|e| {
            OutputError::config(
                "result",
                format!("can't create {}: {e}", self.path.display()),
            )
        })?;
        self.out = Some(sink);
        let header = Header {
            version: VERSION,
            tool: run.meta.tool.clone(),
            script: run.meta.script.clone(),
            options: run.meta.options.clone(),
            scenarios: run.meta.scenarios.clone(),
        };
        if !self.write(&Out::Header(&header), report) {
            return Err(OutputError::config(
                "result",
                format!("can't write {}", self.path.display()),
            ));
        }
        Ok(())
    }

    fn interval(&mut self, delta: &Delta, report: &Report) {
        for e in &delta.entries {
            let i = e.metric.0 as usize;
            if self.written.len() <= i {
                self.written.resize(i + 1, false);
            }
            if !self.written[i] {
                self.written[i] = true;
                let Some(names) = self.names.as_mut() else {
                    return;
                };
                let def = names.def(e.metric).clone();
                self.write(
                    &Out::Metric {
                        id: e.metric,
                        def: &def,
                    },
                    report,
                );
            }
        }
        self.end = Some(self.end.map_or(delta.end, |e| e.max(delta.end)));
        if self.write(&Out::Interval(delta), report) {
            self.pending += delta.entries.len() as u64;
        } else {
            report.lost(
                delta.entries.len() as u64,
                "the interval could not be written",
            );
        }
    }

    fn flush(&mut self, report: &Report, last: bool) {
        if last {
            if let Some(end) = self.end {
                self.write(&Out::End { end }, report);
            }
        }
        let Some(out) = self.out.as_mut() else { return };
        match out.flush(last) {
            Ok(()) => report.delivered(std::mem::take(&mut self.pending)),
            Err(e) => report.lost(std::mem::take(&mut self.pending), &e.to_string()),
        }
        if last {
            self.out = None;
        }
    }
}

/// A result file read back: its header, its metrics in a registry of this process (ids mapped
/// by name), and its intervals with those ids.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub header: Header,
    pub registry: Registry,
    pub intervals: Vec<Delta>,
    /// The end of the run, if the file was finished.
    pub end: Option<UnixNanos>,
}

/// A result file that can't be read, and where.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Bad {
        path: String,
        line: usize,
        reason: String,
    },
}

/// Opens a file for reading lines, gunzipping a `.gz` one.
pub(crate) fn lines_of(path: &Path) -> Result<Box<dyn BufRead>, ReadError> {
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    })
}

/// Reads a result file, or k6's json output (as stampede's json output writes it too): which,
/// its first line says.
pub fn read_any(path: &Path) -> Result<Recorded, ReadError> {
    let mut first = String::new();
    lines_of(path)?
        .read_line(&mut first)
        .map_err(|source| ReadError::Io {
            path: path.display().to_string(),
            source,
        })?;
    let kind = serde_json::from_str::<serde_json::Value>(&first)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string));
    match kind.as_deref() {
        Some("Metric") | Some("Point") => {
            crate::json::read::read(path, stampede_report::REPORT_TAGS)
        }
        _ => read(path),
    }
}

/// Reads a result file (`.gz` or not).
pub fn read(path: &Path) -> Result<Recorded, ReadError> {
    let shown = path.display().to_string();
    let io = |source| ReadError::Io {
        path: shown.clone(),
        source,
    };
    let reader = lines_of(path)?;
    let mut header = None;
    let mut registry = Registry::new();
    let mut ids: Vec<Option<MetricId>> = Vec::new();
    let mut intervals = Vec::new();
    let mut end = None;
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        let bad = |reason: String| ReadError::Bad {
            path: shown.clone(),
            line: n + 1,
            reason,
        };
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        match record {
            Record::Header(h) => {
                if h.version != VERSION {
                    return Err(bad(format!(
                        "a result file of version {}, this stampede reads version {VERSION}",
                        h.version
                    )));
                }
                header = Some(h);
            }
            Record::Metric { id, def } => {
                let ours = registry
                    .register(&def.name, def.kind, def.contains)
                    .map_err(|e| bad(e.to_string()))?;
                let i = id.0 as usize;
                if ids.len() <= i {
                    ids.resize(i + 1, None);
                }
                ids[i] = Some(ours);
            }
            Record::Interval(mut d) => {
                for e in &mut d.entries {
                    e.metric =
                        ids.get(e.metric.0 as usize)
                            .copied()
                            .flatten()
                            .ok_or_else(|| {
                                bad(format!(
                                    "metric {} has no metric record before it",
                                    e.metric.0
                                ))
                            })?;
                }
                intervals.push(d);
            }
            Record::End { end: e } => end = Some(e),
        }
        if header.is_none() {
            return Err(bad(
                "not a stampede result file (its first line is not a header)".into(),
            ));
        }
    }
    let header = header.ok_or_else(|| ReadError::Bad {
        path: shown.clone(),
        line: 1,
        reason: "the file is empty".into(),
    })?;
    Ok(Recorded {
        header,
        registry,
        intervals,
        end,
    })
}

#[cfg(test)]
mod tests;
