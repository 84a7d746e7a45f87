//! The panel's buttons, pickers and drops: what the user does, handed to the model (with the
//! dialogs that ask for a name or a yes first).

use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, File, HtmlElement, HtmlInputElement};
use webrepl_core::files::base_name;

use super::Panel;
use crate::dom::{by_id, listen};
use crate::js::js_error_text;

#[wasm_bindgen(inline_js = r#"
// Files dropped on the panel, with their paths inside dropped folders: [[path, File], …].
export function dropped_files(dt) {
  const items = dt && dt.items ? Array.from(dt.items) : [];
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (!entries.length || entries.some((e) => !e)) {
    return Promise.resolve(Array.from((dt && dt.files) || []).map((f) => [f.name, f]));
  }
  const out = [];
  const walk = (entry, prefix) => new Promise((resolve, reject) => {
    if (entry.isFile) {
      entry.file((f) => { out.push([prefix + entry.name, f]); resolve(); }, reject);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const next = () => reader.readEntries((batch) => {
        if (batch.length) { all.push(...batch); next(); return; }
        Promise.all(all.map((e) => walk(e, prefix + entry.name + '/'))).then(() => resolve(), reject);
      }, reject);
      next();
    } else resolve();
  });
  return Promise.all(entries.map((e) => walk(e, ''))).then(() => out);
}
// A picked file's path inside a picked folder (webkitdirectory), else its name.
export function relative_path(f) { return f.webkitRelativePath || f.name; }
"#)]
extern "C" {
    fn dropped_files(dt: &JsValue) -> js_sys::Promise;
    fn relative_path(f: &File) -> String;
}

/// A button's action on the panel.
type PanelAction = dyn Fn(&Rc<Panel>);

impl Panel {
    pub(super) fn wire(self: &Rc<Self>) -> Result<(), String> {
        let click = |id: &str, f: Box<PanelAction>| -> Result<(), String> {
            let el: HtmlElement = by_id(&self.doc, id)?;
            let p = self.clone();
            listen(&el, "click", move |_: web_sys::Event| f(&p));
            Ok(())
        };
        click("fs-refresh", Box::new(|p| p.refresh()))?;
        click("fs-mkdir", Box::new(|p| p.new_folder()))?;
        click("fs-stop", Box::new(|p| p.backend().stop()))?;
        click("fs-cancel", Box::new(|p| p.cancel()))?;
        click("fs-view-close", Box::new(|p| p.els.viewer.set_hidden(true)))?;
        for (button, input) in [("fs-upload", "fs-files"), ("fs-upload-dir", "fs-dir")] {
            let picker: HtmlInputElement = by_id(&self.doc, input)?;
            let pk = picker.clone();
            let btn: HtmlElement = by_id(&self.doc, button)?;
            listen(&btn, "click", move |_: web_sys::Event| pk.click());
            let p = self.clone();
            let pk = picker.clone();
            listen(&picker, "change", move |_: web_sys::Event| {
                let Some(list) = pk.files() else { return };
                let files = (0..list.length())
                    .filter_map(|i| list.get(i))
                    .map(|f| (relative_path(&f), f))
                    .collect();
                let dir = p.model.borrow().dir().to_owned();
                p.upload_files(&dir, files);
                pk.set_value("");
            });
        }
        self.wire_drop();
        Ok(())
    }

    /// Drops onto the panel (or onto a folder in it) upload there, folders included.
    fn wire_drop(self: &Rc<Self>) {
        let root: &web_sys::EventTarget = self.els.root.as_ref();
        let r = self.els.root.clone();
        listen(root, "dragover", move |e: web_sys::DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            let _ = r.class_list().add_1("drop");
        });
        let r = self.els.root.clone();
        listen(root, "dragleave", move |_: web_sys::DragEvent| {
            let _ = r.class_list().remove_1("drop");
        });
        let p = self.clone();
        listen(root, "drop", move |e: web_sys::DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            let _ = p.els.root.class_list().remove_1("drop");
            let target = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|el| el.closest("li[data-kind=dir]").ok().flatten())
                .and_then(|li| li.get_attribute("data-path"));
            let dir = target.unwrap_or_else(|| p.model.borrow().dir().to_owned());
            if let Some(dt) = e.data_transfer() {
                p.upload_dropped(dt.into(), dir);
            }
        });
    }

    /// Uploads what was dropped (a `DataTransfer`) into `dir`.
    pub fn upload_dropped(self: &Rc<Self>, dt: JsValue, dir: String) {
        let p = self.clone();
        let on_files = Closure::<dyn FnMut(JsValue)>::once(move |arr: JsValue| {
            let files = js_sys::Array::from(&arr)
                .iter()
                .filter_map(|pair| {
                    let pair = js_sys::Array::from(&pair);
                    let path = pair.get(0).as_string()?;
                    let file = pair.get(1).dyn_into::<File>().ok()?;
                    Some((path, file))
                })
                .collect();
            p.upload_files(&dir, files);
        });
        let p = self.clone();
        let on_error = Closure::<dyn FnMut(JsValue)>::once(move |err: JsValue| {
            (p.say)(&format!(
                "Could not read the dropped files: {}",
                js_error_text(&err)
            ));
        });
        let _ = dropped_files(&dt).then2(&on_files, &on_error);
        // Each runs at most once; they live until the promise settles.
        on_files.forget();
        on_error.forget();
    }

    fn new_folder(self: &Rc<Self>) {
        if let Some(name) = ask("Name of the new folder:", "") {
            self.with(|m, b| m.new_folder(b, &name));
        }
    }

    pub(super) fn run_file(&self, path: &str) {
        if let Err(e) = self.backend().run_file(path) {
            (self.say)(&format!("Running {path} failed: {e}"));
        }
    }

    pub(super) fn rename(self: &Rc<Self>, path: &str) {
        if let Some(name) = ask(&format!("New name for {path}:"), base_name(path)) {
            self.with(|m, b| m.rename(b, path, &name));
        }
    }

    pub(super) fn delete(self: &Rc<Self>, path: &str, dir: bool) {
        let question = if dir {
            format!("Delete the folder {path} and everything in it?")
        } else {
            format!("Delete {path}?")
        };
        let yes = web_sys::window()
            .and_then(|w| w.confirm_with_message(&question).ok())
            .unwrap_or(false);
        if yes {
            self.with(|m, b| m.delete(b, path));
        }
    }
}

fn ask(question: &str, default: &str) -> Option<String> {
    web_sys::window()
        .and_then(|w| w.prompt_with_message_and_default(question, default).ok())
        .flatten()
        .filter(|s| !s.trim().is_empty())
}
