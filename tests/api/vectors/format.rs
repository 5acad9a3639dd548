//! Reading vector files so that nothing in them can be silently ignored.
//!
//! Two readers, one rule (STYLE.md 14, after ring's `test::File`): every field a vector
//! file holds must be read by the test that runs it, or the test fails. A field nobody
//! reads is a claim nobody checks.
//!
//! * [`VectorFile`] reads the line format of `tests/vectors/*.txt` (README.md there).
//!   Each [`Record`] remembers which fields were read and panics on drop if one was not.
//! * [`Tracked`] walks a JSON document (Wycheproof's), remembering which members were
//!   read; [`unread_members`] lists the rest.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// `tests/vectors/<name>`.
pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

/// A vector file: its `#` provenance header and its records, in file order.
pub(crate) struct VectorFile {
    name: String,
    records: Vec<Record>,
}

impl VectorFile {
    /// Parse `tests/vectors/<name>`. The file must open with `#` lines, the first naming
    /// its source (an RFC or Wycheproof): a vector without provenance is not a vector.
    pub(crate) fn load(name: &str) -> Self {
        let text = std::fs::read_to_string(path(name))
            .unwrap_or_else(|e| panic!("{name}: cannot read: {e}"));
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("# RFC ") || first.starts_with("# Wycheproof"),
            "{name}: the first line must be a `#` line naming the source, found {first:?}"
        );
        let mut records: Vec<Record> = Vec::new();
        let mut current: Option<Record> = None;
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            if line.trim().is_empty() {
                records.extend(current.take());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (field, raw) = line
                .split_once(" = ")
                .unwrap_or_else(|| panic!("{name}:{line_no}: expected `name = value`"));
            let value = decode_value(raw)
                .unwrap_or_else(|e| panic!("{name}:{line_no}: bad value for {field}: {e}"));
            if field == "vector" {
                assert!(
                    current.is_none(),
                    "{name}:{line_no}: records are separated by a blank line"
                );
                current = Some(Record {
                    file: name.to_owned(),
                    id: value,
                    line: line_no,
                    fields: Vec::new(),
                });
                continue;
            }
            let record = current
                .as_mut()
                .unwrap_or_else(|| panic!("{name}:{line_no}: a record starts with `vector = `"));
            assert!(
                record.fields.iter().all(|f| f.name != field),
                "{name}:{line_no}: {field} appears twice in vector {}",
                record.id
            );
            record.fields.push(Field {
                name: field.to_owned(),
                value,
                used: Cell::new(false),
            });
        }
        records.extend(current);
        let mut ids = BTreeSet::new();
        for record in &records {
            assert!(
                ids.insert(record.id.clone()),
                "{name}: vector {} appears twice",
                record.id
            );
        }
        Self {
            name: name.to_owned(),
            records,
        }
    }

    /// The vector ids, in file order.
    pub(crate) fn ids(&self) -> Vec<&str> {
        self.records.iter().map(|r| r.id.as_str()).collect()
    }

    /// Take the record `id` out of the file; every field of it must then be read.
    pub(crate) fn take(&mut self, id: &str) -> Record {
        let index = self
            .records
            .iter()
            .position(|r| r.id == id)
            .unwrap_or_else(|| panic!("{}: no vector {id}", self.name));
        self.records.remove(index)
    }

    /// Take every record, in file order.
    pub(crate) fn take_all(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }
}

impl Drop for VectorFile {
    fn drop(&mut self) {
        // Records still in the file were not this test's to run: disarm them. That every
        // record is run by some test is what each file's coverage test checks (`ids()`).
        for field in self.records.iter().flat_map(|r| &r.fields) {
            field.used.set(true);
        }
    }
}

/// `"..."` is a JSON string (escapes allowed); anything else is the raw text.
fn decode_value(raw: &str) -> Result<String, serde_json::Error> {
    if raw.starts_with('"') {
        serde_json::from_str(raw)
    } else {
        Ok(raw.to_owned())
    }
}

struct Field {
    name: String,
    value: String,
    used: Cell<bool>,
}

/// One vector: named fields, each of which must be read before the record is dropped.
pub(crate) struct Record {
    file: String,
    id: String,
    line: usize,
    fields: Vec<Field>,
}

impl Record {
    /// The vector's id (its `vector = ` line).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// `file:line (vector id)`, for assertion messages.
    pub(crate) fn at(&self) -> String {
        format!("{}:{} (vector {})", self.file, self.line, self.id)
    }

    /// Count every field as read: for a test that cannot run (its data is absent) and
    /// says so, rather than failing on fields it never had the chance to use.
    pub(crate) fn disarm(self) {
        for field in &self.fields {
            field.used.set(true);
        }
    }

    /// The field `name`, which must exist.
    pub(crate) fn str(&self, name: &str) -> &str {
        self.opt_str(name)
            .unwrap_or_else(|| panic!("{}: missing field {name}", self.at()))
    }

    /// The field `name`, if present (reading it counts as using it).
    pub(crate) fn opt_str(&self, name: &str) -> Option<&str> {
        let field = self.fields.iter().find(|f| f.name == name)?;
        field.used.set(true);
        Some(&field.value)
    }

    /// The field `name` as an unsigned integer, if present.
    pub(crate) fn opt_u64(&self, name: &str) -> Option<u64> {
        self.opt_str(name).map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("{}: {name} = {v:?}: {e}", self.at()))
        })
    }

    /// The field `name` as a JSON object, if present.
    pub(crate) fn opt_object(&self, name: &str) -> Option<Map<String, Value>> {
        self.opt_str(name).map(|v| match serde_json::from_str(v) {
            Ok(Value::Object(map)) => map,
            _ => panic!("{}: {name} is not a JSON object", self.at()),
        })
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let unread: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| !f.used.get())
            .map(|f| f.name.as_str())
            .collect();
        assert!(
            unread.is_empty(),
            "{}: fields never read by the harness: {unread:?}",
            self.at()
        );
    }
}

/// A JSON value and its path, recording every member that is read.
#[derive(Clone)]
pub(crate) struct Tracked<'a> {
    value: &'a Value,
    path: String,
    read: &'a RefCell<BTreeSet<String>>,
}

impl<'a> Tracked<'a> {
    /// The document root; members read through it are recorded in `read`.
    pub(crate) fn root(value: &'a Value, read: &'a RefCell<BTreeSet<String>>) -> Self {
        Self {
            value,
            path: String::new(),
            read,
        }
    }

    fn child(&self, path: String, value: &'a Value) -> Tracked<'a> {
        Tracked {
            value,
            path,
            read: self.read,
        }
    }

    /// The member `key`, if present; reading it records it.
    pub(crate) fn opt(&self, key: &str) -> Option<Tracked<'a>> {
        let value = self.value.as_object()?.get(key)?;
        let path = format!("{}/{key}", self.path);
        self.read.borrow_mut().insert(path.clone());
        Some(self.child(path, value))
    }

    /// The member `key`, which must exist.
    pub(crate) fn get(&self, key: &str) -> Tracked<'a> {
        self.opt(key)
            .unwrap_or_else(|| panic!("{}: no member {key:?}", self.path))
    }

    /// This value as a string.
    pub(crate) fn str(&self) -> &'a str {
        self.value
            .as_str()
            .unwrap_or_else(|| panic!("{}: not a string", self.path))
    }

    /// This value as an unsigned integer.
    pub(crate) fn u64(&self) -> u64 {
        self.value
            .as_u64()
            .unwrap_or_else(|| panic!("{}: not an unsigned integer", self.path))
    }

    /// This value's elements.
    pub(crate) fn items(&self) -> Vec<Tracked<'a>> {
        self.value
            .as_array()
            .unwrap_or_else(|| panic!("{}: not an array", self.path))
            .iter()
            .enumerate()
            .map(|(i, v)| self.child(format!("{}/{i}", self.path), v))
            .collect()
    }

    /// This object's member names (reading the names reads no member).
    pub(crate) fn keys(&self) -> Vec<&'a str> {
        self.value
            .as_object()
            .unwrap_or_else(|| panic!("{}: not an object", self.path))
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// The whole value, every member under it counted as read: for a JWK handed to the
    /// library in one piece.
    pub(crate) fn whole(&self) -> &'a Value {
        let mut read = self.read.borrow_mut();
        mark_all(self.value, &self.path, &mut read);
        self.value
    }
}

fn mark_all(value: &Value, path: &str, read: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let child = format!("{path}/{key}");
                mark_all(member, &child, read);
                read.insert(child);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                mark_all(item, &format!("{path}/{i}"), read);
            }
        }
        _ => {}
    }
}

/// Every object member in `value` that was never read, as JSON pointers.
pub(crate) fn unread_members(value: &Value, read: &BTreeSet<String>) -> Vec<String> {
    fn walk(value: &Value, path: &str, read: &BTreeSet<String>, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    let child = format!("{path}/{key}");
                    if !read.contains(&child) {
                        out.push(child.clone());
                    }
                    walk(member, &child, read, out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{i}"), read, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", read, &mut out);
    out
}
