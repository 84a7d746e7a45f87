//! The reconnect supervisor: which link the user wants (a WebREPL address or a USB board), and
//! after the link closed whether to try again, after how long ([`Backoff`]) and what to tell the
//! user; a USB board that is unplugged is waited for. Time stays with the caller: it sets a
//! timer for the delay asked for and calls [`Supervisor::timer_fired`].

use crate::{parse_board_url, Backoff, CloseReason};

/// What a lost USB link is reported as.
pub const USB_LOST: &str = "the USB board went away (unplugged, or its USB port reset). Plug it back in: the page reconnects when its port is back (if it does not, press Connect USB board: browsers forget a board without a USB serial number when it is unplugged)";

/// How a USB board that is not there is looked for again.
pub const PORT_POLL_MS: u64 = 1000;

/// The kind of link the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    WebRepl,
    Serial,
}

/// What to do after the link closed (or a USB board was not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// No link is wanted (the user disconnected): nothing.
    Nothing,
    /// Open the link again after `delay_ms`; `why` says what happened.
    Retry { delay_ms: u64, why: String },
    /// The USB link was lost but its port is still there (the board's USB reset): open it
    /// again after `delay_ms`.
    ReopenPort { delay_ms: u64, why: String },
    /// The USB board is away: look again after `delay_ms` (or when a port appears). `tell`:
    /// the terminal says so (when the link was just lost; not on each look again, nor when a
    /// remembered board is simply not plugged in at a connect).
    WaitForPort {
        delay_ms: u64,
        why: String,
        tell: bool,
    },
    /// Do not try again: the reason is final (wrong password, a bad address …).
    GiveUp { why: String },
}

impl Next {
    /// The status line's words.
    pub fn status(&self) -> String {
        match self {
            Next::Nothing => String::new(),
            Next::Retry { delay_ms, .. } => format!("Reconnecting in {}…", seconds(*delay_ms)),
            Next::ReopenPort { delay_ms, .. } => {
                format!("Reopening the USB board in {}…", seconds(*delay_ms))
            }
            Next::WaitForPort { .. } => "Waiting for the USB board…".into(),
            Next::GiveUp { .. } => "Not connected".into(),
        }
    }

    /// The terminal's notice.
    pub fn notice(&self) -> String {
        match self {
            Next::Nothing => String::new(),
            Next::Retry { delay_ms, why } => {
                format!("{why} (reconnecting in {})", seconds(*delay_ms))
            }
            Next::ReopenPort { delay_ms, why } => format!(
                "{why} (the port is still there: reopening it in {})",
                seconds(*delay_ms)
            ),
            Next::WaitForPort { why, .. } => format!("{why} (waiting for the board to come back)"),
            Next::GiveUp { why } => why.clone(),
        }
    }

    /// What the terminal should say, if anything: once per lost link, not on every look for a
    /// missing board.
    pub fn terminal_notice(&self) -> Option<String> {
        match self {
            Next::Nothing | Next::WaitForPort { tell: false, .. } => None,
            _ => Some(self.notice()),
        }
    }

    /// Why, for the message line (and the room's status at a station).
    pub fn why(&self) -> &str {
        match self {
            Next::Nothing => "",
            Next::Retry { why, .. }
            | Next::ReopenPort { why, .. }
            | Next::WaitForPort { why, .. }
            | Next::GiveUp { why } => why,
        }
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The supervisor's state.
#[derive(Debug, Clone)]
pub struct Supervisor {
    wanted: Option<Link>,
    backoff: Backoff,
    /// An Edrys station keeps its board: it retries every close that is not final.
    station: bool,
    /// A retry is scheduled (the caller's timer runs).
    timer: bool,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new(Backoff::new(500, 8000))
    }
}

impl Supervisor {
    pub fn new(backoff: Backoff) -> Supervisor {
        Supervisor {
            wanted: None,
            backoff,
            station: false,
            timer: false,
        }
    }

    /// This page is an Edrys station (it retries harder).
    pub fn set_station(&mut self, station: bool) {
        self.station = station;
    }

    /// The link the user wants, if any.
    pub fn wanted(&self) -> Option<Link> {
        self.wanted
    }

    /// True when a retry timer is expected to fire.
    pub fn timer_pending(&self) -> bool {
        self.timer
    }

    /// The user asked for `link` (Connect): any scheduled retry is void.
    pub fn want(&mut self, link: Link) {
        self.wanted = Some(link);
        self.timer = false;
    }

    /// The user disconnected, or a connect failed for good: nothing is retried.
    pub fn stop(&mut self) {
        self.wanted = None;
        self.timer = false;
    }

    /// A session logged in: the next drop retries quickly again.
    pub fn logged_in(&mut self) {
        self.backoff.reset();
    }

    /// The link closed for `reason` (`why`: the reason in words for this page).
    pub fn closed(&mut self, reason: &CloseReason, why: String) -> Next {
        if self.wanted.is_none() {
            return Next::Nothing;
        }
        if reason.should_reconnect() || (self.station && !reason.is_final()) {
            self.timer = true;
            Next::Retry {
                delay_ms: self.backoff.next_delay(),
                why,
            }
        } else {
            self.stop();
            Next::GiveUp { why }
        }
    }

    /// The wanted USB board has no port now (unplugged): wait for it.
    pub fn port_absent(&mut self) -> Next {
        if self.wanted != Some(Link::Serial) {
            return Next::Nothing;
        }
        self.timer = true;
        Next::WaitForPort {
            delay_ms: PORT_POLL_MS,
            why: USB_LOST.into(),
            tell: false,
        }
    }

    /// The wanted USB board's link was lost; `port_there`: the browser still lists its port (a
    /// USB reset, not an unplug). Either it is opened again after the backoff delay, or the
    /// board is waited for, however long — never a "reconnecting in 0.5 s" that is not true.
    pub fn usb_lost(&mut self, port_there: bool) -> Next {
        if self.wanted != Some(Link::Serial) {
            return Next::Nothing;
        }
        self.timer = true;
        if port_there {
            Next::ReopenPort {
                delay_ms: self.backoff.next_delay(),
                why: USB_LOST.into(),
            }
        } else {
            Next::WaitForPort {
                delay_ms: PORT_POLL_MS,
                why: USB_LOST.into(),
                tell: true,
            }
        }
    }

    /// A USB port appeared; `link_closed` when there is no open link. True when the wanted USB
    /// board should be opened now (the retry timer, if any, is void).
    pub fn port_appeared(&mut self, link_closed: bool) -> bool {
        let go = self.wanted == Some(Link::Serial) && link_closed;
        if go {
            self.timer = false;
        }
        go
    }

    /// The retry timer fired: the link to open again, if it is still wanted.
    pub fn timer_fired(&mut self) -> Option<Link> {
        if !std::mem::replace(&mut self.timer, false) {
            return None;
        }
        self.wanted
    }
}

/// A close reason in words for this page. `url` is the WebREPL address: when it goes through
/// a proxy on this computer, a failed connection names the proxy and the browser's
/// local-network rules (docs/local-network-access.md); a lost USB link says to plug it back.
pub fn explain(reason: &CloseReason, link: Link, url: &str) -> String {
    let proxied = parse_board_url(url)
        .ok()
        .filter(|u| u.target.is_some() && u.is_loopback());
    match (reason, proxied) {
        (CloseReason::Lost { .. }, _) if link == Link::Serial => USB_LOST.into(),
        (CloseReason::ConnectFailed | CloseReason::ConnectTimeout(_), Some(u)) => format!(
            "nothing answered at {}:{}: is the webrepl proxy running on this computer (`webrepl proxy`)? If it is, the browser may be blocking local network access for this site: allow it in the site settings (Chrome: Local network access), or ask the lab's admin to set the Chrome policy LocalNetworkAccessAllowedForUrls for the lab's Edrys address",
            u.host, u.port
        ),
        _ => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soft_reset_retries_with_growing_delays_until_a_login() {
        let mut s = Supervisor::new(Backoff::new(500, 2000));
        assert_eq!(
            s.closed(&CloseReason::SoftReset, "x".into()),
            Next::Nothing,
            "nothing wanted"
        );
        s.want(Link::WebRepl);
        let delays: Vec<u64> = (0..4)
            .map(
                |_| match s.closed(&CloseReason::SoftReset, "reset".into()) {
                    Next::Retry { delay_ms, .. } => delay_ms,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(delays, vec![500, 1000, 2000, 2000]);
        assert_eq!(s.timer_fired(), Some(Link::WebRepl));
        assert_eq!(s.timer_fired(), None, "one timer, one retry");
        s.logged_in();
        let next = s.closed(&CloseReason::SoftReset, "the board reset".into());
        assert_eq!(next.status(), "Reconnecting in 0.5 s…");
        assert_eq!(next.notice(), "the board reset (reconnecting in 0.5 s)");
    }

    #[test]
    fn a_lost_usb_link_says_what_the_page_does() {
        let mut s = Supervisor::default();
        assert_eq!(s.usb_lost(false), Next::Nothing, "nothing wanted");
        s.want(Link::Serial);
        let gone = s.usb_lost(false);
        assert!(matches!(
            gone,
            Next::WaitForPort {
                delay_ms: PORT_POLL_MS,
                ..
            }
        ));
        assert!(gone
            .notice()
            .ends_with("(waiting for the board to come back)"));
        assert_eq!(
            gone.terminal_notice(),
            Some(gone.notice()),
            "said when lost"
        );
        // Looking again a second later (still unplugged): nothing more in the terminal.
        let again = s.port_absent();
        assert!(matches!(again, Next::WaitForPort { .. }));
        assert_eq!(again.terminal_notice(), None);
        assert!(!gone.notice().contains("reconnecting in"));
        assert_eq!(s.timer_fired(), Some(Link::Serial));
        let reset = s.usb_lost(true);
        assert_eq!(reset.status(), "Reopening the USB board in 0.5 s…");
        assert!(reset
            .notice()
            .ends_with("(the port is still there: reopening it in 0.5 s)"));
        s.stop();
        assert_eq!(s.usb_lost(true), Next::Nothing, "disconnected meanwhile");
    }

    #[test]
    fn a_final_reason_gives_up_and_a_disconnect_voids_the_timer() {
        let mut s = Supervisor::default();
        s.want(Link::WebRepl);
        let next = s.closed(&CloseReason::AccessDenied, "denied".into());
        assert_eq!(
            next,
            Next::GiveUp {
                why: "denied".into()
            }
        );
        assert_eq!(s.wanted(), None);
        s.want(Link::WebRepl);
        assert!(matches!(
            s.closed(&CloseReason::SoftReset, String::new()),
            Next::Retry { .. }
        ));
        s.stop();
        assert_eq!(s.timer_fired(), None);
    }

    #[test]
    fn a_station_retries_what_a_page_alone_gives_up() {
        let mut alone = Supervisor::default();
        let mut station = Supervisor::default();
        station.set_station(true);
        for s in [&mut alone, &mut station] {
            s.want(Link::WebRepl);
        }
        assert!(matches!(
            alone.closed(&CloseReason::ConnectFailed, String::new()),
            Next::GiveUp { .. }
        ));
        assert!(matches!(
            station.closed(&CloseReason::ConnectFailed, String::new()),
            Next::Retry { .. }
        ));
        assert!(matches!(
            station.closed(&CloseReason::AccessDenied, String::new()),
            Next::GiveUp { .. }
        ));
    }

    #[test]
    fn an_unplugged_usb_board_is_waited_for_and_opened_when_its_port_is_back() {
        let mut s = Supervisor::default();
        assert_eq!(s.port_absent(), Next::Nothing);
        s.want(Link::Serial);
        let next = s.port_absent();
        assert_eq!(next.status(), "Waiting for the USB board…");
        assert_eq!(next.why(), USB_LOST);
        assert!(!s.port_appeared(false), "a link is still open");
        assert!(s.port_appeared(true));
        assert_eq!(
            s.timer_fired(),
            None,
            "the port event took the timer's place"
        );
        s.want(Link::WebRepl);
        assert!(!s.port_appeared(true), "a WebREPL link is wanted");
    }

    #[test]
    fn close_reasons_in_words_for_this_page() {
        let lost = CloseReason::Lost { code: Some(1006) };
        assert_eq!(explain(&lost, Link::Serial, ""), USB_LOST);
        let via_proxy = "ws://127.0.0.1:8267/ws://192.168.4.1:8266/";
        let text = explain(&CloseReason::ConnectFailed, Link::WebRepl, via_proxy);
        assert!(
            text.starts_with("nothing answered at 127.0.0.1:8267"),
            "{text}"
        );
        let direct = explain(
            &CloseReason::ConnectFailed,
            Link::WebRepl,
            "ws://192.168.4.1:8266/",
        );
        assert_eq!(direct, CloseReason::ConnectFailed.to_string());
    }
}
