//! `-o csv=file` (`.gz`, or `-` for standard output): k6's CSV, a row per sample with a column
//! per enabled system tag, the other tags in `extra_tags` and the metadata in `metadata`.

use std::path::PathBuf;
use std::time::Duration;

use stampede_core::{parse_go_duration, SystemTag};
use stampede_metrics::{SampleBatch, TagSet};

use crate::format::LocalTime;
use crate::sink::{path_of, Sink};
use crate::{Names, Needs, Output, OutputError, OutputParams, Report, RunInfo};

/// How the `timestamp` column is written (`K6_CSV_TIME_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeFormat {
    Unix,
    UnixMilli,
    UnixMicro,
    UnixNano,
    Rfc3339,
    Rfc3339Nano,
}

impl TimeFormat {
    fn parse(s: &str) -> Result<TimeFormat, OutputError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "unix" => TimeFormat::Unix,
            "unix_milli" => TimeFormat::UnixMilli,
            "unix_micro" => TimeFormat::UnixMicro,
            "unix_nano" => TimeFormat::UnixNano,
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc3339_nano" => TimeFormat::Rfc3339Nano,
            _ => {
                return Err(OutputError::config(
                    "csv",
                    format!("{s} does not belong to TimeFormat values"),
                ))
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Config {
    /// `None`: standard output.
    file: Option<PathBuf>,
    save_interval: Duration,
    time_format: TimeFormat,
}

impl Config {
    /// Defaults < the config file's `collectors.csv` < `K6_CSV_*` < the `-o csv=` argument.
    fn from(p: &OutputParams) -> Result<Config, OutputError> {
        let mut c = Config {
            file: Some(PathBuf::from("file.csv")),
            save_interval: Duration::from_secs(1),
            time_format: TimeFormat::Unix,
        };
        let mut set = |key: &str, value: &str, source: &str| -> Result<(), OutputError> {
            match key {
                "fileName" => c.file = path_of(value),
                "saveInterval" => {
                    c.save_interval = parse_go_duration(value).map_err(|e| {
                        OutputError::config("csv", format!("{source} {value:?}: {e}"))
                    })?
                }
                "timeFormat" => c.time_format = TimeFormat::parse(value)?,
                other => {
                    return Err(OutputError::config(
                        "csv",
                        format!("unknown key {other:?} as argument for csv output"),
                    ))
                }
            }
            Ok(())
        };
        for (json_key, key) in [
            ("file_name", "fileName"),
            ("save_interval", "saveInterval"),
            ("time_format", "timeFormat"),
        ] {
            if let Some(v) = p.config_value(json_key) {
                let text = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                set(key, &text, &format!("collectors.csv.{json_key}"))?;
            }
        }
        for (env, key) in [
            ("K6_CSV_FILENAME", "fileName"),
            ("K6_CSV_SAVE_INTERVAL", "saveInterval"),
            ("K6_CSV_TIME_FORMAT", "timeFormat"),
        ] {
            if let Some(v) = p.env(env) {
                set(key, v, env)?;
            }
        }
        match p.arg.as_deref() {
            None => {}
            Some(arg) if !arg.contains('=') => c.file = path_of(arg),
            Some(arg) => {
                for part in arg.split(',') {
                    let (k, v) = part
                        .split_once('=')
                        .filter(|(_, v)| !v.is_empty())
                        .ok_or_else(|| {
                            OutputError::config(
                                "csv",
                                format!("couldn't parse {arg:?} as argument for csv output"),
                            )
                        })?;
                    set(k, v, "argument")?;
                }
            }
        }
        Ok(c)
    }
}

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    Ok(Box::new(CsvOutput {
        config: Config::from(p)?,
        out: None,
        names: None,
        columns: Vec::new(),
        time: LocalTime::default(),
        pending: 0,
    }))
}

struct CsvOutput {
    config: Config,
    out: Option<csv::Writer<Sink>>,
    names: Option<Names>,
    /// The system tags with a column of their own, sorted.
    columns: Vec<&'static str>,
    time: LocalTime,
    pending: u64,
}

impl Output for CsvOutput {
    fn description(&self) -> String {
        match &self.config.file {
            Some(p) => format!("csv ({})", p.display()),
            None => "csv (stdout)".into(),
        }
    }

    fn needs(&self) -> Needs {
        Needs {
            samples: true,
            all_tags: false,
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(self.config.save_interval)
    }

    fn start(&mut self, run: &RunInfo, _report: &Report) -> Result<(), OutputError> {
        self.names = Some(Names::new(&run.registry));
        // vu and iter are metadata, never columns.
        let mut columns: Vec<&'static str> = SystemTag::ALL
            .iter()
            .filter(|t| run.system_tags.has(**t) && !matches!(t, SystemTag::Vu | SystemTag::Iter))
            .map(|t| t.name())
            .collect();
        columns.sort_unstable();
        self.columns = columns;
        let sink = Sink::create(self.config.file.as_deref()).map_err(|e| {
            let path = self.config.file.as_deref().unwrap_or("-".as_ref());
            OutputError::config("csv", format!("can't create {}: {e}", path.display()))
        })?;
        let mut w = csv::WriterBuilder::new().flexible(false).from_writer(sink);
        let mut header = vec!["metric_name", "timestamp", "metric_value"];
        header.extend(&self.columns);
        header.extend(["extra_tags", "metadata"]);
        let written = w
            .write_record(&header)
            .and_then(|()| w.flush().map_err(Into::into));
        written.map_err(|e| OutputError::config("csv", format!("can't write the header: {e}")))?;
        self.out = Some(w);
        Ok(())
    }

    fn samples(&mut self, batch: &SampleBatch, report: &Report) {
        let (Some(out), Some(names)) = (self.out.as_mut(), self.names.as_mut()) else {
            return;
        };
        let mut row: Vec<String> = Vec::with_capacity(self.columns.len() + 5);
        for g in batch.iter() {
            let mut time = String::new();
            let t = g.time;
            match self.config.time_format {
                TimeFormat::Unix => time.push_str(itoa::Buffer::new().format(t.secs())),
                TimeFormat::UnixMilli => time.push_str(itoa::Buffer::new().format(t.as_millis())),
                TimeFormat::UnixMicro => {
                    time.push_str(itoa::Buffer::new().format(t.0.div_euclid(1000)))
                }
                TimeFormat::UnixNano => time.push_str(itoa::Buffer::new().format(t.0)),
                TimeFormat::Rfc3339 => self.time.rfc3339(&mut time, t),
                TimeFormat::Rfc3339Nano => self.time.rfc3339_nano(&mut time, t),
            }
            let extra = joined(&g.tags, |k| self.columns.binary_search(&k).is_err());
            let metadata = g
                .metadata
                .as_ref()
                .map(|m| joined(m, |_| true))
                .unwrap_or_default();
            for &(metric, value) in &g.values {
                row.clear();
                row.push(names.def(metric).name.clone());
                row.push(time.clone());
                row.push(format!("{value:.6}"));
                for col in &self.columns {
                    row.push(g.tags.get(col).unwrap_or("").to_string());
                }
                row.push(extra.clone());
                row.push(metadata.clone());
                match out.write_record(&row) {
                    Ok(()) => self.pending += 1,
                    Err(e) => report.lost(1, &e.to_string()),
                }
            }
        }
    }

    fn flush(&mut self, report: &Report, last: bool) {
        let result = if last {
            // The gzip stream needs its end.
            match self.out.take().map(csv::Writer::into_inner) {
                Some(Ok(mut sink)) => sink.flush(true),
                Some(Err(e)) => Err(e.into_error()),
                None => return,
            }
        } else {
            match self.out.as_mut() {
                Some(out) => out.flush(),
                None => return,
            }
        };
        match result {
            Ok(()) => report.delivered(std::mem::take(&mut self.pending)),
            Err(e) => report.lost(std::mem::take(&mut self.pending), &e.to_string()),
        }
    }
}

/// `k=v&k=v` of the tags `keep` selects, as k6 writes `extra_tags` and `metadata`.
fn joined(tags: &TagSet, keep: impl Fn(&str) -> bool) -> String {
    let mut out = String::new();
    for (k, v) in tags.iter().filter(|(k, _)| keep(k)) {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests;
