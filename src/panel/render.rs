//! Draws what the panel's model says to show: the listing with its row buttons, the path bar,
//! the rows of uploads and downloads (state, progress, how long they took), the batch's
//! progress, the viewer, saved files.

use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlProgressElement};
use webrepl_core::files::join;
use webrepl_core::panel::jobs::{human_size, JobId, JobKind, RowState};
use webrepl_core::panel::Show;
use webrepl_core::{Entry, EntryKind};

use super::Panel;
use crate::dom::{download, listen, set_progress, set_row};

/// Download rows kept in the list (the oldest go).
const DOWNLOAD_ROWS: u32 = 20;

/// A row button's action on the row's path.
type PathAction = dyn Fn(&Rc<Panel>, &str);

impl Panel {
    pub(super) fn render(self: &Rc<Self>, show: Show) {
        let els = &self.els;
        match show {
            Show::Say(text) => (self.say)(&text),
            Show::Placeholder(text) => self.placeholder(&text),
            Show::ListBusy(true) => {
                let _ = els.list.set_attribute("aria-busy", "true");
            }
            Show::ListBusy(false) => {
                let _ = els.list.remove_attribute("aria-busy");
            }
            Show::Listing { dir, entries } => self.render_listing(&dir, &entries),
            Show::WaitingForPrompt(on) => els.busy.set_hidden(!on),
            Show::NewRow {
                job,
                kind,
                name,
                size,
            } => self.new_row(job, kind, &name, size),
            Show::Row {
                job,
                state,
                text,
                done,
                total,
            } => self.update_row(job, state, &text, done, total),
            Show::ClearUploads => {
                while let Some(c) = els.uploads.first_child() {
                    let _ = els.uploads.remove_child(&c);
                }
            }
            Show::Overall(o) => {
                els.overall.set_max(o.total.max(1) as f64);
                els.overall.set_value(o.done as f64);
                els.overall.set_hidden(!o.shown);
                els.overall_text.set_text_content(Some(&o.text));
            }
            Show::Note(text) => els.overall_text.set_text_content(text.as_deref()),
            Show::Cancel(on) => els.cancel.set_hidden(!on),
            Show::View { path, data } => self.view(&path, &data),
            Show::Save { name, data } => {
                if let Err(e) = download(&self.doc, &name, &data) {
                    (self.say)(&format!("Download of {name} failed: {e}"));
                }
            }
        }
    }

    fn new_row(&self, job: JobId, kind: JobKind, name: &str, size: Option<u64>) {
        let Ok(row) = self.doc.create_element("li") else {
            return;
        };
        row.set_inner_html(&format!(
            "<span class=\"name\"></span><progress max=\"{}\" value=\"0\"></progress><span class=\"state\"></span>",
            size.unwrap_or(1).max(1)
        ));
        if let Some(n) = row.query_selector(".name").ok().flatten() {
            n.set_text_content(Some(name));
        }
        let list = match kind {
            JobKind::Upload => &self.els.uploads,
            JobKind::Download => {
                while self.els.downloads.child_element_count() >= DOWNLOAD_ROWS {
                    match self.els.downloads.last_element_child() {
                        Some(old) => old.remove(),
                        None => break,
                    }
                }
                &self.els.downloads
            }
        };
        // Uploads in the order picked; the newest download first.
        let _ = match kind {
            JobKind::Upload => list.append_child(&row).map(|_| ()),
            JobKind::Download => list.prepend_with_node_1(&row),
        };
        self.rows.borrow_mut().insert(job, row);
    }

    fn update_row(
        &self,
        job: JobId,
        state: RowState,
        text: &str,
        done: Option<u64>,
        total: Option<u64>,
    ) {
        let row = if state.is_final() {
            self.rows.borrow_mut().remove(&job)
        } else {
            self.rows.borrow().get(&job).cloned()
        };
        let Some(row) = row else { return };
        if state == RowState::Queued {
            // When the transfer was queued: `data-ms` below says how long it took (benchmarks).
            let _ = row.set_attribute("data-t0", &crate::clock::now_ms().to_string());
        }
        if state.is_final() {
            if let Some(t0) = row
                .get_attribute("data-t0")
                .and_then(|t| t.parse::<u64>().ok())
            {
                let ms = crate::clock::now_ms().saturating_sub(t0);
                let _ = row.set_attribute("data-ms", &ms.to_string());
            }
        }
        if let Some(t) = total {
            if let Some(bar) = progress_bar(&row) {
                bar.set_max(t.max(1) as f64);
            }
        }
        set_row(&row, state.as_str(), text);
        if let Some(d) = done {
            set_progress(&row, d as f64);
        }
    }

    fn placeholder(&self, text: &str) {
        self.els.list.set_inner_html("");
        if let Ok(li) = self.doc.create_element("li") {
            li.set_class_name("empty");
            li.set_text_content(Some(text));
            let _ = self.els.list.append_child(&li);
        }
    }

    pub(super) fn render_crumbs(self: &Rc<Self>, dir: &str) {
        let crumbs = &self.els.crumbs;
        crumbs.set_inner_html("");
        let mut path = String::new();
        let segs: Vec<&str> = std::iter::once("")
            .chain(dir.split('/').filter(|s| !s.is_empty()))
            .collect();
        for (i, seg) in segs.iter().enumerate() {
            if i > 0 {
                path.push('/');
                path.push_str(seg);
            }
            let target = if path.is_empty() {
                "/".into()
            } else {
                path.clone()
            };
            let Ok(b) = self.doc.create_element("button") else {
                continue;
            };
            b.set_text_content(Some(if i == 0 { "/" } else { seg }));
            let _ = b.set_attribute("data-path", &target);
            let p = self.clone();
            listen(&b, "click", move |_: web_sys::Event| {
                p.with(|m, b| m.list_dir(b, &target))
            });
            let _ = crumbs.append_child(&b);
        }
    }

    fn render_listing(self: &Rc<Self>, dir: &str, entries: &[Entry]) {
        let list = &self.els.list;
        let _ = list.set_attribute("data-dir", dir);
        self.render_crumbs(dir);
        list.set_inner_html("");
        if entries.is_empty() {
            self.placeholder("This folder is empty. Drop files here to upload them.");
        }
        for e in entries {
            if let Some(li) = self.entry_row(&join(dir, &e.name), e) {
                let _ = list.append_child(&li);
            }
        }
    }

    /// One entry of the listing with its buttons (▶ only for Python files).
    fn entry_row(self: &Rc<Self>, path: &str, e: &Entry) -> Option<Element> {
        let li = self.doc.create_element("li").ok()?;
        let dir = e.kind == EntryKind::Dir;
        let _ = li.set_attribute("data-kind", if dir { "dir" } else { "file" });
        let _ = li.set_attribute("data-path", path);
        let _ = li.set_attribute("data-name", &e.name);
        let run = if !dir && e.name.ends_with(".py") {
            "<button class=\"run\" title=\"Run on the board (output in the terminal)\">▶</button>"
        } else {
            ""
        };
        li.set_inner_html(&format!(
            "<button class=\"open\"></button><span class=\"size\"></span><span class=\"acts\">{run}<button class=\"dl\" title=\"Download\">⤓</button><button class=\"ren\" title=\"Rename\">✎</button><button class=\"del\" title=\"Delete\">✕</button></span>",
        ));
        if let Some(open) = li.query_selector(".open").ok().flatten() {
            open.set_text_content(Some(&if dir {
                format!("{}/", e.name)
            } else {
                e.name.clone()
            }));
        }
        if let Some(size) = li.query_selector(".size").ok().flatten() {
            if !dir {
                size.set_text_content(Some(&human_size(e.size)));
                let _ = size.set_attribute("data-bytes", &e.size.to_string());
            }
        }
        let size = e.size;
        let acts: [(&str, &str, Box<PathAction>); 5] = [
            (
                ".open",
                "Open",
                if dir {
                    Box::new(|p, path| p.with(|m, b| m.list_dir(b, path)))
                } else {
                    Box::new(move |p, path| p.with(|m, b| m.open_file(b, path, size)))
                },
            ),
            (".run", "Run", Box::new(|p, path| p.run_file(path))),
            (
                ".dl",
                "Download",
                if dir {
                    Box::new(|p, path| p.with(|m, b| m.download_folder(b, path)))
                } else {
                    Box::new(|p, path| p.with(|m, b| m.download(b, path)))
                },
            ),
            (".ren", "Rename", Box::new(|p, path| p.rename(path))),
            (
                ".del",
                "Delete",
                Box::new(move |p, path| p.delete(path, dir)),
            ),
        ];
        for (sel, verb, f) in acts {
            if let Some(b) = li.query_selector(sel).ok().flatten() {
                // Screen readers name the symbol buttons by what they do to which entry.
                if sel != ".open" {
                    let _ = b.set_attribute("aria-label", &format!("{verb} {}", e.name));
                }
                let (p, path) = (self.clone(), path.to_owned());
                listen(&b, "click", move |_: web_sys::Event| f(&p, &path));
            }
        }
        Some(li)
    }

    fn view(&self, path: &str, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let viewer = &self.els.viewer;
        if let Some(t) = viewer.query_selector(".title").ok().flatten() {
            t.set_text_content(Some(path));
        }
        if let Some(pre) = viewer.query_selector("pre").ok().flatten() {
            pre.set_text_content(Some(&text));
        }
        viewer.set_hidden(false);
    }
}

fn progress_bar(row: &Element) -> Option<HtmlProgressElement> {
    row.query_selector("progress")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlProgressElement>().ok())
}
