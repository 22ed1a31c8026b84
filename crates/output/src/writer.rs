//! Buffered JSON Lines / CSV record writer.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

use serde::ser::{SerializeMap, Serializer};

use crate::field::{Field, FieldValue};
use crate::record::ScanRecord;

/// Output format (`-O`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Format {
    /// JSON Lines: one JSON object per line (the default).
    #[default]
    Jsonl,
    /// CSV with a header line of ZMap-compatible field names.
    Csv,
}

impl Format {
    /// Canonical name: `jsonl` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown `-O` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?} (expected json, jsonl or csv)")]
pub struct FormatError(pub String);

impl FromStr for Format {
    type Err = FormatError;
    /// Accepts `json`, `jsonl`, `ndjson` and `csv`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" | "jsonl" | "ndjson" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            _ => Err(FormatError(s.to_owned())),
        }
    }
}

/// Error from [`RecordWriter::new`].
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Writing (the CSV header) failed.
    #[error("cannot write output: {0}")]
    Io(#[from] io::Error),
    /// An explicit field list with no fields.
    #[error("output field list is empty")]
    NoFields,
    /// An explicit field list naming a field twice.
    #[error("output field {0} listed twice")]
    DuplicateField(Field),
}

/// Writes [`ScanRecord`]s as JSON Lines or CSV through an internal buffer.
///
/// - JSONL without a field list: each record exactly as `serde_json` serializes [`ScanRecord`]
///   (the ICMP keys are omitted when absent), so lines parse back with
///   [`ScanRecord::from_json_line`].
/// - JSONL with a field list: objects with exactly those keys (JSON names), in list order;
///   absent ICMP values are written as `null`.
/// - CSV: a header of ZMap names, then one row per record; booleans are `1`/`0`, absent ICMP
///   values are empty; values containing `,`, `"` or line breaks are quoted (RFC 4180).
///
/// Call [`flush`](Self::flush) (or [`into_inner`](Self::into_inner)) before exiting; dropping
/// the writer also flushes, but ignores errors.
pub struct RecordWriter<W: Write> {
    out: BufWriter<W>,
    format: Format,
    /// `None`: the full default record.
    fields: Option<Vec<Field>>,
    written: u64,
}

const BUFFER_SIZE: usize = 64 * 1024;

impl<W: Write> RecordWriter<W> {
    /// Creates a writer; for CSV the header line is written (into the buffer) immediately.
    pub fn new(out: W, format: Format, fields: Option<Vec<Field>>) -> Result<Self, OutputError> {
        if let Some(list) = &fields {
            if list.is_empty() {
                return Err(OutputError::NoFields);
            }
            for (i, f) in list.iter().enumerate() {
                if list[..i].contains(f) {
                    return Err(OutputError::DuplicateField(*f));
                }
            }
        }
        let mut out = BufWriter::with_capacity(BUFFER_SIZE, out);
        if format == Format::Csv {
            let header: Vec<&str> = fields
                .as_deref()
                .unwrap_or(&Field::ALL)
                .iter()
                .map(|f| f.zmap_name())
                .collect();
            out.write_all(header.join(",").as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(RecordWriter {
            out,
            format,
            fields,
            written: 0,
        })
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The fields written, in order (all fields when no list was given).
    pub fn columns(&self) -> &[Field] {
        self.fields.as_deref().unwrap_or(&Field::ALL)
    }

    /// Number of records written so far.
    pub fn records_written(&self) -> u64 {
        self.written
    }

    /// Writes one record as one line.
    pub fn write(&mut self, r: &ScanRecord) -> io::Result<()> {
        match (self.format, &self.fields) {
            (Format::Jsonl, None) => serde_json::to_writer(&mut self.out, r)?,
            (Format::Jsonl, Some(fields)) => {
                let mut ser = serde_json::Serializer::new(&mut self.out);
                let mut map = ser.serialize_map(Some(fields.len()))?;
                for f in fields {
                    map.serialize_entry(f.json_name(), &f.value(r))?;
                }
                map.end()?;
            }
            (Format::Csv, _) => {
                let fields = self.fields.as_deref().unwrap_or(&Field::ALL);
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b",")?;
                    }
                    write_csv_value(&mut self.out, f.value(r))?;
                }
            }
        }
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Flushes buffered lines to the underlying writer (and flushes it).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

fn write_csv_value(out: &mut impl Write, v: FieldValue<'_>) -> io::Result<()> {
    match v {
        FieldValue::Number(n) => write!(out, "{n}"),
        FieldValue::Bool(b) => out.write_all(if b { b"1" } else { b"0" }),
        FieldValue::Address(a) => write!(out, "{a}"),
        FieldValue::Absent => Ok(()),
        FieldValue::Text(t) => {
            if t.contains([',', '"', '\r', '\n']) {
                out.write_all(b"\"")?;
                out.write_all(t.replace('"', "\"\"").as_bytes())?;
                out.write_all(b"\"")
            } else {
                out.write_all(t.as_bytes())
            }
        }
    }
}
