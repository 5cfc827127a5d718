//! The live progress line on stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// What the progress line shows.
pub(crate) struct Snapshot {
    pub elapsed: Duration,
    pub vus: i64,
    pub vus_max: u64,
    pub done: u64,
    pub interrupted: u64,
    /// Requests so far (the line shows their rate).
    pub reqs: f64,
}

pub(crate) struct Progress {
    tty: bool,
    enabled: bool,
    last: Option<Instant>,
    last_reqs: f64,
    last_at: Instant,
    rate: f64,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            enabled,
            last: None,
            last_reqs: 0.0,
            last_at: Instant::now(),
            rate: 0.0,
        }
    }

    /// Prints `running (elapsed), active/max VUs, N complete and M interrupted iterations, R req/s`.
    pub(crate) fn tick(&mut self, snap: Snapshot, force: bool) {
        let Snapshot {
            elapsed,
            vus,
            vus_max,
            done,
            interrupted,
            reqs,
        } = snap;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let every = if self.tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        };
        if !force && self.last.is_some_and(|l| now - l < every) {
            return;
        }
        let dt = (now - self.last_at).as_secs_f64();
        if dt > 0.2 {
            self.rate = (reqs - self.last_reqs) / dt;
            self.last_reqs = reqs;
            self.last_at = now;
        }
        self.last = Some(now);
        let secs = elapsed.as_secs_f64();
        let line = format!(
            "running ({:02}m{:04.1}s), {vus}/{vus_max} VUs, {done} complete and {interrupted} interrupted iterations, {:.0} req/s",
            (secs / 60.0).floor() as u64,
            secs % 60.0,
            self.rate.max(0.0)
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    pub(crate) fn finish(&mut self) {
        if self.enabled && self.tty && self.last.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}
