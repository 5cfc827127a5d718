//! `-o influxdb=http://host:port/db`: every sample as InfluxDB v1 line protocol, as k6 writes it
//! (a measurement per metric, the tags, `value` and the tags configured as fields), sent every
//! push interval by up to `CONCURRENT_WRITES` requests at once.

mod config;

use std::fmt::Write as _;
use std::time::Duration;

use influxdb_line_protocol::builder::LineProtocolBuilder;
use rustc_hash::FxHashMap;
use stampede_metrics::{MetricId, SampleBatch, TagSet};

use crate::http::{agent, basic_auth, post, HttpSettings, Poster};
use crate::{Names, Needs, Output, OutputError, OutputParams, Report, RunInfo};
pub(crate) use config::{Config, FieldType};

/// A body is sent before the push interval when it grows past this.
const MAX_BODY: usize = 8 << 20;

/// Line templates kept before the cache starts afresh (scripts with a URL per request).
const MAX_TEMPLATES: usize = 50_000;

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    let config = Config::from(p)?;
    Ok(Box::new(InfluxOutput {
        config,
        poster: None,
        names: None,
        measurements: Vec::new(),
        templates: FxHashMap::default(),
        body: Vec::new(),
        points: 0,
    }))
}

struct InfluxOutput {
    config: Config,
    poster: Option<Poster>,
    names: Option<Names>,
    /// Per metric id: its measurement name, escaped.
    measurements: Vec<Option<String>>,
    /// Per tag set: what a line holds besides its measurement, value and time.
    templates: FxHashMap<TagSet, Template>,
    body: Vec<u8>,
    points: u64,
}

/// A line is `measurement` + `head` + value + `tail` + ` ` + time.
struct Template {
    /// `,tag=v,tag=v url="...",value=`
    head: String,
    /// `,zone="x"` (fields sorted after `value`), often empty.
    tail: String,
}

impl Output for InfluxOutput {
    fn description(&self) -> String {
        format!("InfluxDBv1 ({})", self.config.addr)
    }

    fn needs(&self) -> Needs {
        Needs {
            samples: true,
            all_tags: false,
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(self.config.push_interval)
    }

    fn start(&mut self, run: &RunInfo, report: &Report) -> Result<(), OutputError> {
        self.names = Some(Names::new(&run.registry));
        let c = &self.config;
        let mut headers = Vec::new();
        if !c.username.is_empty() {
            headers.push(basic_auth(&c.username, &c.password));
        }
        let settings = HttpSettings {
            timeout: Some(Duration::from_secs(30)),
            insecure_skip_tls_verify: c.insecure,
            proxy: c.proxy.clone(),
        };
        let agent = agent("influxdb", &settings)?;
        // k6 creates the database and goes on whatever the answer (it may exist, or the user
        // may lack the right): a failure shows in the writes.
        let _ = post(&agent, &c.create_db_url(), &headers, b"");
        self.poster = Some(Poster::new(
            "influxdb",
            agent,
            c.write_url(),
            headers,
            c.concurrent_writes,
            report.clone(),
        )?);
        Ok(())
    }

    fn samples(&mut self, batch: &SampleBatch, _report: &Report) {
        let Some(names) = self.names.as_mut() else {
            return;
        };
        let divisor = self.config.divisor();
        let mut line = String::with_capacity(256);
        for g in batch.iter() {
            if self.templates.len() >= MAX_TEMPLATES {
                self.templates.clear();
            }
            if !self.templates.contains_key(&g.tags) {
                let t = template(&g.tags, &self.config.tags_as_fields);
                self.templates.insert(g.tags.clone(), t);
            }
            let Some(t) = self.templates.get(&g.tags) else {
                continue;
            };
            let ts = g.time.0.div_euclid(divisor);
            for &(metric, value) in &g.values {
                let m = measurement(&mut self.measurements, names, metric);
                line.clear();
                line.push_str(m);
                line.push_str(&t.head);
                // Rust writes floats as Go's 'f' format does: shortest, never an exponent.
                let _ = write!(line, "{value}");
                line.push_str(&t.tail);
                let _ = writeln!(line, " {ts}");
                self.body.extend_from_slice(line.as_bytes());
                self.points += 1;
            }
        }
        if self.body.len() >= MAX_BODY {
            self.send(false);
        }
    }

    fn flush(&mut self, _report: &Report, last: bool) {
        self.send(last);
        if last {
            if let Some(p) = self.poster.as_mut() {
                p.finish();
            }
        }
    }
}

impl InfluxOutput {
    fn send(&mut self, last: bool) {
        if self.body.is_empty() {
            return;
        }
        let body = std::mem::take(&mut self.body);
        let points = std::mem::take(&mut self.points);
        if let Some(p) = &self.poster {
            if last {
                p.post_waiting(body, points);
            } else {
                p.post(body, points);
            }
        }
    }
}

fn measurement<'a>(cache: &'a mut Vec<Option<String>>, names: &mut Names, id: MetricId) -> &'a str {
    let i = id.0 as usize;
    if cache.len() <= i {
        cache.resize(i + 1, None);
    }
    cache[i].get_or_insert_with(|| {
        // The builder escapes the name; the field after it is cut off again.
        let line = LineProtocolBuilder::new()
            .measurement(&names.def(id).name)
            .field("v", 0.0)
            .close_line()
            .build();
        let text = String::from_utf8_lossy(&line);
        text.strip_suffix(" v=0\n").unwrap_or(&text).to_string()
    })
}

/// The parts of a line a tag set decides: its tags (the empty ones left out, as k6's client
/// does) and the tags written as fields, with `value` in its sorted place among them.
fn template(tags: &TagSet, as_fields: &[(String, FieldType)]) -> Template {
    let is_field = |k: &str| as_fields.iter().find(|(n, _)| n == k).map(|(_, t)| *t);
    let mut b = LineProtocolBuilder::new().measurement("m");
    for (k, v) in tags
        .iter()
        .filter(|(k, v)| !v.is_empty() && is_field(k).is_none())
    {
        b = b.tag(k, v);
    }
    let fields: Vec<(&str, &str, FieldType)> = tags
        .iter()
        .filter_map(|(k, v)| is_field(k).map(|t| (k, v, t)))
        .collect();
    let (before, after): (Vec<_>, Vec<_>) = fields.into_iter().partition(|(k, _, _)| *k < "value");
    // `m,tags f=1,value=0\n` -> `,tags f=1,value=`
    let mut head = match before.split_first() {
        None => String::from_utf8_lossy(&b.field("value", 0.0).close_line().build()).into_owned(),
        Some((first, rest)) => {
            let mut f = field(b, first);
            for x in rest {
                f = field_more(f, x);
            }
            String::from_utf8_lossy(&f.field("value", 0.0).close_line().build()).into_owned()
        }
    };
    head.truncate(head.len() - "0\n".len());
    head.remove(0);
    // `m a=1,b=2\n` -> `,a=1,b=2`
    let tail = match after.split_first() {
        None => String::new(),
        Some((first, rest)) => {
            let mut f = field(LineProtocolBuilder::new().measurement("m"), first);
            for x in rest {
                f = field_more(f, x);
            }
            let text = String::from_utf8_lossy(&f.close_line().build()).into_owned();
            format!(",{}", &text[2..text.len() - 1])
        }
    };
    Template { head, tail }
}

type AfterMeasurement =
    LineProtocolBuilder<Vec<u8>, influxdb_line_protocol::builder::AfterMeasurement>;
type AfterField = LineProtocolBuilder<Vec<u8>, influxdb_line_protocol::builder::AfterField>;

/// A tag written as a field of its type; a value that does not parse as the type is written as
/// a string, as k6 does.
fn field(b: AfterMeasurement, (k, v, t): &(&str, &str, FieldType)) -> AfterField {
    match typed(v, *t) {
        Typed::Int(i) => b.field(k, i),
        Typed::Float(x) => b.field(k, x),
        Typed::Bool(x) => b.field(k, x),
        Typed::Str(s) => b.field(k, s),
    }
}

fn field_more(b: AfterField, (k, v, t): &(&str, &str, FieldType)) -> AfterField {
    match typed(v, *t) {
        Typed::Int(i) => b.field(k, i),
        Typed::Float(x) => b.field(k, x),
        Typed::Bool(x) => b.field(k, x),
        Typed::Str(s) => b.field(k, s),
    }
}

enum Typed<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
}

fn typed(v: &str, t: FieldType) -> Typed<'_> {
    match t {
        FieldType::Int => v.parse().map(Typed::Int).unwrap_or(Typed::Str(v)),
        FieldType::Float => v.parse().map(Typed::Float).unwrap_or(Typed::Str(v)),
        FieldType::Bool => match v {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Typed::Bool(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Typed::Bool(false),
            _ => Typed::Str(v),
        },
        FieldType::String => Typed::Str(v),
    }
}

#[cfg(test)]
mod tests;
