//! The InfluxDB output's settings: `-o influxdb=http://user:pass@host:port/db?key=value`,
//! `K6_INFLUXDB_*` and the config file's `collectors.influxdb`, in k6's order of precedence.

use std::time::Duration;

use stampede_core::parse_go_duration;

use crate::{OutputError, OutputParams};

/// How a tag written as a field is typed (`K6_INFLUXDB_TAGS_AS_FIELDS=status:int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    String,
    Int,
    Float,
    Bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    /// `scheme://host:port`, no path.
    pub addr: String,
    pub db: String,
    pub username: String,
    pub password: String,
    pub insecure: bool,
    pub push_interval: Duration,
    pub concurrent_writes: usize,
    /// Empty: nanoseconds.
    pub precision: String,
    pub retention: String,
    pub consistency: String,
    /// Tags written as fields instead, sorted by name.
    pub tags_as_fields: Vec<(String, FieldType)>,
    pub proxy: Option<String>,
}

fn err(reason: impl std::fmt::Display) -> OutputError {
    OutputError::config("influxdb", reason)
}

impl Config {
    /// Defaults < `collectors.influxdb` < `K6_INFLUXDB_*` < the URL argument.
    pub(crate) fn from(p: &OutputParams) -> Result<Config, OutputError> {
        let mut c = Config {
            addr: "http://localhost:8086".into(),
            db: "k6".into(),
            username: String::new(),
            password: String::new(),
            insecure: false,
            push_interval: Duration::from_secs(1),
            concurrent_writes: 4,
            precision: String::new(),
            retention: String::new(),
            consistency: String::new(),
            tags_as_fields: parse_fields(["vu", "iter", "url"])?,
            proxy: None,
        };
        for (key, v) in [
            "addr",
            "db",
            "username",
            "password",
            "insecure",
            "pushInterval",
            "concurrentWrites",
            "precision",
            "retention",
            "consistency",
            "tagsAsFields",
            "proxy",
            "payloadSize",
        ]
        .iter()
        .filter_map(|k| p.config_value(k).map(|v| (*k, v)))
        {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            c.set(key, &text, &format!("collectors.influxdb.{key}"))?;
        }
        for (env, key) in [
            ("K6_INFLUXDB_ADDR", "addr"),
            ("K6_INFLUXDB_DB", "db"),
            ("K6_INFLUXDB_USERNAME", "username"),
            ("K6_INFLUXDB_PASSWORD", "password"),
            ("K6_INFLUXDB_INSECURE", "insecure"),
            ("K6_INFLUXDB_PUSH_INTERVAL", "pushInterval"),
            ("K6_INFLUXDB_CONCURRENT_WRITES", "concurrentWrites"),
            ("K6_INFLUXDB_PRECISION", "precision"),
            ("K6_INFLUXDB_RETENTION", "retention"),
            ("K6_INFLUXDB_CONSISTENCY", "consistency"),
            ("K6_INFLUXDB_TAGS_AS_FIELDS", "tagsAsFields"),
            ("K6_INFLUXDB_PROXY", "proxy"),
            ("K6_INFLUXDB_PAYLOAD_SIZE", "payloadSize"),
        ] {
            if let Some(v) = p.env(env) {
                c.set(key, v, env)?;
            }
        }
        if let Some(arg) = p.arg.as_deref().filter(|a| !a.is_empty()) {
            c.apply_url(arg)?;
        }
        if c.addr.is_empty() {
            c.addr = "http://localhost:8086".into();
        }
        if c.db.is_empty() {
            c.db = "k6".into();
        }
        if c.concurrent_writes == 0 {
            return Err(err("influxdb's ConcurrentWrites must be a positive number"));
        }
        if c.addr.starts_with("udp://") {
            return Err(err(
                "writing to InfluxDB over UDP is not supported by stampede; use its HTTP address",
            ));
        }
        Ok(c)
    }

    fn set(&mut self, key: &str, v: &str, source: &str) -> Result<(), OutputError> {
        let boolean = |v: &str| match v {
            "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
            "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
            _ => Err(err(format!("{source}: {v:?} is not true or false"))),
        };
        match key {
            "addr" => self.addr = v.trim_end_matches('/').to_string(),
            "db" => self.db = v.to_string(),
            "username" => self.username = v.to_string(),
            "password" => self.password = v.to_string(),
            "insecure" => self.insecure = boolean(v)?,
            "pushInterval" => {
                self.push_interval =
                    parse_go_duration(v).map_err(|e| err(format!("{source}: {e}")))?;
                if self.push_interval.is_zero() {
                    return Err(err(format!(
                        "{source}: the push interval must be more than 0"
                    )));
                }
            }
            "concurrentWrites" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| err(format!("{source}: {v:?} is not a whole number")))?;
                if n <= 0 {
                    return Err(err("influxdb's ConcurrentWrites must be a positive number"));
                }
                self.concurrent_writes = n as usize;
            }
            "precision" => {
                if precision_divisor(v).is_none() {
                    return Err(err(format!(
                        "{source}: unknown precision {v:?}, use one of ns, u, ms, s, m, h"
                    )));
                }
                self.precision = v.to_string();
            }
            "retention" => self.retention = v.to_string(),
            "consistency" => self.consistency = v.to_string(),
            "tagsAsFields" => {
                if !v.is_empty() {
                    self.tags_as_fields = parse_fields(v.split(','))?;
                }
            }
            "proxy" => self.proxy = Some(v.to_string()).filter(|p| !p.is_empty()),
            "payloadSize" => {
                // Only the UDP client uses it, and UDP is refused: checked for its form alone.
                v.parse::<i64>()
                    .map_err(|_| err(format!("{source}: {v:?} is not a whole number")))?;
            }
            other => return Err(err(format!("unknown query parameter: {other}"))),
        }
        Ok(())
    }

    /// `http://user:pass@host:port/db?pushInterval=2s&tagsAsFields=a&tagsAsFields=b:int`
    fn apply_url(&mut self, arg: &str) -> Result<(), OutputError> {
        let url = url::Url::parse(arg).map_err(|e| err(format!("invalid URL {arg:?}: {e}")))?;
        let host = url.host_str().unwrap_or_default();
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        self.addr = match url.port() {
            Some(p) => format!("{}://{host}:{p}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() {
            self.db = db.to_string();
        }
        if !url.username().is_empty() {
            self.username = percent_decoded(url.username());
        }
        if let Some(p) = url.password() {
            self.password = percent_decoded(p);
        }
        let mut fields: Vec<String> = Vec::new();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "tagsAsFields" => fields.push(v.into_owned()),
                "payload_size" => self.set("payloadSize", &v, "payload_size")?,
                "insecure" => {
                    self.insecure = match v.as_ref() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(err(format!("insecure must be true or false, not {other}")))
                        }
                    }
                }
                key @ ("pushInterval" | "concurrentWrites" | "precision" | "retention"
                | "consistency") => self.set(key, &v, key)?,
                other => return Err(err(format!("unknown query parameter: {other}"))),
            }
        }
        if !fields.is_empty() {
            self.tags_as_fields = parse_fields(fields.iter().map(String::as_str))?;
        }
        Ok(())
    }

    /// Timestamps are divided by this for the configured precision.
    pub(crate) fn divisor(&self) -> i64 {
        precision_divisor(&self.precision).unwrap_or(1)
    }

    /// The `/write` URL, with k6's four parameters.
    pub(crate) fn write_url(&self) -> String {
        let mut u = url::Url::parse(&format!("{}/write", self.addr)).unwrap_or_else(|_| {
            url::Url::parse("http://localhost:8086/write").expect("a valid URL")
        });
        u.query_pairs_mut()
            .append_pair("consistency", &self.consistency)
            .append_pair("db", &self.db)
            .append_pair(
                "precision",
                if self.precision.is_empty() {
                    "ns"
                } else {
                    &self.precision
                },
            )
            .append_pair("rp", &self.retention);
        u.into()
    }

    /// The `/query` URL that creates the database.
    pub(crate) fn create_db_url(&self) -> String {
        let mut u = url::Url::parse(&format!("{}/query", self.addr)).unwrap_or_else(|_| {
            url::Url::parse("http://localhost:8086/query").expect("a valid URL")
        });
        let db = self.db.replace('\\', "\\\\").replace('"', "\\\"");
        u.query_pairs_mut()
            .append_pair("q", &format!("CREATE DATABASE \"{db}\""));
        u.into()
    }
}

fn percent_decoded(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn precision_divisor(p: &str) -> Option<i64> {
    Some(match p {
        "" | "n" | "ns" => 1,
        "u" | "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// `name` or `name:type` entries.
fn parse_fields<'a>(
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, FieldType)>, OutputError> {
    let mut out: Vec<(String, FieldType)> = Vec::new();
    for entry in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
        let (name, kind) = match entry.split_once(':') {
            None => (entry, FieldType::String),
            Some((name, kind)) => (
                name,
                match kind {
                    "string" => FieldType::String,
                    "int" => FieldType::Int,
                    "float" => FieldType::Float,
                    "bool" => FieldType::Bool,
                    other => {
                        return Err(err(format!(
                            "an invalid type ({other}) is specified for an InfluxDB field ({name})"
                        )))
                    }
                },
            ),
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(err(format!(
                "a tag name ({name}) shows up more than once in InfluxDB field type configurations"
            )));
        }
        out.push((name.to_string(), kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(arg: Option<&str>, env: &[(&str, &str)]) -> OutputParams {
        OutputParams {
            arg: arg.map(str::to_string),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            config: None,
        }
    }

    #[test]
    fn reads_k6s_url_and_variables() {
        let c = Config::from(&params(None, &[])).unwrap();
        assert_eq!(c.addr, "http://localhost:8086");
        assert_eq!(c.db, "k6");
        assert_eq!(c.concurrent_writes, 4);
        assert_eq!(
            c.tags_as_fields
                .iter()
                .map(|f| f.0.as_str())
                .collect::<Vec<_>>(),
            ["iter", "url", "vu"]
        );
        let c = Config::from(&params(
            Some("http://u:p%40ss@127.0.0.1:18086/k6db?pushInterval=2s&tagsAsFields=status:int&tagsAsFields=name"),
            &[("K6_INFLUXDB_DB", "ignored"), ("K6_INFLUXDB_CONCURRENT_WRITES", "2")],
        ))
        .unwrap();
        assert_eq!(c.addr, "http://127.0.0.1:18086");
        assert_eq!(c.db, "k6db");
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p@ss"));
        assert_eq!(c.push_interval, Duration::from_secs(2));
        assert_eq!(c.concurrent_writes, 2);
        assert_eq!(
            c.tags_as_fields,
            [
                ("name".to_string(), FieldType::String),
                ("status".to_string(), FieldType::Int)
            ]
        );
        assert_eq!(
            c.write_url(),
            "http://127.0.0.1:18086/write?consistency=&db=k6db&precision=ns&rp="
        );
        assert!(c
            .create_db_url()
            .ends_with("/query?q=CREATE+DATABASE+%22k6db%22"));
    }

    #[test]
    fn refuses_what_k6_refuses() {
        let e = |arg: Option<&str>, env: &[(&str, &str)]| {
            Config::from(&params(arg, env)).unwrap_err().to_string()
        };
        assert_eq!(
            e(Some("http://h:1/db?foo=1"), &[]),
            "could not create the 'influxdb' output: unknown query parameter: foo"
        );
        assert!(e(None, &[("K6_INFLUXDB_TAGS_AS_FIELDS", "status:weird")])
            .contains("an invalid type (weird) is specified for an InfluxDB field (status)"));
        assert!(
            e(None, &[("K6_INFLUXDB_TAGS_AS_FIELDS", "status,status:int")])
                .contains("a tag name (status) shows up more than once")
        );
        assert!(e(None, &[("K6_INFLUXDB_CONCURRENT_WRITES", "0")])
            .contains("ConcurrentWrites must be a positive number"));
        assert!(
            e(None, &[("K6_INFLUXDB_PUSH_INTERVAL", "abc")]).contains("K6_INFLUXDB_PUSH_INTERVAL")
        );
        assert!(e(Some("http://h:1/db?insecure=maybe"), &[])
            .contains("insecure must be true or false, not maybe"));
        assert!(e(Some("udp://h:8089"), &[]).contains("UDP is not supported"));
    }
}
