//! `-o name=arg`: which outputs a run writes to, and the table of outputs.

use crate::{csv, influxdb, json, prometheus, Output, OutputError, OutputParams};

type Make = fn(&OutputParams) -> Result<Box<dyn Output>, OutputError>;

/// Every output k6 v1.1.0 knows, and what stampede does with it.
enum Kind {
    Built(Make),
    /// k6 has it; stampede refuses it with a reason rather than ignore it.
    Missing(&'static str),
}

const TABLE: &[(&str, Kind)] = &[
    (
        "cloud",
        Kind::Missing("Grafana Cloud k6 is a hosted service stampede does not talk to"),
    ),
    ("csv", Kind::Built(csv::make)),
    (
        "experimental-opentelemetry",
        Kind::Built(crate::opentelemetry::make),
    ),
    ("experimental-prometheus-rw", Kind::Built(prometheus::make)),
    ("influxdb", Kind::Built(influxdb::make)),
    ("json", Kind::Built(json::make)),
    ("opentelemetry", Kind::Built(crate::opentelemetry::make)),
    ("result", Kind::Built(crate::result::make)),
    (
        "statsd",
        Kind::Missing("use influxdb, Prometheus remote write or OpenTelemetry"),
    ),
    ("web-dashboard", Kind::Built(crate::dashboard::make)),
];

/// The names `-o` accepts (the ones k6 knows, whether stampede builds them or refuses them).
pub const OUTPUT_NAMES: &[&str] = &[
    "cloud",
    "csv",
    "experimental-opentelemetry",
    "experimental-prometheus-rw",
    "influxdb",
    "json",
    "opentelemetry",
    "result",
    "statsd",
    "web-dashboard",
];

/// One `-o` value: `name` or `name=arg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub name: String,
    pub arg: Option<String>,
}

impl OutputSpec {
    /// Splits at the first `=`, as k6 does; unknown names are refused with k6's message.
    pub fn parse(value: &str) -> Result<OutputSpec, OutputError> {
        let (name, arg) = match value.split_once('=') {
            Some((n, a)) => (n, Some(a.to_string())),
            None => (value, None),
        };
        if !TABLE.iter().any(|(n, _)| *n == name) {
            return Err(OutputError::Unknown {
                name: name.to_string(),
                available: OUTPUT_NAMES.join(", "),
            });
        }
        Ok(OutputSpec {
            name: name.to_string(),
            arg,
        })
    }

    /// The outputs of a run: the `--out` flags if any, else `K6_OUT` (split at every comma, as
    /// k6 does).
    pub fn resolve(flags: &[String], k6_out: Option<&str>) -> Result<Vec<OutputSpec>, OutputError> {
        if !flags.is_empty() {
            return flags.iter().map(|f| OutputSpec::parse(f)).collect();
        }
        k6_out
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(OutputSpec::parse)
                    .collect()
            })
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Builds the output from its configuration.
    pub(crate) fn make(&self, params: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
        match TABLE.iter().find(|(n, _)| *n == self.name).map(|(_, k)| k) {
            Some(Kind::Built(make)) => make(params),
            Some(Kind::Missing(hint)) => Err(OutputError::Unsupported {
                output: self.name.clone(),
                hint,
            }),
            None => Err(OutputError::Unknown {
                name: self.name.clone(),
                available: OUTPUT_NAMES.join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_k6() {
        assert_eq!(
            OutputSpec::parse("json=out.json").unwrap(),
            OutputSpec {
                name: "json".into(),
                arg: Some("out.json".into())
            }
        );
        let csv = OutputSpec::parse("csv=fileName=a.csv,timeFormat=unix").unwrap();
        assert_eq!(csv.arg.as_deref(), Some("fileName=a.csv,timeFormat=unix"));
        assert_eq!(OutputSpec::parse("influxdb").unwrap().arg, None);
        let err = OutputSpec::parse("foo=bar").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid output type 'foo', available types are: cloud, csv,"),
            "{err}"
        );
        assert_eq!(
            TABLE.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            OUTPUT_NAMES
        );
    }

    #[test]
    fn flags_replace_k6_out() {
        let env = Some("json=a.json, csv=b.csv");
        let from_env = OutputSpec::resolve(&[], env).unwrap();
        assert_eq!(from_env.len(), 2);
        assert_eq!(from_env[1].name, "csv");
        let flags = OutputSpec::resolve(&["influxdb=http://127.0.0.1:1/db".into()], env).unwrap();
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].name, "influxdb");
        assert!(OutputSpec::resolve(&[], None).unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_does_not_build() {
        let err = OutputSpec::parse("cloud")
            .unwrap()
            .make(&OutputParams::default())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("'cloud' is not supported"),
            "{err}"
        );
    }
}
