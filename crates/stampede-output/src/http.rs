//! Sending to a server: a blocking HTTP client on the output's own threads, and a small pool
//! that runs a bounded number of requests at once (k6's `CONCURRENT_WRITES`) and drops what it
//! cannot take, counting it as lost.

use std::time::Duration;

use crossbeam_channel::{bounded, Sender, TrySendError};

use crate::{OutputError, Report};

/// What every request of one output carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpSettings {
    pub timeout: Option<Duration>,
    pub insecure_skip_tls_verify: bool,
    pub proxy: Option<String>,
}

/// The `Authorization` header of HTTP basic authentication.
pub(crate) fn basic_auth(user: &str, password: &str) -> (String, String) {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    ("Authorization".into(), format!("Basic {token}"))
}

/// A client for `output`'s requests.
pub(crate) fn agent(output: &str, s: &HttpSettings) -> Result<ureq::Agent, OutputError> {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(s.insecure_skip_tls_verify)
        .build();
    let mut config = ureq::Agent::config_builder()
        .timeout_global(s.timeout)
        .http_status_as_error(false)
        .user_agent(concat!("stampede/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls);
    if let Some(proxy) = &s.proxy {
        let proxy = ureq::Proxy::new(proxy)
            .map_err(|e| OutputError::config(output, format!("invalid proxy {proxy:?}: {e}")))?;
        config = config.proxy(Some(proxy));
    }
    Ok(config.build().into())
}

/// POSTs `body` to `url`; `Err` says why it did not arrive (a failure to connect, or the
/// server's status and answer).
pub(crate) fn post(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), String> {
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let mut resp = req.send(body).map_err(|e| format!("POST {url}: {e}"))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp
        .body_mut()
        .with_config()
        .limit(4096)
        .read_to_string()
        .unwrap_or_default();
    Err(format!(
        "POST {url}: the server answered {status}{}{}",
        if text.is_empty() { "" } else { ": " },
        text.trim()
    ))
}

struct Job {
    body: Vec<u8>,
    points: u64,
}

/// Runs up to `concurrency` POSTs at once; a body the pool cannot take is dropped and counted.
pub(crate) struct Poster {
    tx: Option<Sender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    report: Report,
}

impl Poster {
    pub(crate) fn new(
        name: &str,
        agent: ureq::Agent,
        url: String,
        headers: Vec<(String, String)>,
        concurrency: usize,
        report: Report,
    ) -> Result<Poster, OutputError> {
        let concurrency = concurrency.max(1);
        // One waiting body per sender besides the ones being sent.
        let (tx, rx) = bounded::<Job>(concurrency);
        let mut threads = Vec::new();
        for i in 0..concurrency {
            let (rx, agent, url, headers, report) = (
                rx.clone(),
                agent.clone(),
                url.clone(),
                headers.clone(),
                report.clone(),
            );
            let t = std::thread::Builder::new()
                .name(format!("output-{name}-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        match post(&agent, &url, &headers, &job.body) {
                            Ok(()) => report.delivered(job.points),
                            Err(e) => report.lost(job.points, &e),
                        }
                    }
                })
                .map_err(|e| OutputError::Start {
                    output: name.to_string(),
                    reason: format!("can't start a sender thread: {e}"),
                })?;
            threads.push(t);
        }
        Ok(Poster {
            tx: Some(tx),
            threads,
            report,
        })
    }

    /// Queues `body` (holding `points` samples); drops it if every sender is busy and the
    /// queue is full.
    pub(crate) fn post(&self, body: Vec<u8>, points: u64) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Job { body, points }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.report.lost(
                points,
                "the server takes longer than the push interval: every write is in flight",
            ),
            Err(TrySendError::Disconnected(_)) => self.report.lost(points, "the senders stopped"),
        }
    }

    /// Queues `body`, waiting for room (at the end of the run, nothing is dropped for being in a
    /// hurry).
    pub(crate) fn post_waiting(&self, body: Vec<u8>, points: u64) {
        let Some(tx) = &self.tx else { return };
        if tx.send(Job { body, points }).is_err() {
            self.report.lost(points, "the senders stopped");
        }
    }

    /// Waits for every queued body to be sent.
    pub(crate) fn finish(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A server that takes connections and never answers: the pool does not wait for it, and
    /// what it cannot take is counted at once.
    #[test]
    fn a_stuck_server_never_blocks_the_caller() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/write", listener.local_addr().unwrap());
        // Holds every connection open, answering nothing (ends with the test process).
        std::thread::spawn(move || {
            let mut open = Vec::new();
            for c in listener.incoming() {
                open.push(c);
            }
        });
        let settings = HttpSettings {
            timeout: Some(Duration::from_secs(1)),
            ..HttpSettings::default()
        };
        let report = Report::new("test".into());
        let mut pool = Poster::new(
            "test",
            agent("test", &settings).unwrap(),
            url,
            Vec::new(),
            1,
            report.clone(),
        )
        .unwrap();
        let started = Instant::now();
        for _ in 0..5 {
            pool.post(b"x value=1 1\n".to_vec(), 10);
        }
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
        // One in flight, one queued: the other three were dropped and counted.
        assert!(report.stats().lost >= 30, "{:?}", report.stats());
        pool.finish();
        let stats = report.stats();
        assert_eq!(stats.lost, 50, "{stats:?}");
        assert_eq!(stats.delivered, 0);
        assert!(stats
            .last_error
            .is_some_and(|e| e.contains("POST http://127.0.0.1")));
    }
}
