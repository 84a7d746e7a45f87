//! When to try again after the link dropped (docs/board-behaviour.md: Resets: boards reset, soft reboots end the session).
//!
//! Exponential backoff with a cap, reset after a successful login. Time is passed in.

/// Backoff schedule: `first_ms`, doubling, at most `max_ms`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first_ms: u64,
    max_ms: u64,
    attempt: u32,
}

impl Backoff {
    pub fn new(first_ms: u64, max_ms: u64) -> Self {
        Backoff {
            first_ms: first_ms.max(1),
            max_ms: max_ms.max(first_ms.max(1)),
            attempt: 0,
        }
    }

    /// The delay before the next try; each call counts as one try.
    pub fn next_delay(&mut self) -> u64 {
        let shift = self.attempt.min(20);
        self.attempt = self.attempt.saturating_add(1);
        self.first_ms.saturating_mul(1u64 << shift).min(self.max_ms)
    }

    /// How many tries since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A session logged in: start again from the first delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(300, 10_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(250, 2000);
        let d: Vec<u64> = (0..6).map(|_| b.next_delay()).collect();
        assert_eq!(d, vec![250, 500, 1000, 2000, 2000, 2000]);
        b.reset();
        assert_eq!(b.next_delay(), 250);
        let mut huge = Backoff::new(1, u64::MAX);
        for _ in 0..100 {
            huge.next_delay();
        }
    }
}
