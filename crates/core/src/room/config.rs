//! The station's settings from Edrys (`stationConfig`): `websocket`, `serial`, `execute`,
//! `input`, `protect`, `student_dir` and `project_dir`; and what an `execute` message carries.
//!
//! Edrys hands configs over already parsed (an object), as `""` when left empty, or as the raw
//! text when the teacher's YAML did not parse; any field may have the wrong type. Everything is
//! accepted: what cannot be used becomes a warning a person can act on, never a crash.

use crate::project::Project;
use crate::station::{FilePolicy, InputPolicy};
use crate::{parse_board_url, BoardUrl};
use serde_yaml::Value;

/// The station settings the module uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationConfig {
    /// The board (or proxy) URL; `None` when missing or unusable (see `warnings`).
    pub websocket: Option<BoardUrl>,
    /// The board is on a USB cable at the station (`serial: true` or `websocket: serial`): the
    /// station reaches it over Web Serial, not a WebSocket.
    pub serial: bool,
    /// The message subject that carries code to run.
    pub execute: String,
    pub input: InputPolicy,
    /// Protected paths and student folders.
    pub files: FilePolicy,
    /// Where the other files of a multi-file project are written (students: their own folder).
    pub project_dir: String,
    /// What was wrong with the config, for the person at the station.
    pub warnings: Vec<String>,
}

/// An `execute` message's body as it came from JavaScript, classified without JS types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A string body.
    Text(String),
    /// An object body, as JSON text.
    Json(String),
    /// Anything else (number, bytes, …), described.
    Other(String),
}

pub const DEFAULT_EXECUTE: &str = "execute";

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            websocket: None,
            serial: false,
            execute: DEFAULT_EXECUTE.into(),
            input: InputPolicy::Everyone,
            files: FilePolicy::default(),
            project_dir: "/".into(),
            warnings: vec![],
        }
    }
}

/// Parses the config from its JSON or YAML text (`""`, `null` and `{}` give the defaults).
pub fn parse_station_config(text: &str) -> StationConfig {
    let mut cfg = StationConfig::default();
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" || trimmed == "\"\"" {
        cfg.warnings.push(missing_websocket());
        return cfg;
    }
    let value: Value = match serde_yaml::from_str(trimmed) {
        Ok(v) => v,
        Err(e) => {
            cfg.warnings.push(format!(
                "the station config is not valid YAML or JSON ({e}); using defaults"
            ));
            cfg.warnings.push(missing_websocket());
            return cfg;
        }
    };
    let map = match value {
        Value::Mapping(m) => m,
        // A config that arrived as a JSON string holding the YAML text: parse what it holds.
        Value::String(inner) if inner.trim() != trimmed => return parse_station_config(&inner),
        Value::Null => {
            cfg.warnings.push(missing_websocket());
            return cfg;
        }
        other => {
            cfg.warnings.push(format!(
                "the station config should be a set of fields (websocket, execute, input), not {}",
                kind(&other)
            ));
            cfg.warnings.push(missing_websocket());
            return cfg;
        }
    };
    let get = |k: &str| map.get(Value::String(k.into()));
    match get("websocket") {
        None | Some(Value::Null) => cfg.warnings.push(missing_websocket()),
        Some(Value::String(s)) if s.trim().is_empty() => cfg.warnings.push(missing_websocket()),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("serial") => cfg.serial = true,
        Some(Value::String(s)) => match parse_board_url(s) {
            Ok(u) => cfg.websocket = Some(u),
            Err(e) => cfg.warnings.push(format!("websocket: {e}")),
        },
        Some(other) => cfg.warnings.push(format!(
            "websocket should be a text like ws://localhost:8765/ws://192.168.4.1:8266, not {}",
            kind(other)
        )),
    }
    match get("serial") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => cfg.serial = true,
        Some(Value::String(s)) if matches!(s.trim(), "true" | "yes" | "on") => cfg.serial = true,
        Some(Value::String(s)) if matches!(s.trim(), "" | "false" | "no" | "off") => {}
        Some(other) => cfg.warnings.push(format!(
            "serial should be true (the board is on the station's USB cable) or false, not {}",
            kind(other)
        )),
    }
    if cfg.serial {
        // The board is on USB: no address needed (one given is not used).
        let missing = missing_websocket();
        cfg.warnings.retain(|w| *w != missing);
        cfg.websocket = None;
    }
    match get("execute") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => cfg.execute = s.trim().to_owned(),
        Some(other) => cfg.warnings.push(format!(
            "execute should be a message subject (text), not {}; using \"execute\"",
            kind(other)
        )),
    }
    match get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match InputPolicy::parse(s) {
            Ok(p) => cfg.input = p,
            Err(e) => cfg.warnings.push(e),
        },
        Some(other) => cfg.warnings.push(format!(
            "input should be everyone, teacher or none, not {}; using everyone",
            kind(other)
        )),
    }
    match get("protect") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            cfg.files.protect = paths(s.split([',', ' ']).map(str::to_owned), &mut cfg.warnings)
        }
        Some(Value::Sequence(items)) => {
            let texts = items.iter().filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                _ => None,
            });
            cfg.files.protect = paths(texts, &mut cfg.warnings);
        }
        Some(other) => cfg.warnings.push(format!(
            "protect should be a list of board paths, not {}; protecting boot.py, webrepl_cfg.py and main.py",
            kind(other)
        )),
    }
    match get("student_dir") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => match crate::files::normalize(s.trim()) {
            Ok(p) if p != "/" => cfg.files.student_dir = Some(p),
            Ok(_) => cfg
                .warnings
                .push("student_dir cannot be the root folder; students get no folders".into()),
            Err(e) => cfg.warnings.push(format!("student_dir: {e}")),
        },
        Some(other) => cfg.warnings.push(format!(
            "student_dir should be a board folder like /students, not {}",
            kind(other)
        )),
    }
    match get("project_dir") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => match crate::files::normalize(s.trim()) {
            Ok(p) => cfg.project_dir = p,
            Err(e) => cfg.warnings.push(format!("project_dir: {e}; using /")),
        },
        Some(other) => cfg.warnings.push(format!(
            "project_dir should be a board folder like /project, not {}; using /",
            kind(other)
        )),
    }
    cfg
}

/// Normalized protected paths; unusable ones become warnings.
fn paths(items: impl Iterator<Item = String>, warnings: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match crate::files::normalize(item) {
            Ok(p) => out.push(p),
            Err(e) => warnings.push(format!("protect: {e}")),
        }
    }
    out
}

fn missing_websocket() -> String {
    "no board address: set websocket in the station config, e.g. ws://localhost:8765/ws://192.168.4.1:8266 (through the webrepl proxy), or serial: true for a board on the station computer's USB cable".into()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a set of fields",
        Value::Tagged(_) => "a tagged value",
    }
}

/// What an `execute` message carries: the source text (module-editor with one file,
/// module-monaco-editor), module-editor's multi-file body `{"file": {name: source, …}}` (sent
/// as a JSON string), or `{name: source, …}`. Text that merely starts with `{` but is not such
/// an object is code.
pub fn project_from_body(body: &Body) -> Result<Project, String> {
    match body {
        Body::Text(t) => {
            let trimmed = t.trim_start();
            if trimmed.starts_with('{') {
                if let Ok(Value::Mapping(m)) = serde_yaml::from_str::<Value>(trimmed) {
                    if let Some(files) = project_files(&m) {
                        return project(files);
                    }
                }
            }
            Ok(Project::single(t))
        }
        Body::Json(text) => match serde_yaml::from_str::<Value>(text) {
            Ok(Value::Mapping(m)) => match project_files(&m) {
                Some(files) => project(files),
                None => Err(NO_CODE.into()),
            },
            Ok(Value::String(s)) => Ok(Project::single(&s)),
            _ => Err(NO_CODE.into()),
        },
        Body::Other(what) => Err(format!(
            "the execute message carries {what}, not code (text)"
        )),
    }
}

const NO_CODE: &str = "the execute message carries no code (expected text, {\"file\": {\"main.py\": \"code\"}} or {\"main.py\": \"code\"})";

fn project(files: Vec<(String, String)>) -> Result<Project, String> {
    Project::new(files).map_err(|e| e.to_string())
}

/// name → source from `{"file": {…}}` or `{…}`; `None` when the object is not made of files.
fn project_files(m: &serde_yaml::Mapping) -> Option<Vec<(String, String)>> {
    let inner = match m.get(Value::String("file".into())) {
        Some(Value::Mapping(files)) if m.len() == 1 => files,
        _ => m,
    };
    let files: Vec<(String, String)> = inner
        .iter()
        .map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect::<Option<_>>()?;
    (!files.is_empty()).then_some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usb_board_needs_no_address() {
        for text in [
            "serial: true",
            "{\"serial\": true}",
            "websocket: serial",
            "websocket: SERIAL\nserial: yes",
            "websocket: ws://10.0.0.2:8266\nserial: true",
        ] {
            let c = parse_station_config(text);
            assert!(c.serial, "{text}");
            assert_eq!(c.websocket, None, "{text}");
            assert!(c.warnings.is_empty(), "{text}: {:?}", c.warnings);
        }
        let c = parse_station_config("websocket: ws://10.0.0.2:8266\nserial: false");
        assert!(!c.serial && c.websocket.is_some() && c.warnings.is_empty());
        let c = parse_station_config("websocket: ws://10.0.0.2:8266\nserial: 3");
        assert!(!c.serial);
        assert!(
            c.warnings[0].contains("serial should be true"),
            "{:?}",
            c.warnings
        );
        let c = parse_station_config("execute: run");
        assert!(c.warnings[0].contains("serial: true"), "{:?}", c.warnings);
    }

    #[test]
    fn protected_paths_and_student_folders() {
        let c = parse_station_config("websocket: ws://localhost:8765/ws://10.0.0.2:8266");
        assert_eq!(
            c.files.protect,
            vec!["/boot.py", "/webrepl_cfg.py", "/main.py"]
        );
        assert_eq!(c.files.student_dir, None);
        let c = parse_station_config(
            "websocket: ws://10.0.0.2:8266\nprotect: [main.py, /lib]\nstudent_dir: students/",
        );
        assert_eq!(c.files.protect, vec!["/main.py", "/lib"]);
        assert_eq!(c.files.student_dir.as_deref(), Some("/students"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c =
            parse_station_config("websocket: ws://10.0.0.2:8266\nprotect: \"boot.py, main.py\"");
        assert_eq!(c.files.protect, vec!["/boot.py", "/main.py"]);
        let c =
            parse_station_config("websocket: ws://10.0.0.2:8266\nprotect: 3\nstudent_dir: /a/../b");
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert_eq!(c.files, FilePolicy::default());
        let c = parse_station_config("websocket: ws://10.0.0.2:8266\nprotect: []");
        assert!(c.files.protect.is_empty(), "an empty list protects nothing");
    }

    #[test]
    fn full_config() {
        let c = parse_station_config(
            r#"{"websocket": "ws://localhost:8765/ws://192.168.2.197:8266", "execute": "run", "input": "teacher"}"#,
        );
        assert_eq!(
            c.websocket.unwrap().url,
            "ws://localhost:8765/ws://192.168.2.197:8266"
        );
        assert_eq!(c.execute, "run");
        assert_eq!(c.input, InputPolicy::Teacher);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn yaml_text_and_defaults() {
        let c = parse_station_config("websocket: ws://localhost:8765/ws://10.0.0.5:8266\n");
        assert!(c.websocket.is_some());
        assert_eq!(c.execute, "execute");
        assert_eq!(c.input, InputPolicy::Everyone);
    }

    #[test]
    fn odd_configs_warn_and_never_fail() {
        for (text, needle) in [
            ("", "no board address"),
            ("\"\"", "no board address"),
            ("null", "no board address"),
            ("{}", "no board address"),
            ("[1,2]", "set of fields"),
            ("{websocket: 42}", "should be a text"),
            ("{websocket: 'ws://bad host'}", "spaces"),
            ("{websocket: 'ws://h:1', execute: 5}", "execute should be"),
            (
                "{websocket: 'ws://h:1', input: 'admins'}",
                "everyone, teacher or none",
            ),
            ("{websocket: 'ws://h:1', input: [1]}", "input should be"),
            (": : :\n - [", "not valid YAML"),
        ] {
            let c = parse_station_config(text);
            assert!(
                c.warnings.iter().any(|w| w.contains(needle)),
                "{text:?}: {:?}",
                c.warnings
            );
        }
    }

    #[test]
    fn execute_bodies() {
        let entry = |b: &Body| project_from_body(b).map(|p| p.entry().source.clone());
        let names = |b: &Body| {
            project_from_body(b).map(|p| p.others().map(|f| f.name.clone()).collect::<Vec<_>>())
        };
        assert_eq!(entry(&Body::Text("print(1)".into())), Ok("print(1)".into()));
        // module-editor, several files: the string JSON.stringify({file}).
        let multi =
            serde_json::json!({"file": {"main.py": "import lib\nprint(lib.X)", "lib.py": "X = 5"}});
        let body = Body::Text(multi.to_string());
        assert_eq!(entry(&body), Ok("import lib\nprint(lib.X)".into()));
        assert_eq!(names(&body), Ok(vec!["lib.py".to_owned()]));
        // The same as an object, and the older top-level form.
        assert_eq!(
            names(&Body::Json(multi.to_string())),
            Ok(vec!["lib.py".to_owned()])
        );
        assert_eq!(
            entry(&Body::Text(
                r#"{"main.py": "print(2)", "x.py": "y=1"}"#.into()
            )),
            Ok("print(2)".into())
        );
        assert_eq!(
            entry(&Body::Json(r#"{"a.py": "a=1", "b.py": "print(a)"}"#.into())),
            Ok("a=1".into())
        );
        // Python that starts with a brace is code, not a project.
        assert_eq!(
            entry(&Body::Text("{'a': 1}.get('a')".into())),
            Ok("{'a': 1}.get('a')".into())
        );
        assert!(project_from_body(&Body::Other("a number".into()))
            .unwrap_err()
            .contains("not code"));
        assert!(project_from_body(&Body::Json("{}".into())).is_err());
        assert!(project_from_body(&Body::Text(
            r#"{"file": {"../boot.py": "x", "main.py": ""}}"#.into()
        ))
        .unwrap_err()
        .contains("../boot.py"));
    }

    #[test]
    fn project_folder() {
        let c = parse_station_config("websocket: ws://h:1\nproject_dir: /proj/");
        assert_eq!(c.project_dir, "/proj");
        let c = parse_station_config("websocket: ws://h:1\nproject_dir: 5");
        assert_eq!(c.project_dir, "/");
        assert!(c.warnings.iter().any(|w| w.contains("project_dir")));
    }
}
