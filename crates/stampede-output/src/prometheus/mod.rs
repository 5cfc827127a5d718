//! `-o experimental-prometheus-rw`: k6's series, cumulative since the start of the test, sent
//! to a Prometheus remote-write endpoint every push interval (snappy-compressed protobuf
//! `WriteRequest`s), as k6 1.1.0 does.
//!
//! Configuration: `K6_PROMETHEUS_RW_*` and the config file's
//! `collectors.experimental-prometheus-rw` (see [`config`]). Each push holds the series
//! updated since the previous one; the end of the run pushes what is left and, with
//! `K6_PROMETHEUS_RW_STALE_MARKERS=true`, marks every series stale. A push that fails (no
//! server, an answer other than 2xx) is not retried and counts as lost; the test goes on.

mod config;
mod native;
mod proto;
mod series;

use std::time::Duration;

use prost::Message as _;
use stampede_metrics::{Delta, UnixNanos};

use crate::http::{agent, post, HttpSettings};
use crate::{Names, Needs, Output, OutputError, OutputParams, Report, RunInfo};
use config::{Config, NAME};
use proto::{TimeSeries, WriteRequest};
use series::Store;

/// k6's fixed timeout for each request.
const TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    let config = Config::from(p)?;
    Ok(Box::new(PromOutput::new(config)))
}

struct PromOutput {
    store: Store,
    headers: Vec<(String, String)>,
    config: Config,
    names: Option<Names>,
    agent: Option<ureq::Agent>,
}

impl PromOutput {
    fn new(config: Config) -> PromOutput {
        PromOutput {
            store: Store::new(config.trend_stats.clone(), config.native_histograms),
            headers: config.request_headers(),
            config,
            names: None,
            agent: None,
        }
    }

    /// Sends `series` as one request; counts them delivered or lost.
    fn send(&self, series: Vec<TimeSeries>, report: &Report, what: &str) {
        let points = series.len() as u64;
        let Some(agent) = &self.agent else {
            report.lost(points, "the output was not started");
            return;
        };
        match encode(series) {
            Ok(body) => match post(agent, &self.config.url, &self.headers, &body) {
                Ok(()) => report.delivered(points),
                Err(e) => report.lost(points, &format!("{what} failed: {e}")),
            },
            Err(e) => report.lost(points, &format!("{what}: {e}")),
        }
    }
}

/// A remote-write body: the protobuf `WriteRequest`, snappy-compressed (block format).
fn encode(timeseries: Vec<TimeSeries>) -> Result<Vec<u8>, String> {
    let raw = WriteRequest { timeseries }.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(|e| format!("can't compress a {} byte request: {e}", raw.len()))
}

impl Output for PromOutput {
    fn description(&self) -> String {
        format!("Prometheus remote write ({})", self.config.url)
    }

    fn needs(&self) -> Needs {
        Needs {
            samples: false,
            all_tags: true,
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(self.config.push_interval)
    }

    fn start(&mut self, run: &RunInfo, _report: &Report) -> Result<(), OutputError> {
        self.names = Some(Names::new(&run.registry));
        let settings = HttpSettings {
            timeout: Some(TIMEOUT),
            insecure_skip_tls_verify: self.config.insecure_skip_tls_verify,
            proxy: None,
        };
        self.agent = Some(agent(NAME, &settings)?);
        Ok(())
    }

    fn interval(&mut self, delta: &Delta, _report: &Report) {
        if let Some(names) = self.names.as_mut() {
            self.store.add(delta, names);
        }
    }

    /// Pushes on the output's own thread, one request at a time (at most the 5 s timeout):
    /// the intervals meanwhile wait in the output's queue, never the VUs.
    fn flush(&mut self, report: &Report, last: bool) {
        let updated = self.store.take_updated();
        if !updated.is_empty() {
            self.send(updated, report, "sending the time series to the endpoint");
        }
        if last && self.config.stale_markers {
            let stale = self.store.stale_markers(UnixNanos::now().as_millis());
            if !stale.is_empty() {
                self.send(stale, report, "marking the time series as stale");
            }
        }
    }
}

#[cfg(test)]
mod tests;
