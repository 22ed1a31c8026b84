//! The only file-system code in this crate: loading a directory of Recog XML
//! files (e.g. a Recog checkout's `xml/` folder).

use crate::engine::{Database, ExampleText, FingerprintSet, Source};
use crate::error::LoadError;
use std::path::{Component, Path};

fn io(path: &Path, e: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl FingerprintSet {
    /// Load every `*.xml` file in `dir` (not recursive, in name order) as user
    /// databases. Examples with `_filename` are read from `dir/<db file
    /// stem>/<name>`, as Recog does. All files load or none: on error the set
    /// is unchanged. Returns the number of databases added.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, LoadError> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "xml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut dbs = Vec::with_capacity(files.len());
        for path in &files {
            let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
            let origin = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            let text = String::from_utf8(bytes).map_err(|e| {
                LoadError::xml(
                    &origin,
                    1,
                    format!("file is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                )
            })?;
            let mut db = Database::from_xml(&text, &origin, Source::User)?;
            let stem = path.with_extension("");
            resolve_example_files(&mut db, &stem)?;
            dbs.push(db);
        }
        let n = dbs.len();
        self.dbs_mut().extend(dbs);
        self.reindex();
        Ok(n)
    }
}

fn resolve_example_files(db: &mut Database, base: &Path) -> Result<(), LoadError> {
    let origin = db.origin.clone();
    for fp in &mut db.fingerprints {
        let (line, label) = (fp.line, fp.label().to_string());
        for ex in &mut fp.examples {
            let ExampleText::File(name) = &ex.text else {
                continue;
            };
            let rel = Path::new(name);
            if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                return Err(LoadError::fp(
                    &origin,
                    line,
                    &label,
                    format!("example file name {name:?} leaves the example directory"),
                ));
            }
            let path = base.join(rel);
            let bytes = std::fs::read(&path).map_err(|e| {
                LoadError::fp(
                    &origin,
                    line,
                    &label,
                    format!("example file {}: {e}", path.display()),
                )
            })?;
            ex.text = ExampleText::Bytes(bytes);
        }
    }
    Ok(())
}
