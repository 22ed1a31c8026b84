//! Borrowed views of the fields of a grab record the report needs. Strings
//! borrow from the input line unless they contain escapes; every other key is
//! skipped without allocation: unread scalars are validated in full, unread
//! arrays and objects only structurally (see [`parse_line`] and
//! [`crate::structural`]).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, Visitor};

use crate::structural::{skip_container, string_stops};

/// A JSON string borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// One grab record, reduced to what the report reads.
#[derive(Debug, Deserialize)]
pub(crate) struct RawRecord<'a> {
    #[serde(borrow)]
    pub ip: Text<'a>,
    pub port: u16,
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
    #[serde(borrow, default)]
    pub tls: Option<RawTls<'a>>,
    #[serde(borrow, default)]
    pub fingerprint: Option<RawFingerprint<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawSmtp {
    #[serde(default)]
    pub banner_code: Option<u16>,
    #[serde(default)]
    pub starttls: Option<RawReply>,
    #[serde(default)]
    pub extensions: Option<RawExtensions>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawReply {
    #[serde(default)]
    pub code: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawExtensions {
    #[serde(default)]
    pub starttls: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawTls<'a> {
    #[serde(borrow, default)]
    pub mode: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub version: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub cipher_suite: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub leaf: Option<RawLeaf<'a>>,
    #[serde(default)]
    pub self_signed: Option<bool>,
    #[serde(default)]
    pub expired: Option<bool>,
    #[serde(default)]
    pub name_matches: Option<bool>,
    #[serde(default)]
    pub trusted: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLeaf<'a> {
    #[serde(borrow, default)]
    pub issuer: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawFingerprint<'a> {
    #[serde(borrow, default)]
    pub vendor: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub family: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub product: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub version: Option<Text<'a>>,
}

/// Parse one line with serde_json (the reference the fast parser is tested
/// against).
#[cfg(test)]
pub(crate) fn parse_line_serde(line: &[u8]) -> Result<RawRecord<'_>, String> {
    serde_json::from_slice::<RawRecord<'_>>(line).map_err(|e| e.to_string())
}

/// Parse one line. The error is one line of text.
///
/// A hand-written JSON reader. Everything the report reads is validated as
/// strictly as `serde_json::from_slice` into [`RawRecord`] does: the record
/// object and the `smtp`, `smtp.starttls`, `smtp.extensions`, `tls`,
/// `tls.leaf` and `fingerprint` objects (grammar, keys, escapes, control
/// characters, field types), every scalar value in them, read or not, and
/// trailing characters. Arrays and objects the report never reads (`scan`,
/// `smtp.ehlo`, `fingerprint.matches`, `cves`, ...) are skipped structurally
/// only, see [`crate::structural`]: a line is malformed when such a container
/// is truncated, unbalanced, closed by the wrong bracket kind, nested more
/// than 128 levels, or holds a string that is unclosed, has a bad escape or
/// a raw control byte; grammar errors inside it (e.g. `[1,]`, `[1 2]`, `{"a"
/// 1}`, `[tru]`) are no longer detected.
pub(crate) fn parse_line(line: &[u8]) -> Result<RawRecord<'_>, String> {
    let mut p = Parser::new(line);
    p.line()
}

/// [`parse_line`], and the byte ranges of the containers it skipped.
#[cfg(test)]
pub(crate) fn parse_line_traced(
    line: &[u8],
) -> (Result<RawRecord<'_>, String>, Vec<(usize, usize)>) {
    let mut p = Parser::new(line);
    let r = p.line();
    (r, p.skipped)
}

/// Deepest nesting accepted (serde_json's limit).
pub(crate) const MAX_DEPTH: u32 = 128;

/// What went wrong (kept small so results stay in registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Msg {
    Eof,
    ExpectedValue,
    ExpectedColon,
    ExpectedCommaOrBrace,
    KeyMustBeString,
    TrailingComma,
    Trailing,
    ControlChar,
    InvalidEscape,
    InvalidUnicode,
    LoneLeading,
    LoneTrailing,
    InvalidNumber,
    Recursion,
    WantString,
    WantBool,
    WantU16,
    WantStruct,
    Float,
    OutOfRange,
    MissingIp,
    MissingPort,
    MismatchedBracket,
    Stray,
}

impl Msg {
    fn text(self) -> &'static str {
        match self {
            Msg::Eof => "EOF while parsing",
            Msg::ExpectedValue => "expected value",
            Msg::ExpectedColon => "expected `:`",
            Msg::ExpectedCommaOrBrace => "expected `,` or `}`",
            Msg::KeyMustBeString => "key must be a string",
            Msg::TrailingComma => "trailing comma",
            Msg::Trailing => "trailing characters",
            Msg::ControlChar => "control character (\\u0000-\\u001F) found while parsing a string",
            Msg::InvalidEscape => "invalid escape",
            Msg::InvalidUnicode => "invalid unicode code point",
            Msg::LoneLeading => "lone leading surrogate in hex escape",
            Msg::LoneTrailing => "lone trailing surrogate in hex escape",
            Msg::InvalidNumber => "invalid number",
            Msg::Recursion => "recursion limit exceeded",
            Msg::WantString => "invalid type: expected a string",
            Msg::WantBool => "invalid type: expected a boolean",
            Msg::WantU16 => "invalid type: expected u16",
            Msg::WantStruct => "invalid type: expected an object",
            Msg::Float => "invalid type: floating point, expected u16",
            Msg::OutOfRange => "invalid value: integer, expected u16",
            Msg::MissingIp => "missing field `ip`",
            Msg::MissingPort => "missing field `port`",
            Msg::MismatchedBracket => "mismatched closing bracket",
            Msg::Stray => "unexpected character outside a string",
        }
    }
}

/// A parse error: what and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PErr {
    msg: Msg,
    at: u32,
}

impl fmt::Display for PErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at column {}",
            self.msg.text(),
            u64::from(self.at) + 1
        )
    }
}

type PResult<T> = Result<T, PErr>;

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Containers skipped (start, end), for tests.
    #[cfg(test)]
    skipped: Vec<(usize, usize)>,
}

/// A key as one number: its bytes (little-endian) and its length in the top
/// byte. Keys longer than 15 bytes, which the report never reads, are 0.
type KeyCode = u128;

/// The [`KeyCode`] of `b[start..end]`.
#[inline(always)]
fn key_code(b: &[u8], start: usize, end: usize) -> KeyCode {
    let len = end - start;
    if len > 15 {
        return 0;
    }
    let word = match b.get(start..).and_then(|r| r.first_chunk::<16>()) {
        Some(w) => u128::from_le_bytes(*w),
        None => {
            let mut w = [0u8; 16];
            w[..len].copy_from_slice(&b[start..end]);
            u128::from_le_bytes(w)
        }
    };
    (word & ((1u128 << (8 * len)) - 1)) | ((len as u128) << 120)
}

/// The keys the report reads.
mod key {
    use super::KeyCode;

    const fn code(s: &[u8]) -> KeyCode {
        assert!(s.len() <= 15);
        let mut w = [0u8; 16];
        let mut i = 0;
        while i < s.len() {
            w[i] = s[i];
            i += 1;
        }
        w[15] = s.len() as u8;
        u128::from_le_bytes(w)
    }

    pub const BANNER_CODE: KeyCode = code(b"banner_code");
    pub const CIPHER_SUITE: KeyCode = code(b"cipher_suite");
    pub const CODE: KeyCode = code(b"code");
    pub const EXPIRED: KeyCode = code(b"expired");
    pub const EXTENSIONS: KeyCode = code(b"extensions");
    pub const FAMILY: KeyCode = code(b"family");
    pub const FINGERPRINT: KeyCode = code(b"fingerprint");
    pub const IP: KeyCode = code(b"ip");
    pub const ISSUER: KeyCode = code(b"issuer");
    pub const LEAF: KeyCode = code(b"leaf");
    pub const MODE: KeyCode = code(b"mode");
    pub const NAME_MATCHES: KeyCode = code(b"name_matches");
    pub const PORT: KeyCode = code(b"port");
    pub const PRODUCT: KeyCode = code(b"product");
    pub const SELF_SIGNED: KeyCode = code(b"self_signed");
    pub const SMTP: KeyCode = code(b"smtp");
    pub const STARTTLS: KeyCode = code(b"starttls");
    pub const STATUS: KeyCode = code(b"status");
    pub const TLS: KeyCode = code(b"tls");
    pub const TRUSTED: KeyCode = code(b"trusted");
    pub const VENDOR: KeyCode = code(b"vendor");
    pub const VERSION: KeyCode = code(b"version");
}

impl<'a> Parser<'a> {
    fn new(b: &'a [u8]) -> Self {
        Parser {
            b,
            i: 0,
            #[cfg(test)]
            skipped: Vec::new(),
        }
    }

    /// The whole line: one record and optional whitespace.
    fn line(&mut self) -> Result<RawRecord<'a>, String> {
        let rec = self.record().map_err(|e| e.to_string())?;
        self.ws();
        if self.i != self.b.len() {
            return Err(self.fail(Msg::Trailing).to_string());
        }
        Ok(rec)
    }

    #[cold]
    fn fail(&self, msg: Msg) -> PErr {
        PErr {
            msg,
            at: self.i.min(u32::MAX as usize) as u32,
        }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if c > b' ' || !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            _ => {
                self.ws();
                self.b.get(self.i).copied()
            }
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> PResult<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.fail(Msg::ExpectedValue))
        }
    }

    /// After an opening quote: validate the string and leave `i` after the
    /// closing quote (the content ends at `i - 1`); true if it has escapes.
    /// Strings that end within 16 bytes without escapes (most keys and short
    /// values) take the inline path.
    #[inline(always)]
    fn string(&mut self) -> PResult<bool> {
        let i = self.i;
        if let Some(w) = self.b.get(i..).and_then(|r| r.first_chunk::<16>()) {
            let (stops, quotes) = string_stops(w);
            // The first stop is a quote: the string ends there, unescaped.
            let first = stops & stops.wrapping_neg();
            if first & quotes != 0 {
                self.i = i + first.trailing_zeros() as usize + 1;
                return Ok(false);
            }
        }
        self.string_slow()
    }

    /// [`Parser::string`] 16 bytes at a time, then byte by byte.
    #[inline(never)]
    fn string_slow(&mut self) -> PResult<bool> {
        let b = self.b;
        let mut escaped = false;
        loop {
            let mut i = self.i;
            while let Some(w) = b.get(i..).and_then(|r| r.first_chunk::<16>()) {
                let m = string_stops(w).0;
                if m != 0 {
                    i += m.trailing_zeros() as usize;
                    break;
                }
                i += 16;
            }
            while let Some(&c) = b.get(i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                i += 1;
            }
            self.i = i;
            match b.get(i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                None => return Err(self.fail(Msg::Eof)),
                Some(_) => return Err(self.fail(Msg::ControlChar)),
            }
        }
    }

    /// At a backslash: check the escape and step over it.
    fn escape(&mut self) -> PResult<()> {
        self.i += 1;
        match self.b.get(self.i) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 1;
                Ok(())
            }
            Some(b'u') => {
                let hex = self.b.get(self.i + 1..self.i + 5);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(self.fail(Msg::InvalidEscape));
                }
                self.i += 5;
                Ok(())
            }
            None => Err(self.fail(Msg::Eof)),
            Some(_) => Err(self.fail(Msg::InvalidEscape)),
        }
    }

    /// A string value (the opening quote is at `i`).
    fn text(&mut self) -> PResult<Text<'a>> {
        let at = self.i;
        self.i += 1;
        let start = self.i;
        let escaped = self.string()?;
        let raw = &self.b[start..self.i - 1];
        let bad = |m: Msg| PErr {
            msg: m,
            at: at as u32,
        };
        if escaped {
            decode(raw).map(|t| Text(Cow::Owned(t))).map_err(bad)
        } else {
            std::str::from_utf8(raw)
                .map(|t| Text(Cow::Borrowed(t)))
                .map_err(|_| bad(Msg::InvalidUnicode))
        }
    }

    /// A number at `i`: validates the grammar; returns whether it is an
    /// integer (no fraction or exponent).
    #[inline]
    fn number(&mut self) -> PResult<bool> {
        let b = self.b;
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    self.i = i;
                    return Err(self.fail(Msg::InvalidNumber));
                }
            }
            Some(b'1'..=b'9') => {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => {
                self.i = i;
                return Err(self.fail(Msg::InvalidNumber));
            }
        }
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let s = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == s {
                self.i = i;
                return Err(self.fail(Msg::InvalidNumber));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let s = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == s {
                self.i = i;
                return Err(self.fail(Msg::InvalidNumber));
            }
        }
        self.i = i;
        Ok(integer)
    }

    /// Skip one value the report does not read. Strings, numbers and
    /// literals are validated in full; arrays and objects only structurally
    /// (see [`crate::structural`]).
    #[inline(always)]
    fn skip(&mut self, depth: u32) -> PResult<()> {
        if self.b.get(self.i) == Some(&b'"') {
            self.i += 1;
            return self.string().map(|_| ());
        }
        self.skip_other(depth)
    }

    /// [`Parser::skip`] of anything but a string right at `i`.
    #[inline(never)]
    fn skip_other(&mut self, depth: u32) -> PResult<()> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                self.string()?;
            }
            Some(b'{' | b'[') => {
                let end = skip_container(self.b, self.i, depth).map_err(|(msg, at)| PErr {
                    msg,
                    at: at.min(u32::MAX as usize) as u32,
                })?;
                #[cfg(test)]
                self.skipped.push((self.i, end));
                self.i = end;
            }
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            None => return Err(self.fail(Msg::Eof)),
            Some(_) => return Err(self.fail(Msg::ExpectedValue)),
        }
        Ok(())
    }

    /// Iterate an object at `i` (which must hold '{'); `f` must consume each
    /// value.
    #[inline]
    fn object(
        &mut self,
        depth: u32,
        mut f: impl FnMut(&mut Self, KeyCode, u32) -> PResult<()>,
    ) -> PResult<()> {
        if depth >= MAX_DEPTH {
            return Err(self.fail(Msg::Recursion));
        }
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.fail(Msg::Eof)),
                Some(_) => return Err(self.fail(Msg::KeyMustBeString)),
            }
            self.i += 1;
            let start = self.i;
            let escaped = self.string()?;
            let key = if escaped {
                let at = start as u32;
                let k = decode(&self.b[start..self.i - 1]).map_err(|msg| PErr { msg, at })?;
                key_code(k.as_bytes(), 0, k.len())
            } else {
                key_code(self.b, start, self.i - 1)
            };
            if self.peek() != Some(b':') {
                return Err(self.fail(Msg::ExpectedColon));
            }
            self.i += 1;
            f(self, key, depth + 1)?;
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    if self.peek() == Some(b'}') {
                        return Err(self.fail(Msg::TrailingComma));
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                None => return Err(self.fail(Msg::Eof)),
                Some(_) => return Err(self.fail(Msg::ExpectedCommaOrBrace)),
            }
        }
    }

    fn opt_text(&mut self) -> PResult<Option<Text<'a>>> {
        match self.peek() {
            Some(b'"') => self.text().map(Some),
            Some(b'n') => self.literal(b"null").map(|_| None),
            _ => Err(self.fail(Msg::WantString)),
        }
    }

    fn opt_bool(&mut self) -> PResult<Option<bool>> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|_| Some(true)),
            Some(b'f') => self.literal(b"false").map(|_| Some(false)),
            Some(b'n') => self.literal(b"null").map(|_| None),
            _ => Err(self.fail(Msg::WantBool)),
        }
    }

    fn u16(&mut self) -> PResult<u16> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {}
            _ => return Err(self.fail(Msg::WantU16)),
        }
        let at = self.i;
        let integer = self.number()?;
        let bad = |msg: Msg| PErr { msg, at: at as u32 };
        if !integer {
            return Err(bad(Msg::Float));
        }
        let t = &self.b[at..self.i];
        let (neg, digits) = match t.strip_prefix(b"-") {
            Some(d) => (true, d),
            None => (false, t),
        };
        let mut n: u64 = 0;
        for &d in digits {
            n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        }
        if neg && n != 0 {
            return Err(bad(Msg::OutOfRange));
        }
        u16::try_from(n).map_err(|_| bad(Msg::OutOfRange))
    }

    fn opt_u16(&mut self) -> PResult<Option<u16>> {
        if self.peek() == Some(b'n') {
            return self.literal(b"null").map(|_| None);
        }
        self.u16().map(Some)
    }

    /// `null` or an object read by `f`.
    fn opt_struct<T: Default>(
        &mut self,
        depth: u32,
        mut f: impl FnMut(&mut Self, &mut T, KeyCode, u32) -> PResult<()>,
    ) -> PResult<Option<T>> {
        match self.peek() {
            Some(b'n') => self.literal(b"null").map(|_| None),
            Some(b'{') => {
                let mut v = T::default();
                self.object(depth, |p, k, d| f(p, &mut v, k, d))?;
                Ok(Some(v))
            }
            _ => Err(self.fail(Msg::WantStruct)),
        }
    }

    fn record(&mut self) -> PResult<RawRecord<'a>> {
        match self.peek() {
            Some(b'{') => {}
            None => return Err(self.fail(Msg::Eof)),
            Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                return Err(self.fail(Msg::WantStruct));
            }
            Some(_) => return Err(self.fail(Msg::ExpectedValue)),
        }
        let mut ip = None;
        let mut port = None;
        let mut status = None;
        let mut smtp = None;
        let mut tls = None;
        let mut fingerprint = None;
        self.object(0, |p, k, d| {
            match k {
                key::IP => {
                    if p.peek() != Some(b'"') {
                        return Err(p.fail(Msg::WantString));
                    }
                    ip = Some(p.text()?);
                }
                key::PORT => port = Some(p.u16()?),
                key::STATUS => status = p.opt_text()?,
                key::SMTP => smtp = p.opt_struct(d, smtp_field)?,
                key::TLS => tls = p.opt_struct(d, tls_field)?,
                key::FINGERPRINT => fingerprint = p.opt_struct(d, fp_field)?,
                _ => p.skip(d)?,
            }
            Ok(())
        })?;
        let ip = ip.ok_or_else(|| self.fail(Msg::MissingIp))?;
        let port = port.ok_or_else(|| self.fail(Msg::MissingPort))?;
        Ok(RawRecord {
            ip,
            port,
            status,
            smtp,
            tls,
            fingerprint,
        })
    }
}

fn smtp_field(p: &mut Parser<'_>, v: &mut RawSmtp, k: KeyCode, d: u32) -> PResult<()> {
    match k {
        key::BANNER_CODE => v.banner_code = p.opt_u16()?,
        key::STARTTLS => {
            v.starttls = p.opt_struct(d, |p, r: &mut RawReply, k, d| {
                match k {
                    key::CODE => r.code = p.opt_u16()?,
                    _ => p.skip(d)?,
                }
                Ok(())
            })?
        }
        key::EXTENSIONS => {
            v.extensions = p.opt_struct(d, |p, e: &mut RawExtensions, k, d| {
                match k {
                    key::STARTTLS => e.starttls = p.opt_bool()?,
                    _ => p.skip(d)?,
                }
                Ok(())
            })?
        }
        _ => p.skip(d)?,
    }
    Ok(())
}

fn tls_field<'a>(p: &mut Parser<'a>, v: &mut RawTls<'a>, k: KeyCode, d: u32) -> PResult<()> {
    match k {
        key::MODE => v.mode = p.opt_text()?,
        key::VERSION => v.version = p.opt_text()?,
        key::CIPHER_SUITE => v.cipher_suite = p.opt_text()?,
        key::SELF_SIGNED => v.self_signed = p.opt_bool()?,
        key::EXPIRED => v.expired = p.opt_bool()?,
        key::NAME_MATCHES => v.name_matches = p.opt_bool()?,
        key::TRUSTED => v.trusted = p.opt_bool()?,
        key::LEAF => {
            v.leaf = p.opt_struct(d, |p, l: &mut RawLeaf<'a>, k, d| {
                match k {
                    key::ISSUER => l.issuer = p.opt_text()?,
                    _ => p.skip(d)?,
                }
                Ok(())
            })?
        }
        _ => p.skip(d)?,
    }
    Ok(())
}

fn fp_field<'a>(p: &mut Parser<'a>, v: &mut RawFingerprint<'a>, k: KeyCode, d: u32) -> PResult<()> {
    match k {
        key::VENDOR => v.vendor = p.opt_text()?,
        key::FAMILY => v.family = p.opt_text()?,
        key::PRODUCT => v.product = p.opt_text()?,
        key::VERSION => v.version = p.opt_text()?,
        _ => p.skip(d)?,
    }
    Ok(())
}

/// Decode a JSON string body with escapes.
fn decode(raw: &[u8]) -> Result<String, Msg> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    let hex4 = |i: usize| -> Option<u32> {
        let h = raw.get(i..i + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    while i < raw.len() {
        let c = raw[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = raw.get(i + 1).copied().ok_or(Msg::InvalidEscape)?;
        i += 2;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(i).ok_or(Msg::InvalidEscape)?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi) {
                    if raw.get(i..i + 2) != Some(b"\\u") {
                        return Err(Msg::LoneLeading);
                    }
                    let lo = hex4(i + 2).ok_or(Msg::InvalidEscape)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(Msg::LoneLeading);
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        .ok_or(Msg::InvalidUnicode)?
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err(Msg::LoneTrailing);
                } else {
                    char::from_u32(hi).ok_or(Msg::InvalidUnicode)?
                }
            }
            _ => return Err(Msg::InvalidEscape),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    String::from_utf8(out).map_err(|_| Msg::InvalidUnicode)
}

/// A non-empty, trimmed string, or `None`.
pub(crate) fn non_empty<'b>(t: &'b Option<Text<'_>>) -> Option<&'b str> {
    t.as_ref()
        .map(|t| t.as_str().trim())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_ignores_unknown_keys() {
        let line = br#"{"ip":"198.18.0.1","port":25,"extra":{"a":[1,2,{"b":null}]},"status":"success","smtp":{"banner":"220 x\r\n","banner_code":220,"ehlo":{"code":250,"text":"a\nb","lenient":false},"extensions":{"starttls":true,"auth":["PLAIN"]}},"fingerprint":{"family":"Postfix","version":"3.7.11","matches":[{"db":"smtp.banner"}]}}"#;
        let r = parse_line(line).unwrap();
        assert!(matches!(r.ip.0, Cow::Borrowed("198.18.0.1")));
        assert_eq!(r.port, 25);
        let smtp = r.smtp.unwrap();
        assert_eq!(smtp.banner_code, Some(220));
        assert_eq!(smtp.extensions.unwrap().starttls, Some(true));
        let fp = r.fingerprint.unwrap();
        assert_eq!(non_empty(&fp.family), Some("Postfix"));
        assert!(matches!(fp.family.unwrap().0, Cow::Borrowed(_)));
        assert!(r.tls.is_none());
    }

    #[test]
    fn escaped_strings_are_owned_and_nulls_are_none() {
        let line = br#"{"ip":"198.18.0.1","port":465,"status":null,"tls":{"mode":"implicit","leaf":{"issuer":"CN=\"Q\", O=X"},"trusted":null}}"#;
        let r = parse_line(line).unwrap();
        assert!(r.status.is_none());
        let tls = r.tls.unwrap();
        assert_eq!(non_empty(&tls.leaf.unwrap().issuer), Some("CN=\"Q\", O=X"));
        assert_eq!(tls.trusted, None);
    }

    #[test]
    fn fast_parser_agrees_with_serde_on_generated_records() {
        let mut buf = Vec::new();
        crate::fixture::generate_fixture(3000, 7, &mut buf).unwrap();
        let mut n = 0;
        for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let fast = parse_line(line).unwrap();
            let slow = parse_line_serde(line).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
            n += 1;
        }
        assert_eq!(n, 3000);
    }

    /// Random single-byte edits of real records. The fast parser accepts
    /// everything serde_json accepts and reads the same fields; it rejects
    /// every line that is structurally broken (by [`structurally_valid`], a
    /// byte-at-a-time reference); and where it accepts a line serde_json
    /// rejects, the fault lies inside the containers it skipped: with each
    /// replaced by `0`, serde_json accepts the line and reads the same fields.
    #[test]
    fn fast_parser_agrees_with_serde_on_mutated_records() {
        let mut buf = Vec::new();
        crate::fixture::generate_fixture(400, 11, &mut buf).unwrap();
        let lines: Vec<&[u8]> = buf
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let alphabet = b"\"\\{}[],:0123456789-.eEntfalsru \x01\x7fxZ";
        let (mut ok, mut bad, mut lenient, mut broken) = (0, 0, 0, 0);
        for round in 0..20_000 {
            let mut l = lines[round % lines.len()].to_vec();
            // Bias edits towards the fields the fast parser reads.
            let pos = if rnd(2) == 0 {
                rnd(l.len())
            } else {
                let keys: [&[u8]; 8] = [
                    b"\"ip\"",
                    b"\"port\"",
                    b"\"status\"",
                    b"\"tls\"",
                    b"\"family\"",
                    b"\"version\"",
                    b"\"starttls\"",
                    b"\"banner_code\"",
                ];
                let k = keys[rnd(keys.len())];
                match l.windows(k.len()).position(|w| w == k) {
                    Some(p) => (p + rnd(k.len() + 12)).min(l.len() - 1),
                    None => rnd(l.len()),
                }
            };
            match rnd(4) {
                0 => l[pos] = alphabet[rnd(alphabet.len())],
                1 => {
                    l.remove(pos);
                }
                2 => l.insert(pos, alphabet[rnd(alphabet.len())]),
                _ => l.truncate(pos),
            }
            let (fast, skipped) = parse_line_traced(&l);
            let slow = parse_line_serde(&l);
            let text = String::from_utf8_lossy(&l);
            if !structurally_valid(&l) {
                assert!(fast.is_err(), "structurally broken, accepted: {text}");
                broken += 1;
            }
            if fast.is_ok() {
                for &(a, b) in &skipped {
                    assert!(structurally_valid(&l[a..b]), "{text}");
                }
            }
            match (&fast, &slow) {
                (Ok(f), Ok(s)) => {
                    ok += 1;
                    assert_eq!(
                        format!("{f:?}"),
                        format!("{s:?}"),
                        "{}",
                        String::from_utf8_lossy(&l)
                    );
                }
                (Err(_), Err(_)) => bad += 1,
                (Ok(f), Err(_)) => {
                    lenient += 1;
                    let mut fixed = Vec::new();
                    let mut at = 0;
                    for &(a, b) in &skipped {
                        fixed.extend_from_slice(&l[at..a]);
                        fixed.push(b'0');
                        at = b;
                    }
                    fixed.extend_from_slice(&l[at..]);
                    let s = parse_line_serde(&fixed)
                        .unwrap_or_else(|e| panic!("{e}: fault outside skipped parts: {text}"));
                    assert_eq!(format!("{f:?}"), format!("{s:?}"), "{text}");
                }
                _ => panic!(
                    "disagree on {}\nfast: {:?}\nserde: {:?}",
                    String::from_utf8_lossy(&l),
                    fast.as_ref().map(|_| ()),
                    slow.as_ref().map(|_| ())
                ),
            }
        }
        assert!(
            ok > 1000 && bad > 1000 && lenient > 100 && broken > 1000,
            "ok {ok} bad {bad} lenient {lenient} broken {broken}"
        );
    }

    /// The structural rules of [`crate::structural`], one byte at a time:
    /// brackets balanced and matched, strings closed with valid escapes and
    /// no control bytes, no backslash or non-whitespace control byte outside
    /// strings, at most 128 levels.
    fn structurally_valid(b: &[u8]) -> bool {
        let mut stack = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => loop {
                    i += 1;
                    match b.get(i) {
                        None => return false,
                        Some(b'"') => break,
                        Some(b'\\') => {
                            i += 1;
                            match b.get(i) {
                                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                                Some(b'u') => {
                                    let hex = b.get(i + 1..i + 5);
                                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                        return false;
                                    }
                                    i += 4;
                                }
                                _ => return false,
                            }
                        }
                        Some(&c) if c < 0x20 => return false,
                        Some(_) => {}
                    }
                },
                b'{' => stack.push(b'}'),
                b'[' => stack.push(b']'),
                // A closing bracket must close the innermost open one.
                c @ (b'}' | b']') if stack.pop() != Some(c) => return false,
                b'\\' => return false,
                b'\t' | b'\n' | b'\r' => {}
                c if c < 0x20 => return false,
                _ => {}
            }
            if stack.len() > 128 {
                return false;
            }
            i += 1;
        }
        stack.is_empty()
    }

    #[test]
    fn key_codes_compare_whole_keys() {
        let line = b"{\"ip\":1,\"ipx\":2,\"tls\"";
        assert_eq!(key_code(line, 2, 4), key::IP);
        assert_ne!(key_code(line, 10, 13), key::IP);
        // Near the end of the line (fewer than 16 bytes left).
        assert_eq!(key_code(line, line.len() - 4, line.len() - 1), key::TLS);
        assert_eq!(key_code(b"name_matches", 0, 12), key::NAME_MATCHES);
        assert_ne!(key_code(b"ip\0", 0, 3), key::IP);
        assert_eq!(key_code(b"a_key_of_16_byte", 0, 16), 0);
    }

    #[test]
    fn reference_structural_check() {
        assert!(structurally_valid(br#"{"a":[1,"]\"\u00e9"],"b":{}}"#));
        for bad in [
            &br#"{"a":[1}"#[..],
            br#"{"a":"x}"#,
            br#"{"a":"\x"}"#,
            b"{\"a\":\"\x01\"}",
            br#"{"a":1\}"#,
            br#"{"a":1"#,
        ] {
            assert!(!structurally_valid(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn skipped_containers_are_checked_structurally_only() {
        let base = r#"{"ip":"198.18.0.1","port":25,"#;
        // Grammar errors inside containers the report never reads pass.
        for inner in [
            r#""x":[1,]"#,
            r#""x":[1 2]"#,
            r#""scan":{"a" 1,}"#,
            r#""smtp":{"ehlo":[tru, 01]},"x":{1:2}"#,
            r#""fingerprint":{"matches":[{"params":{"a":-}}]}"#,
        ] {
            let line = format!("{base}{inner}}}");
            assert!(parse_line(line.as_bytes()).is_ok(), "{line}");
            assert!(parse_line_serde(line.as_bytes()).is_err(), "{line}");
        }
        // Structural faults in them, and any fault in what is read, do not.
        for inner in [
            r#""x":[1,2"#,
            r#""x":[1,2}"#,
            r#""scan":{"a":"b}"#,
            r#""scan":{"a":"\q"}"#,
            "\"scan\":{\"a\":\"\u{1}\"}",
            r#""scan":{"a":1\}"#,
            r#""x":01"#,
            r#""x":tru"#,
            r#""x":"a" "b""#,
            r#""smtp":{"banner_code":22 0}"#,
            r#""smtp":{"extensions":{"starttls":true,}}"#,
            r#""tls":{"leaf":{"issuer":"a","x":[}}}"#,
            r#""fingerprint":{"family":"a" "b"}"#,
            r#""x":{"y":1}]"#,
        ] {
            let line = format!("{base}{inner}}}");
            assert!(parse_line(line.as_bytes()).is_err(), "{line}");
            assert!(parse_line_serde(line.as_bytes()).is_err(), "{line}");
        }
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let line = br#"{"\u0069p":"198.18.0.1","port":25,"status":"succ\u0065ss","fingerprint":{"family":"\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"}}"#;
        let fast = parse_line(line).unwrap();
        let slow = parse_line_serde(line).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        assert_eq!(fast.ip.as_str(), "198.18.0.1");
        assert_eq!(fast.status.unwrap().as_str(), "success");
        assert!(
            fast.fingerprint
                .unwrap()
                .family
                .unwrap()
                .as_str()
                .starts_with('\u{1F600}')
        );
        for bad in [
            &br#"{"ip":"198.18.0.1","port":25,"status":"\ud83d"}"#[..],
            br#"{"ip":"198.18.0.1","port":25,"status":"\ude00"}"#,
            br#"{"ip":"198.18.0.1","port":25,"status":"\uzzzz"}"#,
            br#"{"ip":"198.18.0.1","port":25,"x":"\q"}"#,
            br#"{"ip":"198.18.0.1","port":25,"x":01}"#,
            br#"{"ip":"198.18.0.1","port":25,"x":1.}"#,
            br#"{"ip":"198.18.0.1","port":25,}"#,
            br#"{"ip":"198.18.0.1","port":25.0}"#,
            br#"{"ip":"198.18.0.1","port":-1}"#,
            br#"{"ip":"198.18.0.1","port":25,"smtp":{"banner_code":"220"}}"#,
            br#"{"ip":"198.18.0.1","port":25,"tls":"yes"}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
            assert!(
                parse_line_serde(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!(
            r#"{{"ip":"198.18.0.1","port":25,"x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        // serde_json skips ignored values without a depth limit; we stop at
        // its parse limit (128) rather than risk the stack.
        let e = parse_line(deep.as_bytes()).unwrap_err();
        assert!(e.contains("recursion limit"), "{e}");
    }

    #[test]
    fn bad_lines_give_one_line_errors() {
        for bad in [
            &b"{"[..],
            b"",
            b"null",
            b"{}",
            b"not json",
            b"[1,2]",
            br#"{"port":25}"#,
            br#"{"ip":"198.18.0.1"}"#,
            br#"{"ip":"198.18.0.1","port":70000}"#,
            br#"{"ip":7,"port":25}"#,
            br#"{"ip":"198.18.0.1","port":25,"tls":{"trusted":"yes"}}"#,
            br#"{"ip":"198.18.0.1","port":25} trailing"#,
        ] {
            let e = parse_line(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
            assert!(parse_line_serde(bad).is_err());
        }
    }
}
