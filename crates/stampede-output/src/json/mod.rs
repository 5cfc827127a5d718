//! `-o json=file` (`file.gz`, or `-` / nothing for standard output): k6's NDJSON, one `Metric`
//! line before a metric's first point, then a `Point` line per sample, with k6's field order,
//! number format and escaping.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stampede_metrics::{SampleBatch, SampleGroup, TagSet};

use crate::format::{go_g, json_string, LocalTime};
use crate::sink::{path_of, Sink};
use crate::{
    MetricInfo, Names, Needs, Output, OutputError, OutputParams, Report, RunInfo, SubMetric,
};

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    let path = p.arg.as_deref().and_then(path_of);
    Ok(Box::new(JsonOutput {
        path,
        out: None,
        names: None,
        info: Default::default(),
        seen: Vec::new(),
        time: LocalTime::default(),
        line: String::with_capacity(512),
        tags_of: None,
        pending: 0,
    }))
}

struct JsonOutput {
    /// `None`: standard output.
    path: Option<PathBuf>,
    out: Option<Sink>,
    names: Option<Names>,
    info: std::collections::BTreeMap<String, MetricInfo>,
    /// Per metric id, once its `Metric` line is written: the start of its `Point` lines.
    seen: Vec<Option<String>>,
    time: LocalTime,
    line: String,
    /// The last tag set rendered (`"tags":{...}`), shared by the samples of a group.
    tags_of: Option<(TagSet, String)>,
    /// Points written since the last flush.
    pending: u64,
}

impl Output for JsonOutput {
    fn description(&self) -> String {
        match &self.path {
            Some(p) => format!("json ({})", p.display()),
            None => "json(stdout)".into(),
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
        Some(Duration::from_millis(200))
    }

    fn start(&mut self, run: &RunInfo, _report: &Report) -> Result<(), OutputError> {
        self.names = Some(Names::new(&run.registry));
        self.info = run.metrics.clone();
        let sink = Sink::create(self.path.as_deref()).map_err(|e| {
            let path = self.path.as_deref().unwrap_or("-".as_ref());
            OutputError::config("json", format!("can't create {}: {e}", path.display()))
        })?;
        self.out = Some(sink);
        Ok(())
    }

    fn samples(&mut self, batch: &SampleBatch, report: &Report) {
        for group in batch.iter() {
            self.group(group, report);
        }
    }

    fn flush(&mut self, report: &Report, last: bool) {
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

impl JsonOutput {
    fn group(&mut self, g: &SampleGroup, report: &Report) {
        let Some(names) = self.names.as_mut() else {
            return;
        };
        let tags = match &self.tags_of {
            Some((set, text)) if Arc::ptr_eq(&set.0, &g.tags.0) || *set == g.tags => text,
            _ => {
                let mut text = String::with_capacity(256);
                push_tags(&mut text, &g.tags);
                &self.tags_of.insert((g.tags.clone(), text)).1
            }
        };
        let mut time = String::with_capacity(40);
        self.time.rfc3339_nano(&mut time, g.time);
        for &(metric, value) in &g.values {
            let i = metric.0 as usize;
            if self.seen.len() <= i {
                self.seen.resize(i + 1, None);
            }
            self.line.clear();
            let prefix = match &self.seen[i] {
                Some(p) => p,
                None => {
                    let def = names.def(metric);
                    metric_line(&mut self.line, def, self.info.get(&def.name));
                    let mut p = String::from("{\"metric\":");
                    json_string(&mut p, &def.name);
                    p.push_str(",\"type\":\"Point\",\"data\":{\"time\":\"");
                    self.seen[i].insert(p)
                }
            };
            let l = &mut self.line;
            l.push_str(prefix);
            l.push_str(&time);
            l.push_str("\",\"value\":");
            if value.is_finite() {
                go_g(l, value);
            } else {
                l.push_str("null");
            }
            l.push_str(",\"tags\":");
            l.push_str(tags);
            if let Some(meta) = &g.metadata {
                l.push_str(",\"metadata\":");
                push_tags(l, meta);
            }
            l.push_str("}}\n");
            let Some(out) = self.out.as_mut() else { return };
            match out.write_all(self.line.as_bytes()) {
                Ok(()) => self.pending += 1,
                Err(e) => report.lost(1, &e.to_string()),
            }
        }
    }
}

/// `{"k":"v",...}`, keys in the tag set's (sorted) order.
fn push_tags(out: &mut String, tags: &TagSet) {
    out.push('{');
    for (i, (k, v)) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, k);
        out.push(':');
        json_string(out, v);
    }
    out.push('}');
}

/// The `Metric` line k6 writes before a metric's first point.
fn metric_line(out: &mut String, def: &stampede_metrics::MetricDef, info: Option<&MetricInfo>) {
    out.push_str("{\"type\":\"Metric\",\"data\":{\"name\":");
    json_string(out, &def.name);
    out.push_str(",\"type\":\"");
    out.push_str(def.kind.as_str());
    out.push_str("\",\"contains\":\"");
    out.push_str(def.contains.as_str());
    out.push_str("\",\"thresholds\":");
    let thresholds = info.map(|i| i.thresholds.as_slice()).unwrap_or(&[]);
    out.push_str(&serde_json::Value::from(thresholds.to_vec()).to_string());
    out.push_str(",\"submetrics\":");
    match info
        .map(|i| i.submetrics.as_slice())
        .filter(|s| !s.is_empty())
    {
        None => out.push_str("null"),
        Some(subs) => {
            out.push('[');
            for (i, SubMetric { name, suffix, tags }) in subs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_string(out, name);
                out.push_str(",\"suffix\":");
                json_string(out, suffix);
                out.push_str(",\"tags\":");
                push_tags(
                    out,
                    &TagSet::from_pairs(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                );
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push_str("},\"metric\":");
    json_string(out, &def.name);
    out.push_str("}\n");
}

pub mod read;

#[cfg(test)]
mod tests;
