//! A Recog-compatible fingerprint engine, with smtpsweep's own SMTP database.
//!
//! Sans-I/O: everything works on strings and bytes, except
//! [`FingerprintSet::load_dir`] (module `fs`), a thin helper that reads a
//! directory of XML files.
//!
//! # Format
//! Recog's XML: `<fingerprints matches protocol database_type preference>`
//! holding `<fingerprint pattern flags certainty>` elements with a
//! `<description>`, `<example>`s (attributes are the expected results;
//! `_encoding="base64"` and `_filename` are honoured) and
//! `<param pos name value>`s (`pos > 0` = capture group, `pos = 0` = fixed
//! value with `{name}` interpolation). Results follow Recog's
//! `Fingerprint#match`: `service.protocol` from the database unless a param
//! sets it, `fingerprint_db` = the database key, a missing `*.version` inside
//! a `*.cpe23` value becomes `-`, and `_tmp.*` keys are dropped.
//!
//! # Regex dialect
//! Patterns are Ruby (Onigmo) regexes. They are translated (module `ruby`)
//! and compiled as byte regexes with Unicode mode off: Ruby's `^`/`$` are
//! always line anchors; `REG_ICASE`/`IGNORECASE` make the pattern
//! case-insensitive; `REG_DOT_NEWLINE`, `REG_MULTILINE`, `REG_LINE_ANY_CRLF`
//! and Ruby's inline `(?m)` make `.` match newlines. `\h`, `\Z`, `{,n}`,
//! literal `{`, named groups, POSIX classes and `\xHH` bytes are rewritten.
//! Look-around, back-references, atomic groups and possessive quantifiers are
//! rejected with a load error (none occur in Recog's 50 files, so no
//! backtracking engine is used). `.` and classes work on bytes, which is how
//! Recog's own matcher sees banners (it matches binary strings).
//! Regexes are compiled lazily, on first use, with a raised size limit so
//! large bounded repeats compile; syntax is checked at load time.
//!
//! # Order: which match wins
//! Within a database the first matching fingerprint wins. Databases with the
//! same key are consulted by descending `preference` (Recog's rule). On equal
//! preference, **user-loaded databases (`--recog-dir`, [`FingerprintSet::add_xml`])
//! come before the built-in one**: when a user's Recog checkout and our own
//! database both match a banner, the user's (Recog's) answer is reported, so
//! results can be compared with Recog/NICER; our database answers for what
//! theirs does not know. Our files use the same keys and preferences as
//! Recog's SMTP files (`smtp.banner` 0.20, `smtp_ehlo` 0.19, `smtp_help` 0.18).
//!
//! # Speed
//! Each database has an Aho-Corasick prefilter over the literals every match
//! of a fingerprint must contain (module `prefilter`); only fingerprints
//! whose literal occurs in the input run their regex, in database order.
//!
//! # SMTP
//! [`FingerprintSet::match_smtp`] takes the grab stage's replies
//! ([`SmtpInput`]) and returns an [`SmtpFingerprint`]: each greeting line,
//! reply code removed, against `smtp.banner`; EHLO/HELP/other reply lines,
//! codes included, against `smtp_ehlo`, `smtp_help`, ....
//!
//! ```
//! use smtpsweep_fingerprint::{FingerprintSet, SmtpInput};
//! let set = FingerprintSet::builtin();
//! let fp = set.match_smtp(&SmtpInput::banner(
//!     "220 mx.example.org ESMTP Exim 4.92 Mon, 16 Mar 2020 10:11:12 +0100\r\n",
//! ));
//! assert_eq!(fp.family.as_deref(), Some("exim"));
//! assert_eq!(fp.version.as_deref(), Some("4.92"));
//! ```

mod base64;
mod engine;
mod error;
mod fs;
mod params;
mod prefilter;
pub mod ruby;
mod smtp;
mod xml;

pub use engine::{
    DEFAULT_PREFERENCE, Database, Example, ExampleText, Fingerprint, FingerprintSet, KeyMatcher,
    Match, Param, Severity, Source, VerifyFailure, VerifyReport,
};
pub use error::LoadError;
pub use params::Params;
pub use smtp::{
    BANNER_DB, DEFAULT_CERTAINTY, EHLO_DB, HELP_DB, SmtpFingerprint, SmtpInput, SmtpMatch,
    reply_lines, strip_reply_code,
};

/// smtpsweep's own databases, embedded: `(file name, XML)`.
pub const BUILTIN_XML: &[(&str, &str)] = &[
    ("smtp_banners.xml", include_str!("../db/smtp_banners.xml")),
    ("smtp_ehlo.xml", include_str!("../db/smtp_ehlo.xml")),
    ("smtp_help.xml", include_str!("../db/smtp_help.xml")),
];

impl FingerprintSet {
    /// A set holding only smtpsweep's embedded SMTP databases.
    pub fn try_builtin() -> Result<FingerprintSet, LoadError> {
        let mut set = FingerprintSet::new();
        set.add_builtin()?;
        Ok(set)
    }

    /// Like [`try_builtin`](Self::try_builtin); the embedded data is checked
    /// by the crate's tests, so this does not fail in a released build.
    pub fn builtin() -> FingerprintSet {
        match FingerprintSet::try_builtin() {
            Ok(s) => s,
            Err(e) => panic!("embedded fingerprint database is broken: {e}"),
        }
    }

    /// Add the embedded databases to this set.
    pub fn add_builtin(&mut self) -> Result<(), LoadError> {
        for (name, xml) in BUILTIN_XML {
            let db = Database::from_xml(xml, name, Source::Builtin)?;
            self.add_database(db);
        }
        Ok(())
    }
}
