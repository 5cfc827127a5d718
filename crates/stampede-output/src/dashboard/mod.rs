//! `K6_WEB_DASHBOARD=true` or `-o web-dashboard`: a live dashboard served while the test runs
//! (server-sent events, its page and assets embedded in the binary), and at the end the same
//! page as a self-contained HTML report (`K6_WEB_DASHBOARD_EXPORT=report.html`).
//!
//! It binds to 127.0.0.1 by default (k6: every interface) and serves its page (`/`), its
//! events (`/events`) and the report as it stands (`/report`); any other path is refused.

mod server;

use std::path::PathBuf;
use std::time::Duration;

use stampede_core::{parse_go_duration, LogLevel};
use stampede_metrics::Delta;
use stampede_report::{ReportBuilder, REPORT_TAGS};

use crate::{Needs, Output, OutputError, OutputParams, Report, RunInfo};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub host: String,
    /// `None`: no server (only the export).
    pub port: Option<u16>,
    pub period: Duration,
    pub open: bool,
    pub export: Option<PathBuf>,
}

fn err(reason: impl std::fmt::Display) -> OutputError {
    OutputError::config("web-dashboard", reason)
}

impl Config {
    /// Defaults < `K6_WEB_DASHBOARD_*` < the `-o web-dashboard=host=...&port=...` argument.
    pub(crate) fn from(p: &OutputParams) -> Result<Config, OutputError> {
        let mut c = Config {
            host: "127.0.0.1".into(),
            port: Some(5665),
            period: Duration::from_secs(10),
            open: false,
            export: None,
        };
        for (env, key) in [
            ("K6_WEB_DASHBOARD_HOST", "host"),
            ("K6_WEB_DASHBOARD_PORT", "port"),
            ("K6_WEB_DASHBOARD_PERIOD", "period"),
            ("K6_WEB_DASHBOARD_OPEN", "open"),
            ("K6_WEB_DASHBOARD_EXPORT", "export"),
        ] {
            if let Some(v) = p.env(env) {
                c.set(key, v, env)?;
            }
        }
        if let Some(arg) = p.arg.as_deref().filter(|a| !a.is_empty()) {
            for (k, v) in url::form_urlencoded::parse(arg.as_bytes()) {
                c.set(&k, &v, &k)?;
            }
        }
        Ok(c)
    }

    fn set(&mut self, key: &str, v: &str, source: &str) -> Result<(), OutputError> {
        match key {
            "host" => self.host = v.to_string(),
            "port" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| err(format!("{source}: {v:?} is not a port")))?;
                self.port = match n {
                    -1 => None,
                    0..=65535 => Some(n as u16),
                    _ => {
                        return Err(err(format!(
                            "{source}: {v:?} is not a port (0-65535, or -1 for none)"
                        )))
                    }
                };
            }
            "period" => {
                self.period = parse_go_duration(v).map_err(|e| err(format!("{source}: {e}")))?;
                if self.period.is_zero() {
                    return Err(err(format!("{source}: the period must be more than 0")));
                }
            }
            "open" => {
                self.open = match v {
                    "true" | "1" => true,
                    "false" | "0" | "" => false,
                    _ => return Err(err(format!("{source}: {v:?} is not true or false"))),
                }
            }
            "export" => self.export = (!v.is_empty()).then(|| PathBuf::from(v)),
            other => {
                return Err(err(format!(
                    "unknown parameter {other:?} (host, port, period, open, export)"
                )))
            }
        }
        Ok(())
    }

    fn url(&self, port: u16) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else if self.host.is_empty() {
            "127.0.0.1".into()
        } else {
            self.host.clone()
        };
        format!("http://{host}:{port}")
    }
}

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    Ok(Box::new(Dashboard {
        config: Config::from(p)?,
        builder: None,
        server: None,
    }))
}

struct Dashboard {
    config: Config,
    builder: Option<ReportBuilder>,
    server: Option<server::Server>,
}

impl Dashboard {
    /// The report as it stands, to the page's viewers.
    fn publish(&mut self, live: bool) {
        let (Some(b), Some(s)) = (&self.builder, &self.server) else {
            return;
        };
        s.publish(b.model(live).to_string());
    }
}

impl Output for Dashboard {
    fn description(&self) -> String {
        match self.config.port {
            Some(port) => format!("web-dashboard ({})", self.config.url(port)),
            None => match &self.config.export {
                Some(path) => format!("web-dashboard (export {})", path.display()),
                None => "web-dashboard (no port, no export)".into(),
            },
        }
    }

    fn needs(&self) -> Needs {
        Needs {
            tags: REPORT_TAGS.to_vec(),
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(self.config.period)
    }

    fn start(&mut self, run: &RunInfo, _report: &Report) -> Result<(), OutputError> {
        self.builder = Some(ReportBuilder::new(
            run.registry.snapshot(),
            run.thresholds.clone(),
            run.meta.clone(),
        ));
        if let Some(port) = self.config.port {
            let server = server::Server::start(&self.config.host, port)
                .map_err(|e| err(format!("can't listen on {}: {e}", self.config.url(port))))?;
            let url = self.config.url(server.port());
            stampede_core::log(LogLevel::Info, &format!("web dashboard: {url}"), &[]);
            if self.config.open {
                open_browser(&url);
            }
            self.server = Some(server);
            self.publish(true);
        }
        Ok(())
    }

    fn interval(&mut self, delta: &Delta, _report: &Report) {
        if let Some(b) = self.builder.as_mut() {
            b.add(delta);
        }
    }

    fn flush(&mut self, report: &Report, last: bool) {
        self.publish(!last);
        if !last {
            return;
        }
        if let (Some(path), Some(b)) = (&self.config.export, &self.builder) {
            let html = stampede_report::render_report(&b.model(false).to_string());
            match std::fs::write(path, html) {
                Ok(()) => report.delivered(1),
                Err(e) => report.lost(
                    1,
                    &format!("can't write the report {}: {e}", path.display()),
                ),
            }
        }
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// `K6_WEB_DASHBOARD_OPEN=true`: the system's browser on the dashboard, if there is one.
fn open_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = opened {
        stampede_core::log(
            LogLevel::Warning,
            &format!("can't open a browser on the web dashboard ({e}); open {url} yourself"),
            &[],
        );
    }
}

#[cfg(test)]
mod tests;
