//! When terminal output is handed to the renderer (xterm.js), and how much at a time.
//!
//! A board prints up to a few MB a second; the page's terminal redraws its rows after every
//! write it parses, and at 60 redraws a second the redrawing costs more than the text (1 MB of
//! prints: 0.65 s with a write per frame, 0.46 s with one per 50 ms, plain JS on this project's
//! test machine). And a renderer handed a large backlog parses it without letting the page draw a
//! frame (1 MB in one write: 70–400 ms without a frame). So the [`Pacer`]:
//! - writes quiet output (an echo, a prompt) on the next animation frame, as before;
//! - while output floods in (at least [`FLOOD_BYTES`] pending, or written by the last write,
//!   within [`FLOOD_MS`] of that write), writes at most every `FLOOD_MS` (every [`BACKLOG_MS`]
//!   while more is pending than one write takes);
//! - hands over as much per write as the renderer parses in [`PARSE_BUDGET_MS`] (measured from
//!   its own parse reports; [`WRITE_MAX`] until measured, never more than [`WRITE_CAP`]), and
//!   nothing more while it still parses the last write (the rest waits here, where waiting is
//!   cheap). A fixed size would cap the terminal: 128 KB every 50 ms is 2.5 MB/s, while a board
//!   prints up to 6 MB/s and xterm.js parses faster still;
//! - when frames stop (a hidden tab draws none), writes everything once [`HIDDEN_MAX`] is pending;
//! - once the output ends at a prompt (the board waits for input: the flood is over), writes it on
//!   the next frame, not after the flood's spacing: the end of a long print and its `>>> ` show
//!   up to [`FLOOD_MS`] sooner.
//!
//! Sans-I/O: the page tells it what arrived, what was written and parsed, and the time
//! (milliseconds); it answers what to schedule and how many bytes to write.

/// Minimum spacing of writes while output floods in, in milliseconds. Each write is a frame the
/// page draws (layout, paint, raster of the terminal's rows); while output arrives slower than
/// the renderer parses (no more pending than one write takes), fewer frames only save CPU: on a
/// direct link, where the socket's tens of thousands of messages already load it, 100 ms rather
/// than 50 cut the CPU of the page's main thread for 1 MB of prints by a third and its
/// compositing and raster by 40 % (Chromium, 2 cores).
pub const FLOOD_MS: u64 = 100;
/// The spacing while a backlog waits (more pending than one write takes): the renderer is then
/// what limits the terminal, and 30 ms of parsing per 50 ms keeps it busy.
pub const BACKLOG_MS: u64 = 50;
/// Bytes pending, or written by the last write, within [`FLOOD_MS`] of that write, that make
/// output a flood (2 KB a frame is 120 KB/s: more than anyone reads).
pub const FLOOD_BYTES: usize = 2 * 1024;
/// Bytes handed to the renderer in one write until its parse speed is known.
pub const WRITE_MAX: usize = 128 * 1024;
/// Parse time a write may take at the renderer's measured speed, in milliseconds (with a frame's
/// rendering after it, the page still draws a frame every ~30–50 ms while xterm.js parses).
pub const PARSE_BUDGET_MS: u64 = 30;
/// Fewest and most bytes in one write once the parse speed is known.
pub const WRITE_MIN: usize = 32 * 1024;
pub const WRITE_CAP: usize = 1 << 20;
/// Writes smaller than this do not measure the parse speed (their time is mostly overhead).
const MEASURE_MIN: usize = 16 * 1024;
/// Pending bytes above which everything is written at once, frame or not (a hidden tab gets no
/// animation frames; the backlog must not grow without end).
pub const HIDDEN_MAX: usize = 1 << 20;

/// What the page should arrange after telling the pacer something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Nothing to do (nothing pending, or a wake-up already arranged).
    Nothing,
    /// Call [`Pacer::due`] on the next animation frame.
    Frame,
    /// Call [`Pacer::due`] after this many milliseconds.
    After(u64),
    /// Call [`Pacer::due`] now.
    Now,
}

/// The pacing state of one terminal.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    pending: usize,
    /// When the last write was handed over, and its size.
    written_at: Option<u64>,
    last_write: usize,
    /// Writes handed over and not yet parsed.
    unparsed: usize,
    /// A wake-up is arranged and not yet come.
    armed: bool,
    /// The write being timed (handed over at, bytes), and the renderer's parse speed so far
    /// (bytes per millisecond, smoothed).
    timing: Option<(u64, usize)>,
    parse_rate: Option<u64>,
    /// The pending output ends at a prompt: it goes on the next frame.
    at_prompt: bool,
}

impl Pacer {
    pub fn new() -> Pacer {
        Pacer::default()
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// `bytes` more output arrived at `now`.
    pub fn arrived(&mut self, bytes: usize, now: u64) -> Wake {
        self.pending += bytes;
        if self.pending >= HIDDEN_MAX {
            return Wake::Now;
        }
        self.arm(now)
    }

    /// The output so far ends at a prompt (the board waits for input): what is pending goes on
    /// the next frame (or once the renderer has parsed its last write).
    pub fn at_prompt(&mut self, now: u64) -> Wake {
        self.at_prompt = true;
        if self.pending == 0 || self.unparsed > 0 {
            return Wake::Nothing;
        }
        // A wake-up arranged for the flood's spacing may still come: it then finds less or
        // nothing to write.
        self.armed = false;
        self.arm(now)
    }

    /// Most bytes the next write may hand over.
    pub fn write_max(&self) -> usize {
        match self.parse_rate {
            None => WRITE_MAX,
            Some(rate) => usize::try_from(rate.saturating_mul(PARSE_BUDGET_MS))
                .unwrap_or(WRITE_CAP)
                .clamp(WRITE_MIN, WRITE_CAP),
        }
    }

    /// The renderer finished parsing one write.
    pub fn parsed(&mut self, now: u64) -> Wake {
        self.unparsed = self.unparsed.saturating_sub(1);
        if self.unparsed == 0 {
            if let Some((at, bytes)) = self.timing.take() {
                let ms = now.saturating_sub(at).max(1);
                let rate = (bytes as u64 / ms).max(1);
                self.parse_rate = Some(match self.parse_rate {
                    None => rate,
                    Some(old) => (old * 3 + rate) / 4,
                });
            }
        }
        self.arm(now)
    }

    /// A wake-up arranged earlier has come: how many pending bytes to write now (0: none yet).
    /// The page writes up to that many bytes of its pending text (ending on a character
    /// boundary it may write a few fewer) and reports the count with [`Pacer::wrote`], whose
    /// answer says what to arrange next.
    pub fn due(&mut self) -> usize {
        self.armed = false;
        if self.pending == 0 {
            return 0;
        }
        if self.pending >= HIDDEN_MAX {
            return self.pending;
        }
        if self.unparsed > 0 {
            return 0;
        }
        self.pending.min(self.write_max())
    }

    /// `bytes` were handed to the renderer at `now` (as one write, whose parse it reports with
    /// [`Pacer::parsed`]); returns what to arrange for the rest.
    pub fn wrote(&mut self, bytes: usize, now: u64) -> Wake {
        self.pending = self.pending.saturating_sub(bytes);
        if self.pending == 0 {
            self.at_prompt = false;
        }
        if bytes > 0 {
            // Timed only when it is the one write in the renderer (its parse is then its own).
            self.timing = (self.unparsed == 0 && bytes >= MEASURE_MIN).then_some((now, bytes));
            self.written_at = Some(now);
            self.last_write = bytes;
            self.unparsed += 1;
        }
        self.arm(now)
    }

    fn arm(&mut self, now: u64) -> Wake {
        if self.armed || self.pending == 0 || self.unparsed > 0 {
            // Parsing: `parsed` arms again.
            return Wake::Nothing;
        }
        self.armed = true;
        let since = self.written_at.map(|t| now.saturating_sub(t));
        let spacing = if self.pending > self.write_max() {
            BACKLOG_MS
        } else {
            FLOOD_MS
        };
        match since {
            _ if self.at_prompt => Wake::Frame,
            Some(s) if s < spacing && self.pending.max(self.last_write) >= FLOOD_BYTES => {
                Wake::After(spacing - s)
            }
            _ => Wake::Frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a pacer like the page does; returns (bytes written per write, write times).
    fn drive(p: &mut Pacer, wake: Wake, now: u64, writes: &mut Vec<(u64, usize)>) {
        if wake == Wake::Nothing {
            return;
        }
        let n = p.due();
        if n > 0 {
            writes.push((now, n));
        }
        let _ = p.wrote(n, now);
    }

    #[test]
    fn quiet_output_goes_on_the_next_frame() {
        let mut p = Pacer::new();
        assert_eq!(p.arrived(1, 1000), Wake::Frame);
        assert_eq!(p.arrived(1, 1001), Wake::Nothing, "already armed");
        assert_eq!(p.due(), 2);
        assert_eq!(p.wrote(2, 1016), Wake::Nothing);
        assert_eq!(p.parsed(1017), Wake::Nothing, "nothing pending");
        // A keystroke's echo right after: small, so the next frame again.
        assert_eq!(p.arrived(1, 1020), Wake::Frame);
    }

    #[test]
    fn a_flood_is_written_at_most_every_flood_ms() {
        let mut p = Pacer::new();
        assert_eq!(p.arrived(100, 0), Wake::Frame);
        assert_eq!(p.due(), 100);
        assert_eq!(p.wrote(100, 16), Wake::Nothing);
        assert_eq!(p.parsed(18), Wake::Nothing);
        // 6 MB/s: 24 KB every 4 ms.
        assert_eq!(p.arrived(24 * 1024, 20), Wake::After(FLOOD_MS - 4));
        assert_eq!(p.arrived(24 * 1024, 24), Wake::Nothing);
        assert_eq!(p.due(), 48 * 1024);
    }

    #[test]
    fn a_steady_stream_of_small_pieces_is_a_flood_too() {
        // A direct link: the board's many small frames come in batches of ~1 KB every 4 ms.
        let mut p = Pacer::new();
        assert_eq!(p.arrived(1024, 0), Wake::Frame);
        assert_eq!(p.arrived(1024, 4), Wake::Nothing);
        assert_eq!(p.arrived(1024, 8), Wake::Nothing);
        assert_eq!(p.due(), 3072);
        assert_eq!(p.wrote(3072, 16), Wake::Nothing);
        assert_eq!(p.parsed(18), Wake::Nothing);
        assert_eq!(p.arrived(1024, 20), Wake::After(FLOOD_MS - 4));
        // After a quiet spell the next small piece is quiet output again.
        assert_eq!(p.due(), 1024);
        assert_eq!(p.wrote(1024, 66), Wake::Nothing);
        assert_eq!(p.parsed(67), Wake::Nothing);
        assert_eq!(p.arrived(10, 200), Wake::Frame);
    }

    #[test]
    fn a_prompt_ends_the_flood_spacing() {
        let mut p = Pacer::new();
        assert_eq!(p.arrived(24 * 1024, 0), Wake::Frame);
        assert_eq!(p.due(), 24 * 1024);
        p.wrote(24 * 1024, 16);
        p.parsed(20);
        // The last lines wait out the flood's spacing…
        assert_eq!(p.arrived(3000, 30), Wake::After(FLOOD_MS - 14));
        // …until the prompt after them comes: then the next frame.
        assert_eq!(p.arrived(4, 31), Wake::Nothing, "armed");
        assert_eq!(p.at_prompt(31), Wake::Frame);
        assert_eq!(p.due(), 3004);
        assert_eq!(p.wrote(3004, 40), Wake::Nothing);
        p.parsed(42);
        // The prompt was written: the next flood is spaced again.
        assert_eq!(p.arrived(24 * 1024, 50), Wake::After(FLOOD_MS - 10));
    }

    #[test]
    fn a_prompt_while_the_renderer_parses_waits_for_the_parse() {
        let mut p = Pacer::new();
        p.arrived(24 * 1024, 0);
        let n = p.due();
        p.wrote(n, 0);
        assert_eq!(p.arrived(100, 5), Wake::Nothing, "parsing");
        assert_eq!(p.at_prompt(5), Wake::Nothing, "parsing");
        assert_eq!(p.parsed(8), Wake::Frame, "not after the flood's spacing");
        assert_eq!(
            p.at_prompt(9),
            Wake::Frame,
            "a second prompt arms again (harmless)"
        );
    }

    #[test]
    fn nothing_more_while_the_renderer_parses_and_at_most_write_max() {
        let mut p = Pacer::new();
        p.arrived(300 * 1024, 0);
        assert_eq!(p.due(), WRITE_MAX);
        assert_eq!(p.wrote(WRITE_MAX, 16), Wake::Nothing, "parsing");
        assert_eq!(p.arrived(10, 20), Wake::Nothing, "still parsing");
        assert_eq!(p.due(), 0, "a stray wake-up writes nothing while parsing");
        // Parsed after 40 ms: the backlog is a flood, so it waits out BACKLOG_MS from the write.
        assert_eq!(p.parsed(56), Wake::After(BACKLOG_MS - 40));
        // 128 KB in 40 ms: 3,276 bytes a millisecond, 30 ms of that next.
        assert_eq!(p.due(), 3276 * PARSE_BUDGET_MS as usize);
    }

    #[test]
    fn writes_grow_to_what_the_renderer_parses_in_the_budget() {
        let mut p = Pacer::new();
        p.arrived(900 * 1024, 0);
        assert_eq!(p.due(), WRITE_MAX, "unmeasured");
        p.wrote(WRITE_MAX, 0);
        // 128 KB parsed in 16 ms: 8 KB/ms, so 240 KB in the 30 ms budget.
        p.parsed(16);
        assert_eq!(p.write_max(), 8192 * PARSE_BUDGET_MS as usize);
        // Slower parses pull it down (smoothed), never below WRITE_MIN.
        for t in 1..20u64 {
            let n = p.write_max();
            p.wrote(n, t * 1000);
            p.parsed(t * 1000 + 900);
        }
        assert_eq!(p.write_max(), WRITE_MIN);
        // A fast renderer is capped at WRITE_CAP.
        for t in 20..40u64 {
            let n = p.write_max();
            p.wrote(n, t * 1000);
            p.parsed(t * 1000 + 1);
        }
        assert_eq!(p.write_max(), WRITE_CAP);
    }

    #[test]
    fn small_writes_do_not_measure_the_parse_speed() {
        let mut p = Pacer::new();
        p.arrived(100, 0);
        let n = p.due();
        p.wrote(n, 0);
        p.parsed(50);
        assert_eq!(p.write_max(), WRITE_MAX);
    }

    #[test]
    fn a_hidden_tab_writes_everything_once_hidden_max_is_pending() {
        let mut p = Pacer::new();
        assert_eq!(p.arrived(HIDDEN_MAX - 1, 0), Wake::Frame);
        // No frame comes.
        assert_eq!(p.arrived(1, 500), Wake::Now);
        assert_eq!(p.due(), HIDDEN_MAX);
    }

    #[test]
    fn everything_arrives_written_exactly_once_in_order_of_time() {
        // A steady 6 MB/s for 1 MB, parse taking 5 ms per write: every byte is written once,
        // writes are ≥ BACKLOG_MS apart once flooding, and none is over WRITE_CAP.
        let mut p = Pacer::new();
        let mut writes = Vec::new();
        let mut wake_at: Option<u64> = None;
        let mut parse_done: Option<u64> = None;
        let total = 1 << 20;
        let mut sent = 0;
        for now in 0..2000u64 {
            if now % 4 == 0 && sent < total {
                let n = (24 * 1024).min(total - sent);
                sent += n;
                match p.arrived(n, now) {
                    Wake::Frame => wake_at = wake_at.or(Some(now + 16)),
                    Wake::After(ms) => wake_at = wake_at.or(Some(now + ms)),
                    Wake::Now => wake_at = Some(now),
                    Wake::Nothing => {}
                }
            }
            if parse_done == Some(now) {
                parse_done = None;
                match p.parsed(now) {
                    Wake::Frame => wake_at = wake_at.or(Some(now + 16)),
                    Wake::After(ms) => wake_at = wake_at.or(Some(now + ms)),
                    Wake::Now => wake_at = Some(now),
                    Wake::Nothing => {}
                }
            }
            if wake_at == Some(now) {
                wake_at = None;
                let before = writes.len();
                drive(&mut p, Wake::Now, now, &mut writes);
                if writes.len() > before {
                    parse_done = Some(now + 5);
                }
            }
        }
        assert_eq!(writes.iter().map(|w| w.1).sum::<usize>(), total);
        assert!(writes.iter().all(|w| w.1 <= WRITE_CAP));
        for pair in writes.windows(2).skip(1) {
            assert!(pair[1].0 - pair[0].0 >= BACKLOG_MS, "{writes:?}");
        }
        assert!(writes.len() < 40, "{} writes", writes.len());
        assert_eq!(p.pending(), 0);
    }
}
