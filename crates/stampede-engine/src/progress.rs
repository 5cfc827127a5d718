//! The live progress line on stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// What the progress lines show.
pub(crate) struct Snapshot<'a> {
    pub elapsed: Duration,
    pub vus: i64,
    pub vus_max: u64,
    pub done: u64,
    pub interrupted: u64,
    /// Requests so far (the line shows their rate).
    pub reqs: f64,
    /// One line each, as k6 shows them.
    pub scenarios: &'a [std::sync::Arc<stampede_js::ScenarioRef>],
}

/// `name [ 50% ] 3 VUs  1.0s/2s  120 iterations`: one scenario's line.
fn scenario_line(sc: &stampede_js::ScenarioRef, elapsed: Duration, width: usize) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let ran = elapsed.saturating_sub(sc.start_time);
    let pct = if sc.length.is_zero() {
        0.0
    } else {
        (ran.as_secs_f64() / sc.length.as_secs_f64()).min(1.0) * 100.0
    };
    format!(
        "{:<width$} [{:>4.0}% ] {} VUs  {:.1}s/{}  {} iterations",
        sc.name,
        pct,
        sc.vus_active.load(Relaxed).max(0),
        ran.min(sc.length.max(ran)).as_secs_f64(),
        stampede_core::format_duration(sc.length),
        sc.iterations_started.load(Relaxed),
    )
}

pub(crate) struct Progress {
    tty: bool,
    enabled: bool,
    last: Option<Instant>,
    last_reqs: f64,
    last_at: Instant,
    rate: f64,
    /// Lines drawn last time (a terminal redraws over them).
    lines: usize,
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
            lines: 0,
        }
    }

    /// Whether [`Progress::tick`] would draw now (so callers can skip gathering its numbers).
    pub(crate) fn due(&self, force: bool) -> bool {
        self.enabled && (force || self.last.is_none_or(|l| l.elapsed() >= self.every()))
    }

    fn every(&self) -> Duration {
        if self.tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        }
    }

    /// Prints `running (elapsed), active/max VUs, N complete and M interrupted iterations, R req/s`.
    pub(crate) fn tick(&mut self, snap: Snapshot<'_>, force: bool) {
        let Snapshot {
            elapsed,
            vus,
            vus_max,
            done,
            interrupted,
            reqs,
            scenarios,
        } = snap;
        if !self.due(force) {
            return;
        }
        let now = Instant::now();
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
        let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let mut text = line;
        for sc in scenarios {
            text.push('\n');
            text.push_str(&scenario_line(sc, elapsed, width));
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            // Redraw in place: back up over the previous block, clear, write the new one.
            if self.lines > 0 {
                let _ = write!(err, "\x1b[{}A", self.lines);
            }
            let _ = write!(err, "\r\x1b[J{text}\n");
            self.lines = scenarios.len() + 1;
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }
}
