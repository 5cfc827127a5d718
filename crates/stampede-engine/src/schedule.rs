//! Pure timing functions of the executors: when a ramping VU slot is active, and when each
//! arrival-rate iteration is due. Kept apart from the async code so they can be tested exactly.

use std::time::Duration;

use stampede_core::Stage;

/// The windows (offsets from the scenario start) during which VU slot `slot` (0-based) of a
/// `ramping-vus` scenario is active: from when the interpolated target reaches `slot + 1`
/// until it reaches `slot` (k6's steps).
pub fn ramp_windows(start_vus: u64, stages: &[Stage], slot: u64) -> Vec<(Duration, Duration)> {
    let need = (slot + 1) as f64;
    let mut windows: Vec<(f64, f64)> = Vec::new();
    let mut push = |a: f64, b: f64| {
        if b <= a {
            return;
        }
        match windows.last_mut() {
            Some(last) if (last.1 - a).abs() < 1e-9 => last.1 = b,
            _ => windows.push((a, b)),
        }
    };
    let mut t0 = 0.0;
    let mut from = start_vus as f64;
    for st in stages {
        let len = st.duration.as_secs_f64();
        let to = st.target as f64;
        let t1 = t0 + len;
        if len == 0.0 {
            from = to;
            continue;
        }
        match (from >= need, to >= need) {
            (true, true) => push(t0, t1),
            (false, true) => push(t0 + (need - from) / (to - from) * len, t1),
            // As k6: going down, a VU stops one step later than the target passes below it
            // (k6's `getRawExecutionSteps`), so the last VU of a ramp to 0 runs to its end.
            (true, false) => push(t0, t0 + (from - need + 1.0) / (from - to) * len),
            (false, false) => {}
        }
        t0 = t1;
        from = to;
    }
    windows
        .into_iter()
        .map(|(a, b)| (Duration::from_secs_f64(a), Duration::from_secs_f64(b)))
        .collect()
}

/// Start offsets of the iterations of an arrival-rate scenario: the `n`-th iteration starts when
/// the integral of the rate reaches `n`. `rate_stages` are (duration, target rate per second)
/// with the rate interpolated linearly from `start_rate`; yields only every `stride`-th
/// iteration starting at `offset` (one worker's share).
pub fn arrival_times(
    start_rate: f64,
    rate_stages: &[(Duration, f64)],
    offset: u64,
    stride: u64,
) -> Vec<Duration> {
    let mut out = Vec::new();
    let mut t0 = 0.0;
    let mut done = 0.0f64; // iterations due before t0 (fractional)
    let mut r0 = start_rate;
    let mut next: u64 = offset;
    for (len, r1) in rate_stages {
        let len = len.as_secs_f64();
        let r1 = *r1;
        if len == 0.0 {
            r0 = r1;
            continue;
        }
        let k = (r1 - r0) / len;
        let stage_total = r0 * len + k * len * len / 2.0;
        while (next as f64) < done + stage_total - 1e-9 {
            let need = next as f64 - done;
            let x = if k.abs() < 1e-12 {
                need / r0
            } else {
                let disc = (r0 * r0 + 2.0 * k * need).max(0.0);
                (-r0 + disc.sqrt()) / k
            };
            out.push(Duration::from_secs_f64(t0 + x.clamp(0.0, len)));
            next += stride;
        }
        done += stage_total;
        t0 += len;
        r0 = r1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64, target: u64) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    #[test]
    fn ramp_up_and_down() {
        let stages = [s(10, 10), s(10, 10), s(10, 0)];
        let w = ramp_windows(0, &stages, 0);
        assert_eq!(w.len(), 1);
        assert!((w[0].0.as_secs_f64() - 1.0).abs() < 1e-6);
        assert!((w[0].1.as_secs_f64() - 30.0).abs() < 1e-6);
        let w = ramp_windows(0, &stages, 9);
        assert!((w[0].0.as_secs_f64() - 10.0).abs() < 1e-6);
        assert!((w[0].1.as_secs_f64() - 21.0).abs() < 1e-6);
        assert!(ramp_windows(0, &stages, 10).is_empty());
        let w = ramp_windows(3, &[s(5, 3)], 2);
        assert_eq!(w, vec![(Duration::ZERO, Duration::from_secs(5))]);
    }

    #[test]
    fn constant_rate_times() {
        let t = arrival_times(10.0, &[(Duration::from_secs(2), 10.0)], 0, 1);
        assert_eq!(t.len(), 20);
        assert_eq!(t[0], Duration::ZERO);
        assert!((t[1].as_secs_f64() - 0.1).abs() < 1e-9);
        let a = arrival_times(10.0, &[(Duration::from_secs(2), 10.0)], 0, 2);
        let b = arrival_times(10.0, &[(Duration::from_secs(2), 10.0)], 1, 2);
        assert_eq!(a.len() + b.len(), 20);
    }

    #[test]
    fn ramping_rate_integrates() {
        // 0 -> 10/s over 10 s: 50 iterations, denser at the end.
        let t = arrival_times(0.0, &[(Duration::from_secs(10), 10.0)], 0, 1);
        assert_eq!(t.len(), 50);
        assert!(t[49] > Duration::from_secs(9));
        assert!(t[1] > Duration::from_secs(1));
    }
}
