//! Wall-clock time as the metrics stream carries it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A wall-clock instant: nanoseconds since the Unix epoch (UTC). Outputs format it; the stream
/// only compares and subtracts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixNanos(pub i64);

impl UnixNanos {
    pub fn now() -> UnixNanos {
        UnixNanos::from(SystemTime::now())
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// The nanoseconds past the whole second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS_PER_SEC) as u32
    }

    /// The first whole second strictly after `self`.
    pub fn next_second(self) -> UnixNanos {
        UnixNanos((self.secs() + 1) * NANOS_PER_SEC)
    }

    /// The first whole second at or after `self`.
    pub fn ceil_second(self) -> UnixNanos {
        if self.subsec_nanos() == 0 {
            self
        } else {
            self.next_second()
        }
    }

    /// How long from `self` until `later` (zero if `later` is not later).
    pub fn until(self, later: UnixNanos) -> Duration {
        Duration::from_nanos(later.0.saturating_sub(self.0).max(0) as u64)
    }

    pub fn plus(self, d: Duration) -> UnixNanos {
        UnixNanos(
            self.0
                .saturating_add(d.as_nanos().min(i64::MAX as u128) as i64),
        )
    }

    pub fn as_millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
}

impl From<SystemTime> for UnixNanos {
    fn from(t: SystemTime) -> UnixNanos {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => UnixNanos(d.as_nanos().min(i64::MAX as u128) as i64),
            Err(e) => UnixNanos(-(e.duration().as_nanos().min(i64::MAX as u128) as i64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_as_expected() {
        let t = UnixNanos(5 * NANOS_PER_SEC + 250);
        assert_eq!(t.secs(), 5);
        assert_eq!(t.subsec_nanos(), 250);
        assert_eq!(t.next_second(), UnixNanos(6 * NANOS_PER_SEC));
        assert_eq!(t.ceil_second(), UnixNanos(6 * NANOS_PER_SEC));
        let whole = UnixNanos(7 * NANOS_PER_SEC);
        assert_eq!(whole.ceil_second(), whole);
        assert_eq!(whole.next_second(), UnixNanos(8 * NANOS_PER_SEC));
        assert_eq!(
            t.until(whole),
            Duration::from_nanos(2 * NANOS_PER_SEC as u64 - 250)
        );
        assert_eq!(whole.until(t), Duration::ZERO);
        assert_eq!(UnixNanos(-1).secs(), -1);
    }
}
