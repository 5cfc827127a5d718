//! Coordinated-omission correction for arrival-rate executors.
//!
//! k6 starts each iteration at its scheduled time if a VU is free and otherwise drops it
//! (`dropped_iterations`). The iterations that do run therefore look fast even when the system
//! is overloaded: the slow ones were never measured. This model answers "what latency would the
//! scheduled iterations have seen if they had queued for a VU instead of being dropped": a FIFO
//! queue served by as many virtual VUs as the scenario may use, where an executed iteration takes
//! its measured time and a dropped one the recent average. The corrected latency of an iteration
//! is its virtual wait plus its service time, measured from its scheduled start (as wrk2 does).
//! When VUs suffice it equals the measured duration from the scheduled start.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The virtual VU pool of one scenario on one worker.
pub(crate) struct OmissionModel {
    free_at: BinaryHeap<Reverse<Instant>>,
    /// Exponentially weighted mean of measured iteration durations.
    mean: Option<Duration>,
    start: Instant,
}

/// A reserved virtual slot: when the iteration would have started in the queued world.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub scheduled: Instant,
    pub virtual_start: Instant,
}

impl OmissionModel {
    pub(crate) fn new(vus: u64, start: Instant) -> OmissionModel {
        OmissionModel {
            free_at: (0..vus.max(1)).map(|_| Reverse(start)).collect(),
            mean: None,
            start,
        }
    }

    /// The mean measured duration; before the first iteration has finished, at least as long as
    /// the scenario has been running (the first iterations are still running).
    fn service_estimate(&self, now: Instant) -> Duration {
        self.mean
            .unwrap_or_else(|| now.saturating_duration_since(self.start))
    }

    /// Reserves the earliest virtual VU for an iteration scheduled at `scheduled`.
    pub(crate) fn reserve(&mut self, scheduled: Instant) -> Slot {
        let earliest = self.free_at.pop().map(|Reverse(t)| t).unwrap_or(scheduled);
        let virtual_start = earliest.max(scheduled);
        self.free_at
            .push(Reverse(virtual_start + self.service_estimate(scheduled)));
        Slot {
            scheduled,
            virtual_start,
        }
    }

    /// A dropped iteration: its corrected latency, with the average service time.
    pub(crate) fn dropped(&mut self, scheduled: Instant) -> Duration {
        let slot = self.reserve(scheduled);
        slot.virtual_start - slot.scheduled + self.service_estimate(scheduled)
    }

    /// An executed iteration that really started at `started` and took `took`: its corrected
    /// latency, and the measured duration feeds the average.
    pub(crate) fn executed(&mut self, slot: Slot, started: Instant, took: Duration) -> Duration {
        self.mean = Some(match self.mean {
            None => took,
            Some(m) => m.mul_f64(0.9) + took.mul_f64(0.1),
        });
        let waited = slot
            .virtual_start
            .max(started)
            .saturating_duration_since(slot.scheduled);
        waited + took
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn keeps_up_means_no_correction() {
        let t0 = Instant::now();
        let mut m = OmissionModel::new(2, t0);
        for i in 0..20 {
            let s = t0 + ms(100 * i);
            let slot = m.reserve(s);
            assert_eq!(m.executed(slot, s, ms(30)), ms(30));
        }
    }

    #[test]
    fn overload_grows_the_corrected_latency() {
        // One VU, 100 ms iterations, one arrival every 50 ms: k6 runs every other one.
        let t0 = Instant::now();
        let mut m = OmissionModel::new(1, t0);
        let mut corrected = Vec::new();
        for i in 0..40 {
            let s = t0 + ms(50 * i);
            if i % 2 == 0 {
                let slot = m.reserve(s);
                corrected.push(m.executed(slot, s, ms(100)));
            } else {
                corrected.push(m.dropped(s));
            }
        }
        // The queue grows by 50 ms per arrival pair: the last ones waited about a second.
        assert!(corrected[0] == ms(100));
        assert!(corrected[39] > ms(900), "{:?}", corrected[39]);
        assert!(corrected.windows(2).filter(|w| w[1] < w[0]).count() <= 1);
    }
}
