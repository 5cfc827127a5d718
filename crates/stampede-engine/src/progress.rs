//! The progress block on stdout while the test runs, as k6 draws it: on a terminal, a bar per
//! scenario redrawn in place twice a second; otherwise the same block with percentages, once a
//! second.
//!
//! ```text
//! running (00m02.0s), 05/12 VUs, 114 complete and 0 interrupted iterations
//! car      [============>-------] 0/2 VUs  2.0s/3s         5.00 iters/s
//! shared ✓ [====================] 1 VUs    00m02.0s/10m0s  20/20 shared iters
//! ```

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_core::{Executor, Scenario};
use stampede_js::ScenarioRef;

/// What the progress block shows.
pub(crate) struct Snapshot<'a> {
    pub elapsed: Duration,
    pub vus: i64,
    pub vus_max: u64,
    pub done: u64,
    pub interrupted: u64,
    /// A line each, with their executors.
    pub scenarios: &'a [(Arc<ScenarioRef>, Scenario)],
}

/// One scenario's line before it is laid out.
#[derive(Debug, PartialEq)]
struct Line {
    name: String,
    /// `✓` when done, `•` while waiting for its start time.
    status: char,
    /// 0 to 1.
    progress: f64,
    columns: Vec<String>,
}

/// `1.0s`, `1m30.0s`: the time spent, as k6 shows it next to a duration.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:.1}s", (s / 60.0).floor() as u64, s % 60.0)
    }
}

/// `00m01.0s`: the time spent, fixed width, as k6 shows it for iteration-based executors.
fn fixed(d: Duration) -> String {
    let s = d.as_secs_f64();
    format!("{:02}m{:04.1}s", (s / 60.0).floor() as u64, s % 60.0)
}

/// `n` zero-padded to the width of `total` (`07/12`).
fn of(n: u64, total: u64) -> String {
    let w = total.to_string().len();
    format!("{n:0w$}/{total}")
}

/// The rate of a ramping-arrival-rate scenario `at` into it, per second.
fn ramping_rate(
    start: u64,
    time_unit: Duration,
    stages: &[stampede_core::Stage],
    at: Duration,
) -> f64 {
    let (mut from, mut t0) = (start as f64, Duration::ZERO);
    for st in stages {
        let end = t0 + st.duration;
        if at < end {
            let f = if st.duration.is_zero() {
                1.0
            } else {
                (at - t0).as_secs_f64() / st.duration.as_secs_f64()
            };
            return (from + (st.target as f64 - from) * f) / time_unit.as_secs_f64().max(1e-9);
        }
        from = st.target as f64;
        t0 = end;
    }
    from / time_unit.as_secs_f64().max(1e-9)
}

fn line(sc: &ScenarioRef, exec: &Executor, elapsed: Duration) -> Line {
    let started = sc.iterations_started.load(Relaxed);
    let active = sc.vus_active.load(Relaxed).max(0) as u64;
    let name = sc.name.to_string();
    if elapsed < sc.start_time {
        return Line {
            name,
            status: '•',
            progress: 0.0,
            columns: vec!["waiting".into(), secs(sc.start_time - elapsed)],
        };
    }
    let ran = elapsed - sc.start_time;
    let length = sc.length.max(Duration::from_millis(1));
    let by_time = (ran.as_secs_f64() / length.as_secs_f64()).min(1.0);
    // Past its duration, a scenario shows the duration alone (k6: `3s`, not `3.0s/3s`).
    let over = ran >= sc.length;
    let timed = |total: Duration| {
        if over {
            stampede_core::format_duration(total)
        } else {
            format!(
                "{}/{}",
                secs(ran.min(total)),
                stampede_core::format_duration(total)
            )
        }
    };
    let (progress, columns) = match exec {
        Executor::ConstantVus { vus, duration } => {
            (by_time, vec![format!("{vus} VUs"), timed(*duration)])
        }
        Executor::RampingVus { .. } => {
            let max = exec.max_vus();
            let total = sc.length;
            let time = if over {
                stampede_core::format_duration(total)
            } else {
                format!("{}/{}", secs(ran.min(total)), secs(total))
            };
            (by_time, vec![format!("{} VUs", of(active, max)), time])
        }
        Executor::SharedIterations {
            vus,
            iterations,
            max_duration,
        } => (
            started as f64 / (*iterations).max(1) as f64,
            vec![
                format!("{vus} VUs"),
                format!(
                    "{}/{}",
                    fixed(ran),
                    stampede_core::format_duration(*max_duration)
                ),
                format!("{} shared iters", of(started.min(*iterations), *iterations)),
            ],
        ),
        Executor::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => {
            let total = vus * iterations;
            (
                started as f64 / total.max(1) as f64,
                vec![
                    format!("{vus} VUs"),
                    format!(
                        "{}/{}",
                        fixed(ran),
                        stampede_core::format_duration(*max_duration)
                    ),
                    format!(
                        "{} iters, {iterations} per VU",
                        of(started.min(total), total)
                    ),
                ],
            )
        }
        Executor::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            ..
        } => (
            by_time,
            vec![
                format!("{} VUs", of(active, exec.max_vus())),
                timed(*duration),
                format!(
                    "{:.2} iters/s",
                    *rate as f64 / time_unit.as_secs_f64().max(1e-9)
                ),
            ],
        ),
        Executor::RampingArrivalRate {
            start_rate,
            time_unit,
            stages,
            ..
        } => (
            by_time,
            vec![
                format!("{} VUs", of(active, exec.max_vus())),
                timed(sc.length),
                format!(
                    "{:.2} iters/s",
                    ramping_rate(*start_rate, *time_unit, stages, ran)
                ),
            ],
        ),
        Executor::ExternallyControlled { duration, .. } => (
            by_time,
            vec![
                format!("{} VUs", of(active, exec.max_vus())),
                timed(*duration),
                String::new(),
            ],
        ),
    };
    let by_duration = !matches!(
        exec,
        Executor::SharedIterations { .. } | Executor::PerVuIterations { .. }
    );
    let status = match (progress >= 1.0, active) {
        (true, 0) => '✓',
        // Its time is up, its VUs are finishing their iterations (gracefulStop).
        (true, _) if by_duration => '↓',
        _ => ' ',
    };
    Line {
        name,
        status,
        progress: progress.clamp(0.0, 1.0),
        columns,
    }
}

/// The block: the `running` line, then a line per scenario with its columns aligned. `bar`:
/// the width of a terminal's bars, or `None` for percentages.
fn render(snap: &Snapshot<'_>, bar: Option<usize>, color: bool) -> String {
    let secs = snap.elapsed.as_secs_f64();
    let mut out = format!(
        "running ({:02}m{:04.1}s), {} VUs, {} complete and {} interrupted iterations",
        (secs / 60.0).floor() as u64,
        secs % 60.0,
        of(snap.vus.max(0) as u64, snap.vus_max),
        snap.done,
        snap.interrupted
    );
    let lines: Vec<Line> = snap
        .scenarios
        .iter()
        .map(|(r, s)| line(r, &s.executor, snap.elapsed))
        .collect();
    let name_w = lines
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let cols = lines.iter().map(|l| l.columns.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            lines
                .iter()
                .filter_map(|l| l.columns.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let status = match (l.status, color) {
            ('✓', true) => "\x1b[32m✓\x1b[0m".to_string(),
            (c, _) => c.to_string(),
        };
        let gauge = match bar {
            Some(width) => {
                // k6's bar: `====>----`, the head in the last filled cell.
                let filled = ((l.progress * width as f64).floor() as usize).min(width);
                let done = match filled {
                    0 => String::new(),
                    n if n == width => "=".repeat(n),
                    n => format!("{}>", "=".repeat(n - 1)),
                };
                let dashes = "-".repeat(width - filled);
                let dashes = if color && !dashes.is_empty() {
                    format!("\x1b[2m{dashes}\x1b[22m")
                } else {
                    dashes
                };
                format!("[{done}{dashes}]")
            }
            None => format!("[{:>4.0}% ]", l.progress * 100.0),
        };
        let right: Vec<String> = l
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        let text = format!("{:<name_w$} {status} {gauge} {}", l.name, right.join("  "));
        out.push('\n');
        out.push_str(text.trim_end());
    }
    out
}

pub(crate) struct Progress {
    tty: bool,
    enabled: bool,
    last: Option<Instant>,
    /// Lines drawn last time (a terminal redraws over them).
    lines: usize,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Progress {
        let tty = std::io::stdout().is_terminal();
        Progress {
            tty,
            enabled,
            // Not on a terminal, k6's first block comes after a second.
            last: (!tty).then(Instant::now),
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
            Duration::from_secs(1)
        }
    }

    /// Draws the block (`force`: now, whenever it was drawn last).
    pub(crate) fn tick(&mut self, snap: Snapshot<'_>, force: bool) {
        if !self.due(force) {
            return;
        }
        self.last = Some(Instant::now());
        let mut out = std::io::stdout().lock();
        if self.tty {
            let width = terminal_width().unwrap_or(100);
            let text = render(&snap, Some(bar_width(&snap, width)), true);
            // Redraw in place: back up over the previous block, clear, write the new one.
            if self.lines > 0 {
                let _ = write!(out, "\x1b[{}A", self.lines);
            }
            let _ = write!(out, "\r\x1b[J{text}\n");
            self.lines = snap.scenarios.len() + 1;
        } else {
            let _ = writeln!(out, "{}", render(&snap, None, false));
        }
        let _ = out.flush();
    }
}

/// Bars fill what the terminal has left of its width, between 10 and 40 columns.
fn bar_width(snap: &Snapshot<'_>, terminal: usize) -> usize {
    let plain = render(snap, Some(0), false);
    let widest = plain
        .lines()
        .skip(1)
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    terminal.saturating_sub(widest + 1).clamp(10, 40)
}

/// The terminal's width in columns, if stdout is one.
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct it is given, nothing else.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicU64};

    use super::*;

    fn scenario(
        name: &str,
        exec: Executor,
        start: Duration,
        started: u64,
        active: i64,
    ) -> (Arc<ScenarioRef>, Scenario) {
        let mut s = Scenario::new(name, exec);
        s.start_time = start;
        let r = ScenarioRef {
            name: name.into(),
            executor: s.executor.name(),
            exec: "default".into(),
            tags: Vec::new(),
            env: Default::default(),
            start_time: start,
            length: s.executor.max_duration(),
            iterations_started: AtomicU64::new(started),
            vus_active: AtomicI64::new(active),
        };
        (Arc::new(r), s)
    }

    #[test]
    fn blocks_as_k6_prints_them_when_not_a_terminal() {
        // k6 1.1.0 printed these (stdout not a terminal) for the same two scenarios.
        let scenarios = [
            scenario(
                "first",
                Executor::ConstantVus {
                    vus: 2,
                    duration: Duration::from_secs(3),
                },
                Duration::ZERO,
                0,
                2,
            ),
            scenario(
                "second_one",
                Executor::SharedIterations {
                    vus: 1,
                    iterations: 20,
                    max_duration: Duration::from_secs(600),
                },
                Duration::from_secs(1),
                9,
                1,
            ),
        ];
        let snap = Snapshot {
            elapsed: Duration::from_secs(2),
            vus: 3,
            vus_max: 3,
            done: 47,
            interrupted: 0,
            scenarios: &scenarios,
        };
        // (k6 leaves a space or two more at the end of some lines; compared without them.)
        let block = render(&snap, None, false);
        let trimmed: Vec<&str> = block.lines().map(str::trim_end).collect();
        assert_eq!(
            trimmed,
            [
                "running (00m02.0s), 3/3 VUs, 47 complete and 0 interrupted iterations",
                "first        [  67% ] 2 VUs  2.0s/3s",
                "second_one   [  45% ] 1 VUs  00m01.0s/10m0s  09/20 shared iters"
            ]
        );
        let early = Snapshot {
            elapsed: Duration::from_millis(500),
            ..snap
        };
        let block = render(&early, None, false);
        assert!(block.contains("second_one • [   0% ] waiting"), "{block}");
    }

    #[test]
    fn bars_on_a_terminal() {
        let scenarios = [scenario(
            "car",
            Executor::ConstantArrivalRate {
                rate: 5,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(3),
                pre_allocated_vus: 2,
                max_vus: 2,
            },
            Duration::ZERO,
            10,
            0,
        )];
        let snap = Snapshot {
            elapsed: Duration::from_secs(2),
            vus: 5,
            vus_max: 12,
            done: 114,
            interrupted: 0,
            scenarios: &scenarios,
        };
        // k6: `car      [============>-------] 0/2 VUs  2.0s/3s         5.00 iters/s`
        assert_eq!(
            render(&snap, Some(20), false),
            "running (00m02.0s), 05/12 VUs, 114 complete and 0 interrupted iterations\n\
             car   [============>-------] 0/2 VUs  2.0s/3s  5.00 iters/s"
        );
        let done = Snapshot {
            elapsed: Duration::from_secs(4),
            ..snap
        };
        assert!(
            render(&done, Some(10), false).contains("car ✓ [==========] 0/2 VUs  3s  5.00 iters/s")
        );
    }
}
