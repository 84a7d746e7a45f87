//! The Edrys station's share of the terminal (sans-I/O): what the room sees and who may type.
//!
//! The station holds the board connection; everyone else in the room sees its terminal through
//! messages. [`Broadcast`] batches output into at most one message per 50 ms of at most 16 KB,
//! keeps the room usable under a flood with a byte budget (what is left out is counted and
//! announced in the stream), and keeps the last 64 KB for people who join late. [`InputPolicy`]
//! decides whose keystrokes reach the board, [`FilePolicy`] who may change which files.

use std::collections::VecDeque;

/// Who may type into the shared terminal (stationConfig `input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputPolicy {
    /// Everyone in the room (as the module this replaces).
    #[default]
    Everyone,
    /// Teachers and the station.
    Teacher,
    /// View only.
    None,
}

/// A role in an Edrys class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Student,
    Teacher,
    Station,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Teacher => "teacher",
            Role::Station => "station",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "student" => Some(Role::Student),
            "teacher" => Some(Role::Teacher),
            "station" => Some(Role::Station),
            _ => None,
        }
    }
}

impl InputPolicy {
    /// Parses the config value; `Err` names the accepted values.
    pub fn parse(s: &str) -> Result<InputPolicy, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "everyone" | "all" => Ok(InputPolicy::Everyone),
            "teacher" | "teachers" => Ok(InputPolicy::Teacher),
            "none" | "nobody" | "view" => Ok(InputPolicy::None),
            other => Err(format!(
                "input: \"{other}\" is not a known setting; use everyone, teacher or none (using everyone)"
            )),
        }
    }

    /// `Ok` when `role` may type; otherwise why not, for the person typing.
    pub fn check(self, role: Option<Role>) -> Result<(), &'static str> {
        match (self, role) {
            (_, Some(Role::Station)) => Ok(()),
            (InputPolicy::Everyone, Some(_)) => Ok(()),
            (InputPolicy::Teacher, Some(Role::Teacher)) => Ok(()),
            (InputPolicy::Teacher, _) => {
                Err("typing is reserved for teachers in this lab (station setting input: teacher)")
            }
            (InputPolicy::None, _) => {
                Err("this terminal is view-only (station setting input: none)")
            }
            (InputPolicy::Everyone, None) => {
                Err("your role in this class is unknown, so your keystrokes were not sent")
            }
        }
    }
}

/// Limits for [`Broadcast`].
#[derive(Debug, Clone)]
pub struct BroadcastConfig {
    /// At most one message per this many ms.
    pub interval_ms: u64,
    /// At most this many bytes of text per message.
    pub max_message: usize,
    /// Sustained bytes per second the room gets under a flood.
    pub budget_per_sec: usize,
    /// Bytes kept for late joiners.
    pub backlog: usize,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        BroadcastConfig {
            interval_ms: 50,
            max_message: 16 * 1024,
            budget_per_sec: 64 * 1024,
            backlog: 64 * 1024,
        }
    }
}

/// Output batching and flood control for the room.
#[derive(Debug, Clone)]
pub struct Broadcast {
    cfg: BroadcastConfig,
    pending: String,
    /// Bytes left out since the last notice.
    dropped: u64,
    /// Byte budget available now (token bucket, refilled with time, capped at 2 messages).
    tokens: f64,
    last_refill: u64,
    last_sent: Option<u64>,
    backlog: VecDeque<String>,
    backlog_len: usize,
    /// Messages sent (sequence numbers let receivers spot gaps).
    pub seq: u64,
}

impl Broadcast {
    pub fn new(cfg: BroadcastConfig, now: u64) -> Self {
        let tokens = cfg.max_message as f64 * 2.0;
        Broadcast {
            cfg,
            pending: String::new(),
            dropped: 0,
            tokens,
            last_refill: now,
            last_sent: None,
            backlog: VecDeque::new(),
            backlog_len: 0,
            seq: 0,
        }
    }

    /// Adds terminal output (the station's own terminal shows all of it regardless). At most one
    /// message's worth waits; under a flood the oldest is left out (counted), so the room always
    /// ends up seeing the newest output — the traceback and prompt after a Stop.
    pub fn push(&mut self, text: &str) {
        self.pending.push_str(text);
        self.keep_newest(self.cfg.max_message);
    }

    /// Drops the oldest pending bytes beyond `max`, on a character boundary.
    fn keep_newest(&mut self, max: usize) {
        if self.pending.len() <= max {
            return;
        }
        let mut cut = self.pending.len() - max;
        while !self.pending.is_char_boundary(cut) {
            cut += 1;
        }
        self.pending.drain(..cut);
        self.dropped += cut as u64;
    }

    /// When the next message may go out, if anything waits.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.pending.is_empty() && self.dropped == 0 {
            return None;
        }
        Some(self.last_sent.map_or(0, |t| t + self.cfg.interval_ms))
    }

    /// The next message for the room, if one may go out at `now`.
    pub fn poll_message(&mut self, now: u64) -> Option<String> {
        if self.pending.is_empty() && self.dropped == 0 {
            return None;
        }
        if self
            .last_sent
            .is_some_and(|t| now < t + self.cfg.interval_ms)
        {
            return None;
        }
        self.refill(now);
        const NOTICE_ROOM: usize = 160;
        let budget = self.tokens.max(0.0) as usize;
        if budget <= NOTICE_ROOM {
            // Out of budget: wait (what waits stays bounded by push).
            self.last_sent = Some(now);
            return None;
        }
        self.keep_newest(budget - NOTICE_ROOM);
        let mut msg = String::new();
        if self.dropped > 0 {
            let n = std::mem::take(&mut self.dropped);
            msg.push_str(&format!("\r\n\x1b[33m[… {n} bytes of output not shown to the room (too fast); the station shows all …]\x1b[0m\r\n"));
        }
        msg.push_str(&std::mem::take(&mut self.pending));
        self.tokens -= msg.len() as f64;
        self.last_sent = Some(now);
        self.seq += 1;
        self.remember(&msg);
        Some(msg)
    }

    /// The recent output for someone who joins late (at most `backlog` bytes).
    pub fn backlog(&self) -> String {
        self.backlog.iter().map(String::as_str).collect()
    }

    fn remember(&mut self, msg: &str) {
        self.backlog_len += msg.len();
        self.backlog.push_back(msg.to_owned());
        while self.backlog_len > self.cfg.backlog {
            let Some(front) = self.backlog.front_mut() else {
                break;
            };
            let excess = self.backlog_len - self.cfg.backlog;
            if front.len() <= excess {
                self.backlog_len -= front.len();
                self.backlog.pop_front();
            } else {
                let mut cut = excess;
                while !front.is_char_boundary(cut) {
                    cut += 1;
                }
                front.drain(..cut);
                self.backlog_len -= cut;
            }
        }
    }

    fn refill(&mut self, now: u64) {
        let dt = now.saturating_sub(self.last_refill) as f64 / 1000.0;
        self.last_refill = now;
        let cap = self.cfg.max_message as f64 * 2.0;
        self.tokens = (self.tokens + dt * self.cfg.budget_per_sec as f64).min(cap);
    }
}

/// Who may change which board files, and where students work (stationConfig `protect` and
/// `student_dir`). The station and teachers may change anything. Students may not change a
/// protected path, anything inside a protected folder, or a folder holding one; with a student
/// folder set, they change only what is inside their own folder. Anyone may read, except the
/// file holding the board's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePolicy {
    pub protect: Vec<String>,
    /// The folder under which each student gets one named after them.
    pub student_dir: Option<String>,
}

/// Protected unless the station config says otherwise.
pub const DEFAULT_PROTECT: [&str; 3] = ["/boot.py", "/webrepl_cfg.py", "/main.py"];
/// The file that holds the board's WebREPL password.
pub const PASSWORD_FILE: &str = "/webrepl_cfg.py";

impl Default for FilePolicy {
    fn default() -> Self {
        FilePolicy {
            protect: DEFAULT_PROTECT.iter().map(|p| (*p).to_owned()).collect(),
            student_dir: None,
        }
    }
}

fn inside(path: &str, dir: &str) -> bool {
    dir == "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl FilePolicy {
    /// The folder of `user` when students get folders of their own.
    pub fn student_folder(&self, user: &str) -> Option<String> {
        let dir = self.student_dir.as_deref()?;
        let mut name: String = user
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        if name.trim_matches(|c| c == '.' || c == '_').is_empty() {
            name = "student".into();
        }
        Some(crate::files::join(dir, &name))
    }

    /// `Ok` when `role` (user `user`) may change every path in `paths` (normalized); else why not.
    /// `making` is true for a folder being made (a student may make their own folder).
    pub fn may_change(
        &self,
        role: Option<Role>,
        user: &str,
        paths: &[&str],
        making: bool,
    ) -> Result<(), String> {
        match role {
            Some(Role::Station | Role::Teacher) => return Ok(()),
            None => {
                return Err("your role in this class is unknown, so files cannot be changed".into())
            }
            Some(Role::Student) => {}
        }
        for p in paths {
            if let Some(q) = self
                .protect
                .iter()
                .find(|q| *p == q.as_str() || inside(q, p) || inside(p, q))
            {
                return Err(if q == p {
                    format!("{p} is protected: only the station or a teacher may change it")
                } else {
                    format!("{p} touches the protected {q}: only the station or a teacher may change it")
                });
            }
            if let Some(own) = self.student_folder(user) {
                let ok = inside(p, &own) || (making && *p == own);
                if !ok {
                    return Err(format!(
                        "students change files only inside their own folder {own}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// `Ok` when `role` may read `path`.
    pub fn may_read(&self, role: Option<Role>, path: &str) -> Result<(), String> {
        match role {
            Some(Role::Station | Role::Teacher) => Ok(()),
            _ if path == PASSWORD_FILE => {
                Err(format!("{PASSWORD_FILE} holds the board's password: only the station or a teacher may read it"))
            }
            Some(Role::Student) => Ok(()),
            None => Err("your role in this class is unknown, so files cannot be read".into()),
        }
    }
}

#[cfg(test)]
mod tests;
