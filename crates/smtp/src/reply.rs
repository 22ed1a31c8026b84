//! SMTP replies and the incremental reply parser.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Default cap on the size of one reply, in bytes (64 KiB).
pub const DEFAULT_MAX_REPLY: usize = 64 * 1024;

/// Longest stretch of offending bytes quoted in an error message.
const PREVIEW_LEN: usize = 40;

/// One complete SMTP reply (one or more lines sharing a code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// Text of each line after the code and its separator, without the line ending.
    /// Bytes that are not UTF-8 are replaced with U+FFFD here; `raw` keeps them.
    pub lines: Vec<String>,
    /// The reply exactly as received, line endings included. Serialized as a JSON
    /// string when it is valid UTF-8 and as an array of byte values otherwise.
    #[serde(with = "raw_bytes")]
    pub raw: Vec<u8>,
    /// True when some line had text directly after the code, without the space
    /// or hyphen separator (`220mail.example ESMTP`); that line was taken as final.
    #[serde(default)]
    pub lenient: bool,
}

/// The class of a reply, from the first digit of its code (RFC 5321 section 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// 2yz: the command was accepted.
    PositiveCompletion,
    /// 3yz: the command was accepted, more input is expected.
    PositiveIntermediate,
    /// 4yz: temporary failure.
    TransientNegative,
    /// 5yz: permanent failure.
    PermanentNegative,
}

impl Reply {
    /// The class given by the first digit of the code.
    pub fn class(&self) -> ReplyClass {
        match self.code / 100 {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            // The parser only produces codes 200..=599.
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// 2yz or 3yz.
    pub fn is_positive(&self) -> bool {
        matches!(self.code / 100, 2 | 3)
    }

    /// 2yz: positive completion.
    pub fn is_completion(&self) -> bool {
        self.code / 100 == 2
    }

    /// 4yz or 5yz.
    pub fn is_negative(&self) -> bool {
        matches!(self.code / 100, 4 | 5)
    }

    /// 4yz: transient negative completion.
    pub fn is_transient(&self) -> bool {
        self.code / 100 == 4
    }

    /// 5yz: permanent negative completion.
    pub fn is_permanent(&self) -> bool {
        self.code / 100 == 5
    }

    /// Text of the first line (empty if the line was just the code).
    pub fn first_line(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    /// All line texts joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The raw bytes as text, with non-UTF-8 bytes replaced by U+FFFD.
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

/// Why the byte stream could not be parsed as SMTP replies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplyError {
    /// A reply did not start with a three-digit code 200..=599 (SSH, HTTP, binary...).
    #[error("not an SMTP reply: {preview}")]
    NotSmtp {
        /// The first offending bytes, escaped.
        preview: String,
    },
    /// A continuation line of a multi-line reply did not start with a code.
    #[error("malformed line in multi-line reply: {preview}")]
    Malformed {
        /// The first offending bytes, escaped.
        preview: String,
    },
    /// A line of a multi-line reply carried a different code than the first line.
    #[error("inconsistent reply codes: first line {first}, later line {found}")]
    InconsistentCode {
        /// Code of the first line.
        first: u16,
        /// Code of the offending line.
        found: u16,
    },
    /// The reply grew beyond the configured cap.
    #[error("reply exceeds {limit} bytes")]
    TooLong {
        /// The cap in bytes.
        limit: usize,
    },
    /// The stream ended in the middle of a reply.
    #[error("stream ended inside a reply ({pending} bytes pending)")]
    Truncated {
        /// Bytes of the incomplete reply.
        pending: usize,
    },
}

/// Escape up to [`PREVIEW_LEN`] bytes for an error message.
fn preview(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(PREVIEW_LEN) {
        out.extend(std::ascii::escape_default(b).map(char::from));
    }
    if bytes.len() > PREVIEW_LEN {
        out.push_str("...");
    }
    format!("\"{out}\"")
}

/// A reply whose final line has not arrived yet.
#[derive(Debug)]
struct Partial {
    code: u16,
    lines: Vec<String>,
    raw: Vec<u8>,
    lenient: bool,
}

/// One syntactically valid reply line.
struct Line<'a> {
    code: u16,
    last: bool,
    lenient: bool,
    text: &'a [u8],
}

/// Parse one line (without its line ending). `None` if it does not start with a code.
fn parse_line(content: &[u8]) -> Option<Line<'_>> {
    let code = match content {
        [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return None,
    };
    let (last, lenient, text) = match content.get(3) {
        None => (true, false, &content[3..]),
        Some(b' ') => (true, false, &content[4..]),
        Some(b'-') => (false, false, &content[4..]),
        Some(_) => (true, true, &content[3..]),
    };
    Some(Line {
        code,
        last,
        lenient,
        text,
    })
}

/// True if `partial` (an unterminated line) can still become a reply line or a blank line.
fn plausible_prefix(partial: &[u8]) -> bool {
    match partial {
        [] | [b'\r'] => true,
        _ => partial.iter().take(3).enumerate().all(|(i, &b)| match i {
            0 => (b'2'..=b'5').contains(&b),
            _ => b.is_ascii_digit(),
        }),
    }
}

/// Incremental SMTP reply parser.
///
/// Feed it bytes as they arrive with [`feed`](Self::feed) and take complete replies
/// with [`next_reply`](Self::next_reply). Lines may end in CRLF or a bare LF; blank
/// lines between replies are skipped (their bytes count against the next reply's
/// cap). A line that cannot be a reply line is reported when it ends, or as soon as
/// more than 40 bytes of it have arrived, so results never depend on how the input
/// was split into chunks. Memory held is at most the cap for the reply in progress plus complete
/// replies not yet taken. After the first error the parser ignores further input:
/// an SMTP stream cannot be resynchronised.
#[derive(Debug)]
pub struct ReplyParser {
    max_reply: usize,
    /// Bytes of the current, unterminated line.
    line: Vec<u8>,
    /// The multi-line reply in progress, if its first line is complete.
    current: Option<Partial>,
    /// Bytes counted against the cap for the reply in progress.
    pending: usize,
    ready: VecDeque<Reply>,
    error: Option<ReplyError>,
    error_reported: bool,
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyParser {
    /// A parser with the default cap of [`DEFAULT_MAX_REPLY`] bytes per reply.
    pub fn new() -> Self {
        Self::with_max_reply(DEFAULT_MAX_REPLY)
    }

    /// A parser that fails a reply once it exceeds `max_reply` bytes (at least 1).
    pub fn with_max_reply(max_reply: usize) -> Self {
        Self {
            max_reply: max_reply.max(1),
            line: Vec::new(),
            current: None,
            pending: 0,
            ready: VecDeque::new(),
            error: None,
            error_reported: false,
        }
    }

    /// The per-reply cap in bytes.
    pub fn max_reply(&self) -> usize {
        self.max_reply
    }

    /// True once the stream has been found invalid.
    pub fn is_failed(&self) -> bool {
        self.error.is_some()
    }

    /// Bytes received that do not yet form a complete reply.
    pub fn pending_bytes(&self) -> usize {
        self.pending
    }

    /// Feed received bytes. Complete replies become available from `next_reply`.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.error.is_none() {
            let (segment, rest, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..=i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if self.pending + segment.len() > self.max_reply {
                self.fail(ReplyError::TooLong {
                    limit: self.max_reply,
                });
                return;
            }
            self.pending += segment.len();
            self.line.extend_from_slice(segment);
            if complete {
                let line = std::mem::take(&mut self.line);
                self.complete_line(&line);
                // Reuse the allocation for the next line.
                self.line = line;
                self.line.clear();
            } else if self.line.len() > PREVIEW_LEN && !plausible_prefix(&self.line) {
                // Waiting for a full preview keeps the error text independent of
                // how the bytes were split, while still not waiting for a newline.
                let preview = preview(&self.line);
                self.fail(match self.current {
                    None => ReplyError::NotSmtp { preview },
                    Some(_) => ReplyError::Malformed { preview },
                });
            }
        }
    }

    /// Signal the end of the stream: an unterminated line that carries at least a
    /// full code is accepted as the end of its reply (`220 banner` with no line
    /// ending); anything else left over is a [`ReplyError::Truncated`].
    pub fn finish(&mut self) {
        if self.error.is_some() {
            return;
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            let content = line.strip_suffix(b"\r").unwrap_or(&line);
            // A line cut off inside its code is a truncation, not a syntax error.
            if parse_line(content).is_some() || !plausible_prefix(content) {
                self.complete_line(&line);
            } else {
                self.fail(ReplyError::Truncated {
                    pending: self.pending,
                });
                return;
            }
        }
        if self.error.is_none() && self.current.is_some() {
            self.fail(ReplyError::Truncated {
                pending: self.pending,
            });
        }
    }

    /// Discard all buffered input and any error, as after a TLS upgrade.
    /// Returns the number of unparsed bytes discarded (complete replies not yet taken
    /// are discarded too but not counted).
    pub fn reset(&mut self) -> usize {
        let discarded = self.pending;
        *self = Self::with_max_reply(self.max_reply);
        discarded
    }

    /// The next complete reply, then (once) the error that stopped parsing, if any.
    pub fn next_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        if let Some(reply) = self.ready.pop_front() {
            return Some(Ok(reply));
        }
        match &self.error {
            Some(err) if !self.error_reported => {
                self.error_reported = true;
                Some(Err(err.clone()))
            }
            _ => None,
        }
    }

    fn fail(&mut self, err: ReplyError) {
        self.error = Some(err);
        self.line = Vec::new();
        self.current = None;
    }

    /// Handle one line, with or without its trailing LF.
    fn complete_line(&mut self, raw_line: &[u8]) {
        let content = raw_line.strip_suffix(b"\n").unwrap_or(raw_line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            if let Some(current) = &mut self.current {
                current.raw.extend_from_slice(raw_line);
            }
            return;
        }
        let Some(line) = parse_line(content) else {
            let preview = preview(content);
            self.fail(match self.current {
                None => ReplyError::NotSmtp { preview },
                Some(_) => ReplyError::Malformed { preview },
            });
            return;
        };
        let current = self.current.get_or_insert_with(|| Partial {
            code: line.code,
            lines: Vec::new(),
            raw: Vec::new(),
            lenient: false,
        });
        if current.code != line.code {
            let first = current.code;
            self.fail(ReplyError::InconsistentCode {
                first,
                found: line.code,
            });
            return;
        }
        current
            .lines
            .push(String::from_utf8_lossy(line.text).into_owned());
        current.raw.extend_from_slice(raw_line);
        current.lenient |= line.lenient;
        if line.last {
            let done = self.current.take().expect("reply in progress");
            self.ready.push_back(Reply {
                code: done.code,
                lines: done.lines,
                raw: done.raw,
                lenient: done.lenient,
            });
            self.pending = 0;
        }
    }
}

/// Serde adapter for raw reply bytes: a string when UTF-8, else a byte array.
mod raw_bytes {
    use std::fmt;

    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(raw) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.serialize_bytes(raw),
        }
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an array of bytes")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            Ok(v.as_bytes().to_vec())
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64 * 1024));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(parser: &mut ReplyParser) -> Vec<Result<Reply, ReplyError>> {
        std::iter::from_fn(|| parser.next_reply()).collect()
    }

    fn one(input: &[u8]) -> Result<Reply, ReplyError> {
        let mut p = ReplyParser::new();
        p.feed(input);
        let mut all = parse_all(&mut p);
        assert_eq!(
            all.len(),
            1,
            "expected exactly one item from {input:?}: {all:?}"
        );
        all.remove(0)
    }

    #[test]
    fn single_line_crlf() {
        let r = one(b"220 mail.example.com ESMTP Postfix\r\n").unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec!["mail.example.com ESMTP Postfix"]);
        assert_eq!(r.raw, b"220 mail.example.com ESMTP Postfix\r\n");
        assert!(!r.lenient);
        assert!(r.is_completion() && r.is_positive() && !r.is_negative());
        assert_eq!(r.class(), ReplyClass::PositiveCompletion);
    }

    #[test]
    fn multi_line_reply() {
        let input =
            b"250-mx.example.org Hello\r\n250-SIZE 10240000\r\n250-PIPELINING\r\n250 HELP\r\n";
        let r = one(input).unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(
            r.lines,
            vec![
                "mx.example.org Hello",
                "SIZE 10240000",
                "PIPELINING",
                "HELP"
            ]
        );
        assert_eq!(r.raw, input);
        assert_eq!(r.first_line(), "mx.example.org Hello");
        assert_eq!(
            r.text(),
            "mx.example.org Hello\nSIZE 10240000\nPIPELINING\nHELP"
        );
    }

    #[test]
    fn bare_lf_and_mixed_endings() {
        let input = b"220-first\n220-second\r\n220 third\n";
        let r = one(input).unwrap();
        assert_eq!(r.lines, vec!["first", "second", "third"]);
        assert_eq!(r.raw, input);
    }

    #[test]
    fn final_line_with_only_code() {
        let r = one(b"250-example.net\r\n250\r\n").unwrap();
        assert_eq!(r.lines, vec!["example.net", ""]);
        assert!(!r.lenient);
        let r = one(b"221\n").unwrap();
        assert_eq!(r.code, 221);
        assert_eq!(r.lines, vec![""]);
        assert_eq!(r.first_line(), "");
    }

    #[test]
    fn missing_space_after_code_is_lenient() {
        let r = one(b"220mail.example.com ESMTP\r\n").unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec!["mail.example.com ESMTP"]);
        assert!(r.lenient);
        // A lenient line ends the reply.
        let mut p = ReplyParser::new();
        p.feed(b"250-a\r\n250b\r\n250 c\r\n");
        let all = parse_all(&mut p);
        assert_eq!(all.len(), 2);
        let first = all[0].as_ref().unwrap();
        assert_eq!(first.lines, vec!["a", "b"]);
        assert!(first.lenient);
        assert!(!all[1].as_ref().unwrap().lenient);
    }

    #[test]
    fn non_utf8_bytes_kept_raw() {
        let input = b"220 caf\xe9 \xff\xfe server\r\n";
        let r = one(input).unwrap();
        assert_eq!(r.raw, input);
        assert_eq!(r.lines, vec!["caf\u{fffd} \u{fffd}\u{fffd} server"]);
        assert!(r.raw_text().contains('\u{fffd}'));
    }

    #[test]
    fn inconsistent_codes_are_an_error() {
        let err = one(b"250-one\r\n251 two\r\n").unwrap_err();
        assert_eq!(
            err,
            ReplyError::InconsistentCode {
                first: 250,
                found: 251
            }
        );
        assert!(err.to_string().contains("250") && err.to_string().contains("251"));
    }

    #[test]
    fn not_smtp_detected_without_newline() {
        let long_garbage = [0x80u8; 41];
        for (input, early) in [
            (
                &b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 and more"[..],
                true,
            ),
            (b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22", true),
            (&long_garbage, true),
            (b"\x16\x03\x01\x00\xa5", false),
            (b"\x00\x00", false),
            (b"2x", false),
            (b"600 nope", false),
            (b"150 ftp-ish", false),
        ] {
            let mut p = ReplyParser::new();
            p.feed(input);
            if !early {
                // Short garbage waits for more bytes, a newline or the end.
                assert!(p.next_reply().is_none(), "{input:?}");
                p.finish();
            }
            match p.next_reply() {
                Some(Err(ReplyError::NotSmtp { preview })) => {
                    assert!(!preview.contains('\n'), "one-line error for {input:?}");
                }
                other => panic!("{input:?}: expected NotSmtp, got {other:?}"),
            }
            assert!(p.is_failed());
            // Error reported once, further input ignored.
            p.feed(b"220 ok\r\n");
            assert!(p.next_reply().is_none());
        }
    }

    #[test]
    fn short_garbage_line_is_not_smtp() {
        assert!(matches!(one(b"22\r\n"), Err(ReplyError::NotSmtp { .. })));
        assert!(matches!(one(b"hello\n"), Err(ReplyError::NotSmtp { .. })));
    }

    #[test]
    fn garbage_continuation_is_malformed() {
        let err = one(b"250-ok\r\nPIPELINING\r\n").unwrap_err();
        assert!(matches!(err, ReplyError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn blank_lines_between_replies_are_skipped() {
        let mut p = ReplyParser::new();
        p.feed(b"\r\n220 a\r\n\r\n\n250 b\r\n");
        let all = parse_all(&mut p);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].as_ref().unwrap().raw, b"220 a\r\n");
        assert_eq!(all[1].as_ref().unwrap().raw, b"250 b\r\n");
    }

    #[test]
    fn oversize_reply_is_an_error() {
        let mut p = ReplyParser::with_max_reply(64);
        let line = b"250-xxxxxxxxxxxxxxxxxxxxxxxx\r\n"; // 30 bytes
        p.feed(line);
        p.feed(line);
        assert!(p.next_reply().is_none());
        p.feed(line);
        assert_eq!(p.next_reply(), Some(Err(ReplyError::TooLong { limit: 64 })));
        assert!(p.pending_bytes() <= 64);
    }

    #[test]
    fn reply_of_exactly_the_cap_is_accepted() {
        let input = b"250 0123456789\r\n"; // 16 bytes
        let mut p = ReplyParser::with_max_reply(16);
        p.feed(input);
        p.feed(input);
        assert_eq!(parse_all(&mut p).iter().filter(|r| r.is_ok()).count(), 2);
        let mut p = ReplyParser::with_max_reply(15);
        p.feed(input);
        assert!(matches!(
            p.next_reply(),
            Some(Err(ReplyError::TooLong { .. }))
        ));
    }

    #[test]
    fn endless_line_without_newline_hits_cap() {
        let mut p = ReplyParser::new();
        p.feed(b"220 ");
        let chunk = [b'a'; 1000];
        for _ in 0..200 {
            p.feed(&chunk);
        }
        assert!(p.pending_bytes() <= DEFAULT_MAX_REPLY);
        assert_eq!(
            p.next_reply(),
            Some(Err(ReplyError::TooLong {
                limit: DEFAULT_MAX_REPLY
            }))
        );
    }

    #[test]
    fn endless_blank_lines_hit_cap() {
        let mut p = ReplyParser::with_max_reply(100);
        for _ in 0..100 {
            p.feed(b"\r\n");
        }
        assert!(matches!(
            p.next_reply(),
            Some(Err(ReplyError::TooLong { .. }))
        ));
    }

    #[test]
    fn byte_by_byte_matches_whole() {
        let input: &[u8] =
            b"220-a\xff\n220 b\r\n250-x\r\n250-SIZE\r\n250 y\r\n221mail bye\r\n250-ok\r\n999";
        let mut whole = ReplyParser::new();
        whole.feed(input);
        whole.finish();
        let expected = parse_all(&mut whole);
        assert_eq!(expected.iter().filter(|r| r.is_ok()).count(), 3);
        assert!(matches!(
            expected.last(),
            Some(Err(ReplyError::Malformed { .. }))
        ));
        for split in 1..input.len() {
            let mut p = ReplyParser::new();
            let mut got = Vec::new();
            for chunk in input.chunks(split) {
                p.feed(chunk);
                got.extend(std::iter::from_fn(|| p.next_reply()));
            }
            p.finish();
            got.extend(std::iter::from_fn(|| p.next_reply()));
            assert_eq!(got, expected, "chunk size {split}");
        }
    }

    #[test]
    fn finish_accepts_unterminated_final_line() {
        let mut p = ReplyParser::new();
        p.feed(b"220 no newline");
        assert!(p.next_reply().is_none());
        p.finish();
        let r = p.next_reply().unwrap().unwrap();
        assert_eq!(r.lines, vec!["no newline"]);
        assert_eq!(r.raw, b"220 no newline");
        assert!(p.next_reply().is_none());
    }

    #[test]
    fn finish_with_partial_code_is_truncated() {
        for partial in [&b"2"[..], b"22", b"250-ok\r\n25"] {
            let mut p = ReplyParser::new();
            p.feed(partial);
            p.finish();
            assert!(
                matches!(p.next_reply(), Some(Err(ReplyError::Truncated { .. }))),
                "{partial:?}"
            );
        }
        let mut p = ReplyParser::new();
        p.feed(b"221");
        p.finish();
        assert_eq!(p.next_reply().unwrap().unwrap().code, 221);
    }

    #[test]
    fn finish_inside_multiline_is_truncated() {
        let mut p = ReplyParser::new();
        p.feed(b"250-one\r\n250-tw");
        p.finish();
        assert!(matches!(
            p.next_reply(),
            Some(Err(ReplyError::Truncated { .. }))
        ));
        let mut p = ReplyParser::new();
        p.feed(b"250 done\r\n");
        p.finish();
        assert!(p.next_reply().unwrap().is_ok());
        assert!(p.next_reply().is_none());
    }

    #[test]
    fn reset_discards_buffer() {
        let mut p = ReplyParser::new();
        p.feed(b"220 go ahead\r\n250 injected");
        assert_eq!(p.next_reply().unwrap().unwrap().code, 220);
        assert_eq!(p.reset(), "250 injected".len());
        p.feed(b"250 fresh\r\n");
        assert_eq!(p.next_reply().unwrap().unwrap().lines, vec!["fresh"]);
    }

    #[test]
    fn serde_round_trip_utf8_and_binary() {
        let r = one(b"220 hello\r\n").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["raw"], "220 hello\r\n");
        assert_eq!(json["code"], 220);
        let back: Reply = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);

        let r = one(b"220 \xff\r\n").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["raw"].is_array());
        let back: Reply = serde_json::from_value(json).unwrap();
        assert_eq!(back.raw, b"220 \xff\r\n");
    }
}
