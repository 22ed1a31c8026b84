//! Databases, fingerprints, matching and verification.

use crate::error::{LoadError, one_line};
use crate::params::Params;
use crate::prefilter::{self, Prefilter};
use crate::{base64, ruby, xml};
use regex_automata::Input;
use regex_automata::meta::{self, Regex};
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Default `preference` of a database that declares none (Recog's value).
pub const DEFAULT_PREFERENCE: f64 = 0.10;

/// Size limit for one compiled regex; Recog has patterns with bounded repeats
/// such as `[\w.-]{1,512}` that exceed the `regex` crate's default.
const REGEX_SIZE_LIMIT: usize = 256 << 20;

/// Where a database came from; decides ties in consultation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Loaded by the user (`add_xml`, `load_dir`): wins ties.
    User,
    /// smtpsweep's own embedded database.
    Builtin,
}

/// One `<param>`: a capture group (`pos > 0`) or a fixed value (`pos == 0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Capture group index, 0 for a fixed value.
    pub pos: usize,
    /// Attribute name such as `service.version`.
    pub name: Arc<str>,
    /// Fixed value (may contain `{name}` placeholders); empty for captures.
    pub value: Arc<str>,
    /// The `{name}` placeholders of `value`, in order, without duplicates.
    #[serde(skip)]
    pub placeholders: Vec<Arc<str>>,
}

/// The input text of an `<example>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExampleText {
    /// Inline text (base64-decoded if `_encoding="base64"`).
    Bytes(Vec<u8>),
    /// `_filename="..."`: content lives in a file next to the database; only
    /// [`FingerprintSet::load_dir`] reads it.
    File(String),
}

/// One `<example>`: input text and the attributes a match must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Line of the `<example>` element.
    pub line: usize,
    /// All attributes in document order (including `_encoding`/`_filename`).
    pub attrs: Vec<(String, String)>,
    /// The text to match.
    pub text: ExampleText,
}

impl Example {
    /// The example text shown in messages (lossy UTF-8, escaped, shortened).
    pub fn display_text(&self) -> String {
        match &self.text {
            ExampleText::Bytes(b) => {
                let s = String::from_utf8_lossy(b);
                let mut e: String = s.escape_debug().collect();
                if e.len() > 160 {
                    let mut cut = 157;
                    while !e.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    e.truncate(cut);
                    e.push_str("...");
                }
                e
            }
            ExampleText::File(f) => format!("<file {f}>"),
        }
    }
}

/// A compiled fingerprint.
#[derive(Debug)]
pub struct Fingerprint {
    /// Line of the `<fingerprint>` element.
    pub line: usize,
    /// `<description>`, whitespace-collapsed (Recog's "matched" value).
    pub description: String,
    /// The pattern exactly as written (Ruby syntax).
    pub pattern: String,
    /// The `flags` attribute, split on commas.
    pub flags: Vec<String>,
    /// The `certainty` attribute, if any.
    pub certainty: Option<f32>,
    /// Parameters in Recog's order (duplicate names: first position, last value).
    pub params: Vec<Param>,
    /// Examples.
    pub examples: Vec<Example>,
    /// Number of capture groups in the pattern.
    pub groups: usize,
    translated: String,
    icase: bool,
    dotall: bool,
    needs_captures: bool,
    has_tmp: bool,
    fixed_certainty: Option<f32>,
    /// A `*.certainty` param comes from a capture group (rare): only then
    /// is the certainty looked up per match.
    certainty_captured: bool,
    description_arc: Arc<str>,
    sorted_params: Vec<usize>,
    single_line: OnceLock<Result<Regex, String>>,
    multi_line: OnceLock<Result<Regex, String>>,
}

impl Fingerprint {
    /// A label for messages: the description, or the pattern if there is none.
    pub fn label(&self) -> &str {
        if self.description.is_empty() {
            &self.pattern
        } else {
            &self.description
        }
    }

    /// The pattern translated to Rust `regex` syntax.
    pub fn rust_pattern(&self) -> &str {
        &self.translated
    }

    fn build(&self, multi_line: bool) -> Result<Regex, String> {
        // No full DFA: it costs more to build than it saves on short banners.
        meta::Builder::new()
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                    .utf8_empty(false)
                    .dfa(false),
            )
            .syntax(
                syntax::Config::new()
                    .unicode(false)
                    .utf8(false)
                    .case_insensitive(self.icase)
                    .dot_matches_new_line(self.dotall)
                    .multi_line(multi_line)
                    .nest_limit(250),
            )
            .build(&self.translated)
            .map_err(|e| one_line(&e.to_string()))
    }

    /// The regex for `text`. Without a `\n` in the text, Ruby's line anchors
    /// can only match at the ends, so a single-line build (anchored, hence
    /// faster) is equivalent.
    fn regex_for(&self, text: &[u8]) -> Result<&Regex, &str> {
        let (cell, ml) = if memchr::memchr(b'\n', text).is_some() {
            (&self.multi_line, true)
        } else {
            (&self.single_line, false)
        };
        cell.get_or_init(|| self.build(ml))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Force compilation of both variants.
    pub fn compile(&self) -> Result<(), String> {
        self.regex_for(b"")?;
        self.regex_for(b"\n")?;
        Ok(())
    }

    /// Match this fingerprint alone against `text` (Recog's `Fingerprint#match`).
    pub fn match_bytes(&self, db: &Database, text: &[u8]) -> Option<Match> {
        self.try_match(db, text).ok().flatten()
    }

    fn try_match(&self, db: &Database, text: &[u8]) -> Result<Option<Match>, String> {
        let re = self.regex_for(text).map_err(str::to_string)?;
        // Capture slots live on the stack for the usual small group counts.
        let mut stack = [None::<NonMaxUsize>; 32];
        let mut heap = Vec::new();
        let slots: &mut [Option<NonMaxUsize>] = if !self.needs_captures {
            if !re.is_match(text) {
                return Ok(None);
            }
            &mut []
        } else {
            let n = 2 * (self.groups + 1);
            let slots = if n <= stack.len() {
                &mut stack[..n]
            } else {
                heap.resize(n, None);
                &mut heap[..]
            };
            if re.search_slots(&Input::new(text), slots).is_none() {
                return Ok(None);
            }
            slots
        };
        let group = |pos: usize| -> Option<&[u8]> {
            let (a, b) = (
                slots.get(2 * pos)?.as_ref()?,
                slots.get(2 * pos + 1)?.as_ref()?,
            );
            Some(&text[a.get()..b.get()])
        };
        // Params are visited in name order (precomputed), so the result is
        // built already sorted.
        let mut pairs = Vec::with_capacity(self.params.len() + 2);
        for &i in &self.sorted_params {
            let p = &self.params[i];
            let v = if p.pos == 0 {
                p.value.clone()
            } else {
                match group(p.pos) {
                    Some(g) => Arc::from(String::from_utf8_lossy(g)),
                    None => continue,
                }
            };
            pairs.push((p.name.clone(), v));
        }
        Ok(Some(self.finish(db, Params::from_sorted(pairs))))
    }

    /// Recog's post-processing: protocol, fingerprint_db, `{name}`
    /// interpolation (a missing `*.version` in a `*.cpe23` value becomes
    /// `-`), and removal of `_tmp.*` keys.
    fn finish(&self, db: &Database, mut params: Params) -> Match {
        if let Some(proto) = &db.protocol_lc {
            if !params.contains_key("service.protocol") {
                params.insert(db.protocol_key.clone(), proto.clone());
            }
        }
        params.insert(db.fingerprint_db_key.clone(), db.matches_arc.clone());
        for p in &self.params {
            if p.pos != 0 || p.placeholders.is_empty() {
                continue;
            }
            let Some(mut value) = params.get(&p.name).map(|v| v.to_string()) else {
                continue;
            };
            for name in &p.placeholders {
                let replacement = match params.get(name) {
                    Some(v) => v.to_string(),
                    None if p.name.ends_with(".cpe23") && name.ends_with(".version") => "-".into(),
                    // Recog raises here; we leave the placeholder in place.
                    None => continue,
                };
                value = value.replace(&format!("{{{name}}}"), &replacement);
            }
            params.insert(p.name.clone(), Arc::from(value));
        }
        if self.has_tmp {
            params.retain(|k, _| !k.starts_with("_tmp."));
        }

        let certainty = self.fixed_certainty.or_else(|| {
            if !self.certainty_captured {
                return None;
            }
            ["service.certainty", "os.certainty", "hw.certainty"]
                .iter()
                .find_map(|k| params.get(k).and_then(|v| v.trim().parse::<f32>().ok()))
        });
        Match {
            db: db.matches_arc.clone(),
            fingerprint: self.description_arc.clone(),
            params,
            certainty,
            origin: db.origin_arc.clone(),
            line: self.line,
        }
    }
}

/// `{name}` placeholders in a value, in order, without duplicates
/// (Recog: `/\{([^\s{}]+)\}/`).
fn placeholders(v: &str) -> Vec<Arc<str>> {
    let mut out: Vec<Arc<str>> = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            let mut j = i + 1;
            while j < b.len() && !matches!(b[j], b'{' | b'}') && !b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && b[j] == b'}' && j > i + 1 {
                let name: Arc<str> = Arc::from(&v[i + 1..j]);
                if !out.contains(&name) {
                    out.push(name);
                }
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// A successful match: Recog's result hash, minus `matched` (which is
/// [`Match::fingerprint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The database key (`matches`), e.g. `smtp.banner`.
    pub db: Arc<str>,
    /// The fingerprint's description (Recog's `matched`).
    pub fingerprint: Arc<str>,
    /// All attributes: `service.*`, `os.*`, `host.*`, ..., `service.protocol`
    /// and `fingerprint_db`. Captures that did not participate are absent.
    pub params: Params,
    /// The fingerprint's `certainty` attribute, else its
    /// `service.certainty`/`os.certainty`/`hw.certainty` param.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certainty: Option<f32>,
    /// File (or origin) of the database that matched.
    pub origin: Arc<str>,
    /// Line of the fingerprint in that file.
    pub line: usize,
}

impl Match {
    /// One attribute, e.g. `service.version`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key)
    }
}

/// One `<fingerprints>` document.
#[derive(Debug)]
pub struct Database {
    /// `matches` attribute, or the file name without `.xml`.
    pub matches: String,
    /// `protocol` attribute (empty if absent).
    pub protocol: String,
    /// `database_type` attribute (empty if absent).
    pub database_type: String,
    /// `preference` attribute ([`DEFAULT_PREFERENCE`] if absent).
    pub preference: f64,
    /// File name or origin given when loading.
    pub origin: String,
    /// Built-in or user-loaded.
    pub source: Source,
    /// Fingerprints in file order.
    pub fingerprints: Vec<Fingerprint>,
    prefilter: Prefilter,
    matches_arc: Arc<str>,
    origin_arc: Arc<str>,
    protocol_lc: Option<Arc<str>>,
    protocol_key: Arc<str>,
    fingerprint_db_key: Arc<str>,
}

impl Database {
    /// Parse and compile one XML document. `origin` names it in errors
    /// (normally the file name); it also provides the default `matches` key.
    pub fn from_xml(xml: &str, origin: &str, source: Source) -> Result<Database, LoadError> {
        let raw = xml::parse(xml, origin)?;
        let matches = match raw.matches {
            Some(m) => m,
            None => {
                let base = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
                base.strip_suffix(".xml").unwrap_or(base).to_string()
            }
        };
        let preference = match raw.preference.as_deref().map(str::trim) {
            None => DEFAULT_PREFERENCE,
            Some(p) => p.parse::<f64>().map_err(|_| {
                LoadError::xml(origin, 1, format!("preference {p:?} is not a number"))
            })?,
        };
        let mut fingerprints = Vec::with_capacity(raw.fingerprints.len());
        let mut literals = Vec::with_capacity(raw.fingerprints.len());
        for f in raw.fingerprints {
            let (fp, lits) = compile_fingerprint(f, origin)?;
            fingerprints.push(fp);
            literals.push(lits);
        }
        let protocol = raw.protocol.unwrap_or_default();
        Ok(Database {
            matches_arc: Arc::from(matches.as_str()),
            origin_arc: Arc::from(origin),
            protocol_lc: (!protocol.is_empty()).then(|| Arc::from(protocol.to_lowercase())),
            protocol_key: Arc::from("service.protocol"),
            fingerprint_db_key: Arc::from("fingerprint_db"),
            matches,
            protocol,
            database_type: raw.database_type.unwrap_or_default(),
            preference,
            origin: origin.to_string(),
            source,
            fingerprints,
            prefilter: Prefilter::build(&literals),
        })
    }

    /// First matching fingerprint (Recog: first match wins within a database).
    pub fn match_bytes(&self, text: &[u8]) -> Option<Match> {
        self.prefilter
            .find(text, |i| self.fingerprints[i].match_bytes(self, text))
    }

    /// Every matching fingerprint, in file order.
    pub fn match_all_bytes(&self, text: &[u8]) -> Vec<Match> {
        let mut out = Vec::new();
        let _: Option<()> = self.prefilter.find(text, |i| {
            if let Some(m) = self.fingerprints[i].match_bytes(self, text) {
                out.push(m);
            }
            None
        });
        out
    }
}

fn ruby_to_i(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n: i64 = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |a, d| {
            a.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg { -n } else { n }
}

type Literals = Option<Vec<Vec<u8>>>;

fn compile_fingerprint(f: xml::RawFp, origin: &str) -> Result<(Fingerprint, Literals), LoadError> {
    let label = if f.description.is_empty() {
        f.pattern.clone().unwrap_or_default()
    } else {
        f.description.clone()
    };
    let fail = |msg: String| LoadError::fp(origin, f.line, &label, msg);
    let pattern = f
        .pattern
        .clone()
        .ok_or_else(|| fail("missing pattern attribute".into()))?;
    let flags: Vec<String> = f
        .flags
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let (mut icase, mut dotall) = (false, false);
    for fl in &flags {
        match fl.as_str() {
            "REG_ICASE" | "IGNORECASE" => icase = true,
            "REG_DOT_NEWLINE" | "REG_MULTILINE" | "REG_LINE_ANY_CRLF" | "MULTILINE" => {
                dotall = true
            }
            other => return Err(fail(format!("unsupported regex flag {other:?}"))),
        }
    }
    let certainty = match f.certainty.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<f32>()
                .map_err(|_| fail(format!("certainty {c:?} is not a number")))?,
        ),
    };
    let translated =
        ruby::translate(&pattern).map_err(|e| fail(format!("bad regex /{pattern}/: {e}")))?;
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(icase)
        .dot_matches_new_line(dotall)
        .multi_line(true)
        .nest_limit(250)
        .build()
        .parse(&translated)
        .map_err(|e| {
            let (kind, span) = match &e {
                regex_syntax::Error::Parse(p) => (p.kind().to_string(), p.span().start.offset),
                regex_syntax::Error::Translate(t) => (t.kind().to_string(), t.span().start.offset),
                other => (other.to_string(), 0),
            };
            fail(format!(
                "bad regex /{pattern}/: {kind} (at offset {span} of the translated pattern)"
            ))
        })?;
    let groups = hir.properties().explicit_captures_len();

    // Params: Ruby hash semantics (first position, last value).
    let mut params: Vec<Param> = Vec::new();
    for p in &f.params {
        let name = p
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(format!("param on line {} has no name", p.line)))?;
        let pos = ruby_to_i(p.pos.as_deref().unwrap_or(""));
        if pos < 0 {
            return Err(fail(format!("param {name:?} has negative pos {pos}")));
        }
        let pos = pos as usize;
        if pos > groups {
            return Err(fail(format!(
                "param {name:?} uses pos {pos} but the pattern has only {groups} capture group{}",
                if groups == 1 { "" } else { "s" }
            )));
        }
        let value = p.value.clone().unwrap_or_default();
        let placeholders = if pos == 0 {
            placeholders(&value)
        } else {
            Vec::new()
        };
        let value: Arc<str> = Arc::from(value);
        match params.iter_mut().find(|q| *q.name == *name) {
            Some(q) => {
                q.pos = pos;
                q.value = value;
                q.placeholders = placeholders;
            }
            None => params.push(Param {
                pos,
                name: Arc::from(name),
                value,
                placeholders,
            }),
        }
    }

    let mut examples = Vec::with_capacity(f.examples.len());
    for (n, e) in f.examples.into_iter().enumerate() {
        let get = |k: &str| {
            e.attrs
                .iter()
                .rev()
                .find(|(a, _)| a == k)
                .map(|(_, v)| v.clone())
        };
        let text = if let Some(file) = get("_filename") {
            ExampleText::File(file)
        } else if get("_encoding").as_deref() == Some("base64") {
            ExampleText::Bytes(
                base64::decode(&e.text)
                    .map_err(|m| fail(format!("example {} (line {}): {m}", n + 1, e.line)))?,
            )
        } else {
            ExampleText::Bytes(e.text.into_bytes())
        };
        examples.push(Example {
            line: e.line,
            attrs: e.attrs,
            text,
        });
    }

    let needs_captures = params.iter().any(|p| p.pos > 0);
    let has_tmp = params.iter().any(|p| p.name.starts_with("_tmp."));
    let mut sorted_params: Vec<usize> = (0..params.len()).collect();
    sorted_params.sort_by(|&a, &b| params[a].name.cmp(&params[b].name));
    let fixed_certainty = certainty.or_else(|| {
        ["service.certainty", "os.certainty", "hw.certainty"]
            .iter()
            .find_map(|k| {
                params
                    .iter()
                    .find(|p| &*p.name == *k)
                    .filter(|p| p.pos == 0)
                    .and_then(|p| p.value.trim().parse::<f32>().ok())
            })
    });
    let certainty_captured = params.iter().any(|p| {
        p.pos > 0
            && matches!(
                &*p.name,
                "service.certainty" | "os.certainty" | "hw.certainty"
            )
    });
    let literals = prefilter::literals_for(&hir);
    Ok((
        Fingerprint {
            line: f.line,
            description: f.description.clone(),
            pattern,
            flags,
            certainty,
            params,
            examples,
            groups,
            translated,
            icase,
            dotall,
            needs_captures,
            has_tmp,
            fixed_certainty,
            certainty_captured,
            description_arc: Arc::from(f.description.as_str()),
            sorted_params,
            single_line: OnceLock::new(),
            multi_line: OnceLock::new(),
        },
        literals,
    ))
}

/// Severity of a verification finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Like `recog_verify`'s warnings (e.g. a fingerprint without examples).
    Warning,
    /// A failed check.
    Failure,
}

/// One finding of [`FingerprintSet::verify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyFailure {
    /// Warning or failure.
    pub severity: Severity,
    /// File (origin) of the database.
    pub origin: String,
    /// Line of the fingerprint.
    pub line: usize,
    /// The fingerprint's description (or pattern).
    pub fingerprint: String,
    /// The example concerned, if any (escaped, shortened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Failure => "FAIL",
        };
        write!(
            f,
            "{sev}: {}:{}: fingerprint {:?}",
            self.origin, self.line, self.fingerprint
        )?;
        if let Some(e) = &self.example {
            write!(f, ": example \"{e}\"")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Result of [`FingerprintSet::verify`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Databases checked.
    pub databases: usize,
    /// Fingerprints checked.
    pub fingerprints: usize,
    /// Examples checked.
    pub examples: usize,
    /// Examples whose every expected attribute was reproduced.
    pub examples_passed: usize,
    /// Failures and warnings, in database/file order.
    pub findings: Vec<VerifyFailure>,
}

impl VerifyReport {
    /// Only the failures.
    pub fn failures(&self) -> impl Iterator<Item = &VerifyFailure> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Failure)
    }

    /// True if there is no failure (warnings allowed).
    pub fn ok(&self) -> bool {
        self.failures().next().is_none()
    }
}

fn verify_fingerprint(db: &Database, fp: &Fingerprint, report: &mut VerifyReport) {
    let finding = |severity, example: Option<&Example>, message: String| VerifyFailure {
        severity,
        origin: db.origin.clone(),
        line: example.map_or(fp.line, |e| e.line),
        fingerprint: fp.label().to_string(),
        example: example.map(Example::display_text),
        message,
    };
    report.fingerprints += 1;
    for p in &fp.params {
        if p.pos > 0 && !p.value.is_empty() {
            report.findings.push(finding(
                Severity::Failure,
                None,
                format!(
                    "param {:?} has a non-zero pos but also a value {:?}",
                    p.name, p.value
                ),
            ));
        } else if p.pos == 0 && p.value.is_empty() {
            report.findings.push(finding(
                Severity::Failure,
                None,
                format!(
                    "param {:?} is not a capture (pos=0) but has no value",
                    p.name
                ),
            ));
        }
    }
    if let Err(e) = fp.compile() {
        report.findings.push(finding(
            Severity::Failure,
            None,
            format!("regex does not compile: {e}"),
        ));
        return;
    }
    if fp.examples.is_empty() {
        report
            .findings
            .push(finding(Severity::Warning, None, "has no examples".into()));
        return;
    }
    for ex in &fp.examples {
        report.examples += 1;
        let ExampleText::Bytes(text) = &ex.text else {
            report.findings.push(finding(
                Severity::Failure,
                Some(ex),
                "example file was not loaded (use load_dir)".into(),
            ));
            continue;
        };
        let m = match fp.try_match(db, text) {
            Ok(Some(m)) => m,
            Ok(None) => {
                report.findings.push(finding(
                    Severity::Failure,
                    Some(ex),
                    format!("does not match /{}/", fp.pattern),
                ));
                continue;
            }
            Err(e) => {
                report.findings.push(finding(
                    Severity::Failure,
                    Some(ex),
                    format!("regex error: {e}"),
                ));
                continue;
            }
        };
        let mut ok = true;
        for (k, v) in &ex.attrs {
            if k == "_encoding" || k == "_filename" {
                continue;
            }
            let got = if k == "matched" {
                Some(&*m.fingerprint)
            } else {
                m.get(k)
            };
            if got != Some(v.as_str()) {
                report.findings.push(finding(
                    Severity::Failure,
                    Some(ex),
                    format!(
                        "expected {k}={v:?}, got {}",
                        got.map_or("nothing".to_string(), |g| format!("{g:?}"))
                    ),
                ));
                ok = false;
                break;
            }
        }
        if ok {
            report.examples_passed += 1;
        }
    }
    for p in fp.params.iter().filter(|p| p.pos > 0 && p.value.is_empty()) {
        if p.name.starts_with("_tmp.") {
            continue;
        }
        if !fp
            .examples
            .iter()
            .any(|e| e.attrs.iter().any(|(k, _)| **k == *p.name))
        {
            report.findings.push(finding(
                Severity::Failure,
                None,
                format!("no example checks the capture-group param {:?}", p.name),
            ));
        }
    }
}

fn normalize_key(k: &str) -> String {
    k.replace('_', ".").to_ascii_lowercase()
}

/// Many databases, consulted in preference order.
///
/// Order: higher `preference` first; on equal preference, user-loaded
/// databases before the built-in ones; then load order. Within one database
/// the first matching fingerprint wins.
#[derive(Debug, Default)]
pub struct FingerprintSet {
    dbs: Vec<Database>,
    order: Vec<usize>,
    by_key: HashMap<String, Vec<usize>>,
    by_exact_key: HashMap<String, Vec<usize>>,
}

impl FingerprintSet {
    /// An empty set.
    pub fn new() -> FingerprintSet {
        FingerprintSet::default()
    }

    /// Add a user database from XML text; `origin` (normally the file name)
    /// names it in errors and gives the default `matches` key.
    pub fn add_xml(&mut self, xml: &str, origin: &str) -> Result<(), LoadError> {
        let db = Database::from_xml(xml, origin, Source::User)?;
        self.add_database(db);
        Ok(())
    }

    /// Add an already parsed database.
    pub fn add_database(&mut self, db: Database) {
        self.dbs.push(db);
        self.reindex();
    }

    pub(crate) fn dbs_mut(&mut self) -> &mut Vec<Database> {
        &mut self.dbs
    }

    pub(crate) fn reindex(&mut self) {
        let mut order: Vec<usize> = (0..self.dbs.len()).collect();
        order.sort_by(|&a, &b| {
            let (da, db) = (&self.dbs[a], &self.dbs[b]);
            db.preference
                .partial_cmp(&da.preference)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(da.source.cmp(&db.source))
                .then(a.cmp(&b))
        });
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for &i in &order {
            by_key
                .entry(normalize_key(&self.dbs[i].matches))
                .or_default()
                .push(i);
        }
        // Exact spellings resolve without allocating on the hot path.
        let mut by_exact_key = HashMap::new();
        for db in &self.dbs {
            let ids = by_key[&normalize_key(&db.matches)].clone();
            by_exact_key.insert(db.matches.clone(), ids);
        }
        self.order = order;
        self.by_key = by_key;
        self.by_exact_key = by_exact_key;
    }

    /// Databases in consultation order.
    pub fn databases(&self) -> impl Iterator<Item = &Database> {
        self.order.iter().map(|&i| &self.dbs[i])
    }

    /// Distinct database keys, in consultation order.
    pub fn keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for db in self.databases() {
            if !out.contains(&db.matches.as_str()) {
                out.push(&db.matches);
            }
        }
        out
    }

    /// Number of fingerprints over all databases.
    pub fn fingerprint_count(&self) -> usize {
        self.dbs.iter().map(|d| d.fingerprints.len()).sum()
    }

    /// Databases for a key; `.` and `_` are interchangeable and case is
    /// ignored, so `smtp.ehlo` finds Recog's `smtp_ehlo`.
    pub fn databases_for<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Database> + 'a {
        let ids: &[usize] = match self.by_exact_key.get(key) {
            Some(ids) => ids,
            None => self
                .by_key
                .get(&normalize_key(key))
                .map_or(&[], Vec::as_slice),
        };
        ids.iter().map(move |&i| &self.dbs[i])
    }

    /// Resolve `key` once for many matches (the fast path for bulk input).
    pub fn matcher<'a>(&'a self, key: &str) -> KeyMatcher<'a> {
        KeyMatcher {
            dbs: self.databases_for(key).collect(),
        }
    }

    /// First match for `text` in the databases for `key`.
    pub fn match_one(&self, key: &str, text: &str) -> Option<Match> {
        self.match_one_bytes(key, text.as_bytes())
    }

    /// [`match_one`](Self::match_one) on raw bytes (binary-safe).
    pub fn match_one_bytes(&self, key: &str, text: &[u8]) -> Option<Match> {
        self.databases_for(key).find_map(|db| db.match_bytes(text))
    }

    /// Every match in every database for `key` (Recog's `multi_match`).
    pub fn match_all(&self, key: &str, text: &str) -> Vec<Match> {
        self.databases_for(key)
            .flat_map(|db| db.match_all_bytes(text.as_bytes()))
            .collect()
    }

    /// Check every example of every loaded database like `recog_verify`.
    pub fn verify(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        for db in self.databases() {
            report.databases += 1;
            for fp in &db.fingerprints {
                verify_fingerprint(db, fp, &mut report);
            }
        }
        report
    }
}

/// The databases of one key, resolved once ([`FingerprintSet::matcher`]).
#[derive(Debug, Clone)]
pub struct KeyMatcher<'a> {
    dbs: Vec<&'a Database>,
}

impl KeyMatcher<'_> {
    /// First match for `text` (same result as [`FingerprintSet::match_one`]).
    pub fn match_str(&self, text: &str) -> Option<Match> {
        self.match_bytes(text.as_bytes())
    }

    /// First match for raw bytes.
    pub fn match_bytes(&self, text: &[u8]) -> Option<Match> {
        self.dbs.iter().find_map(|db| db.match_bytes(text))
    }

    /// True if no database has this key.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }
}
