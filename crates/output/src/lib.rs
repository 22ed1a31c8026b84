//! Scan output for smtpsweep: the [`ScanRecord`] produced for each validated response, a
//! buffered [`RecordWriter`] for JSON Lines and ZMap-compatible CSV, `-f` field lists
//! ([`Field`]), ZMap-style `--output-filter` expressions ([`Filter`]), RFC 3339 timestamps
//! and the `-m` [`ScanMetadata`] file.
//!
//! Sans-I/O: everything writes to a caller-supplied [`std::io::Write`] or works on strings.
//! Field names and their ZMap equivalents are tabled in [`field`] and in `docs/schema.md`.

pub mod field;
pub mod filter;
mod metadata;
mod record;
mod time;
mod writer;

pub use field::{Field, FieldKind, FieldListError, FieldValue};
pub use filter::{CmpOp, DEFAULT_FILTER, Filter, FilterError, FilterErrorKind};
pub use metadata::{BlocklistedCounts, GrabSummary, ScanMetadata};
pub use record::{Classification, ClassificationError, ScanRecord};
pub use time::{TimestampError, format_system_time, format_timestamp, parse_timestamp};
pub use writer::{Format, FormatError, OutputError, RecordWriter};
