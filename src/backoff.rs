//! The wait between attempts of work that is retried until it succeeds (webhook deliveries,
//! learner e-mail): exponential, capped, with jitter. One formula, shared.

use std::time::Duration;

/// The wait after `failures` failures in a row: doubling from `min`, capped at `max`, with
/// jitter (between half and all of it), so that many retries do not line up.
#[must_use]
pub fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let doubled = min.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let capped = doubled.min(max);
    let mut random = [0u8; 8];
    let fraction = if getrandom::fill(&mut random).is_ok() {
        #[allow(clippy::cast_precision_loss)]
        let unit = u64::from_le_bytes(random) as f64 / u64::MAX as f64;
        0.5 + unit / 2.0
    } else {
        1.0
    };
    capped.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_doubles_with_jitter_and_stops_at_the_cap() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(300));
        for failures in 1..40 {
            let wait = backoff(min, max, failures);
            let full = min.saturating_mul(1u32 << (failures - 1).min(20)).min(max);
            assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?}");
        }
        assert!(backoff(min, max, 30) >= max / 2);
    }
}
