//! Translation of Recog's Ruby (Onigmo) regular expressions into the syntax of
//! Rust's `regex` crate.
//!
//! The translated pattern is compiled as a *bytes* regex with Unicode mode off,
//! multi-line mode on (Ruby's `^`/`$` are always line anchors), and the
//! case/dot flags taken from the fingerprint's `flags` attribute. Differences
//! that matter are rewritten here:
//!
//! | Ruby                         | emitted                                        |
//! |------------------------------|------------------------------------------------|
//! | `(?m)` / `(?m:` (dot-all)    | `(?s)` / `(?s:`                                |
//! | `\h`, `\H`                   | `[0-9A-Fa-f]`, `[^0-9A-Fa-f]`                  |
//! | `\Z`                         | `(?:\n?\z)` (consumes a final newline)         |
//! | `\e`, `\cX`, `\0oo`, `\xH`   | `\x{..}`                                       |
//! | `\uHHHH`, `\u{..}`           | the literal character                          |
//! | `{,n}`                       | `{0,n}`                                        |
//! | `{` not starting a quantifier| `\{`                                           |
//! | `(?<name>..)`, `(?'name'..)` | `(?P<name>..)`; plain `(..)` then stop capturing, as in Onigmo |
//! | non-ASCII literal `é`        | `(?u:é)` (Unicode case folding for that char)  |
//! | class with non-ASCII members | `(?u:[...])`                                   |
//! | `\d \w \s` inside classes    | explicit ASCII ranges                          |
//!
//! Constructs Rust's engine cannot express (look-around, back-references,
//! atomic groups, possessive quantifiers, `\G`, `\K`, subexpression calls) are
//! rejected with [`TranslateError`]; none occur in Recog's database.

use std::fmt;

/// Why a Ruby pattern could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError {
    /// Character offset in the Ruby pattern.
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

impl std::error::Error for TranslateError {}

const HEX: &str = "0-9A-Fa-f";
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0B\\x0C\\r ";

const POSIX: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "xdigit", "word",
];

/// Translate a Ruby regular expression into Rust `regex` syntax.
pub fn translate(pattern: &str) -> Result<String, TranslateError> {
    let chars: Vec<char> = pattern.chars().collect();
    let named = has_named_groups(&chars);
    let mut t = Translator {
        c: &chars,
        i: 0,
        out: String::with_capacity(pattern.len() + 16),
        named,
    };
    t.run()?;
    Ok(t.out)
}

/// Onigmo turns plain groups into non-capturing ones once a named group exists.
fn has_named_groups(c: &[char]) -> bool {
    let mut i = 0;
    let mut in_class = 0usize;
    while i < c.len() {
        match c[i] {
            '\\' => i += 1,
            '[' => in_class += 1,
            ']' if in_class > 0 => in_class -= 1,
            '(' if in_class == 0 && c.get(i + 1) == Some(&'?') => {
                match (c.get(i + 2), c.get(i + 3)) {
                    (Some('<'), Some(n)) if *n != '=' && *n != '!' => return true,
                    (Some('\''), _) => return true,
                    _ => {}
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

struct Translator<'a> {
    c: &'a [char],
    i: usize,
    out: String,
    named: bool,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, TranslateError> {
    Err(TranslateError {
        offset,
        message: message.into(),
    })
}

fn is_rust_meta(ch: char) -> bool {
    regex_syntax::is_meta_character(ch)
}

/// Emit `ch` as a literal outside a class.
fn push_literal(out: &mut String, ch: char) {
    if !ch.is_ascii() {
        out.push_str("(?u:");
        out.push(ch);
        out.push(')');
    } else if is_rust_meta(ch) {
        out.push('\\');
        out.push(ch);
    } else if ch.is_ascii_graphic() || ch == ' ' {
        out.push(ch);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", ch as u32));
    }
}

/// Emit `ch` as a literal inside a class.
fn push_class_literal(out: &mut String, ch: char) {
    if !ch.is_ascii() {
        out.push(ch);
    } else if is_rust_meta(ch) {
        out.push('\\');
        out.push(ch);
    } else if ch.is_ascii_graphic() || ch == ' ' {
        out.push(ch);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", ch as u32));
    }
}

impl Translator<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.c.get(self.i + k).copied()
    }

    fn run(&mut self) -> Result<(), TranslateError> {
        while self.i < self.c.len() {
            let ch = self.c[self.i];
            match ch {
                '\\' => self.escape()?,
                '[' => {
                    let class = self.class()?;
                    self.out.push_str(&class);
                }
                '(' => self.group()?,
                '{' => self.brace()?,
                '*' | '+' | '?' => {
                    self.out.push(ch);
                    self.i += 1;
                    self.after_quantifier(ch)?;
                }
                '.' => {
                    // Ruby's `.` consumes a whole character of a UTF-8 string
                    // and a single byte of a binary one. Before `*`/`+` the
                    // difference cannot change a match, elsewhere (`.`, `.?`,
                    // `.{n,m}`) prefer a whole UTF-8 character, else a byte.
                    if matches!(self.peek(1), Some('*') | Some('+')) {
                        self.out.push('.');
                    } else {
                        self.out.push_str("(?:(?u:.)|.)");
                    }
                    self.i += 1;
                }
                ')' | '|' | '^' | '$' => {
                    self.out.push(ch);
                    self.i += 1;
                }
                '}' | ']' => {
                    self.out.push('\\');
                    self.out.push(ch);
                    self.i += 1;
                }
                _ => {
                    push_literal(&mut self.out, ch);
                    self.i += 1;
                }
            }
        }
        Ok(())
    }

    /// Called right after a quantifier was emitted: handle lazy `?` and reject
    /// possessive `+`.
    fn after_quantifier(&mut self, q: char) -> Result<(), TranslateError> {
        match self.peek(0) {
            Some('?') => {
                self.out.push('?');
                self.i += 1;
            }
            Some('+') if q != '}' => {
                return err(self.i, "possessive quantifier is not supported");
            }
            Some('+') => {
                return err(
                    self.i,
                    "a quantifier directly after an interval is not supported",
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn brace(&mut self) -> Result<(), TranslateError> {
        // A quantifier is `{n}`, `{n,}`, `{n,m}` or `{,m}`; anything else is a literal.
        let start = self.i;
        let mut j = self.i + 1;
        let mut min = String::new();
        while j < self.c.len() && self.c[j].is_ascii_digit() {
            min.push(self.c[j]);
            j += 1;
        }
        let mut max: Option<String> = None;
        if j < self.c.len() && self.c[j] == ',' {
            j += 1;
            let mut m = String::new();
            while j < self.c.len() && self.c[j].is_ascii_digit() {
                m.push(self.c[j]);
                j += 1;
            }
            max = Some(m);
        }
        let closes = j < self.c.len() && self.c[j] == '}';
        let valid = closes && (!min.is_empty() || max.as_ref().is_some_and(|m| !m.is_empty()));
        if !valid {
            self.out.push_str("\\{");
            self.i = start + 1;
            return Ok(());
        }
        self.out.push('{');
        self.out.push_str(if min.is_empty() { "0" } else { &min });
        if let Some(m) = max {
            self.out.push(',');
            self.out.push_str(&m);
        }
        self.out.push('}');
        self.i = j + 1;
        self.after_quantifier('}')
    }

    fn group(&mut self) -> Result<(), TranslateError> {
        let start = self.i;
        if self.peek(1) != Some('?') {
            self.out.push_str(if self.named { "(?:" } else { "(" });
            self.i += 1;
            return Ok(());
        }
        match self.peek(2) {
            Some(':') => {
                self.out.push_str("(?:");
                self.i += 3;
            }
            Some('=') | Some('!') => return err(start, "look-ahead is not supported"),
            Some('>') => return err(start, "atomic group is not supported"),
            Some('~') => return err(start, "absence operator is not supported"),
            Some('#') => {
                // Comment group: skip to the closing parenthesis.
                let mut j = self.i + 3;
                while j < self.c.len() && self.c[j] != ')' {
                    j += 1;
                }
                if j >= self.c.len() {
                    return err(start, "unterminated comment group");
                }
                self.i = j + 1;
            }
            Some('<') if matches!(self.peek(3), Some('=') | Some('!')) => {
                return err(start, "look-behind is not supported");
            }
            Some('<') | Some('\'') => {
                let close = if self.peek(2) == Some('<') { '>' } else { '\'' };
                let mut j = self.i + 3;
                let mut name = String::new();
                while j < self.c.len() && self.c[j] != close {
                    name.push(self.c[j]);
                    j += 1;
                }
                if j >= self.c.len() || name.is_empty() {
                    return err(start, "unterminated group name");
                }
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    || name.starts_with(|c: char| c.is_ascii_digit())
                {
                    return err(start, format!("invalid group name '{name}'"));
                }
                self.out.push_str("(?P<");
                self.out.push_str(&name);
                self.out.push('>');
                self.i = j + 1;
            }
            _ => {
                // Option flags: (?imx-imx) or (?imx-imx:...)
                let mut j = self.i + 2;
                let mut flags = String::new();
                while j < self.c.len() {
                    match self.c[j] {
                        'i' => flags.push('i'),
                        'm' => flags.push('s'),
                        'x' => flags.push('x'),
                        '-' => flags.push('-'),
                        ':' | ')' => break,
                        other => {
                            return err(j, format!("unsupported group option '{other}'"));
                        }
                    }
                    j += 1;
                }
                if j >= self.c.len() {
                    return err(start, "unterminated group options");
                }
                let term = self.c[j];
                let flags = flags.trim_end_matches('-').to_string();
                if flags.is_empty() || flags == "-" {
                    if term == ':' {
                        self.out.push_str("(?:");
                    }
                } else {
                    self.out.push_str("(?");
                    self.out.push_str(&flags);
                    self.out.push(term);
                }
                self.i = j + 1;
            }
        }
        Ok(())
    }

    /// Read hex digits (at most `max`), returning the value.
    fn hex_digits(&mut self, max: usize) -> Option<u32> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            match self.peek(0).and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v.checked_mul(16)?.checked_add(d)?;
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    }

    /// Parse the escape at `self.i` (a backslash). Returns what it denotes.
    fn read_escape(&mut self, in_class: bool) -> Result<Esc, TranslateError> {
        let start = self.i;
        self.i += 1;
        let Some(d) = self.peek(0) else {
            return err(start, "trailing backslash");
        };
        self.i += 1;
        let e = match d {
            'h' => Esc::Set(HEX, false),
            'H' => Esc::Set(HEX, true),
            'd' => Esc::Set(DIGIT, false),
            'D' => Esc::Set(DIGIT, true),
            'w' => Esc::Set(WORD, false),
            'W' => Esc::Set(WORD, true),
            's' => Esc::Set(SPACE, false),
            'S' => Esc::Set(SPACE, true),
            'n' => Esc::Char('\n'),
            't' => Esc::Char('\t'),
            'r' => Esc::Char('\r'),
            'f' => Esc::Char('\x0C'),
            'v' => Esc::Char('\x0B'),
            'a' => Esc::Char('\x07'),
            'e' => Esc::Char('\x1B'),
            'b' if in_class => Esc::Char('\x08'),
            'A' | 'z' | 'b' | 'B' => Esc::Raw(format!("\\{d}")),
            'Z' => Esc::Raw("(?:\\n?\\z)".to_string()),
            'R' => Esc::Raw("(?:\\r\\n|[\\n\\x0B\\x0C\\r])".to_string()),
            'G' => return err(start, "\\G is not supported"),
            'K' => return err(start, "\\K is not supported"),
            'X' => return err(start, "\\X is not supported"),
            'k' => return err(start, "named back-reference is not supported"),
            'g' => return err(start, "subexpression call is not supported"),
            'p' | 'P' => {
                if self.peek(0) != Some('{') {
                    return err(start, "malformed \\p escape");
                }
                let mut s = format!("\\{d}");
                while let Some(c) = self.peek(0) {
                    s.push(c);
                    self.i += 1;
                    if c == '}' {
                        break;
                    }
                }
                Esc::Unicode(s)
            }
            '1'..='9' => return err(start, "back-reference is not supported"),
            '0' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 2 {
                    match self.peek(0).and_then(|c| c.to_digit(8)) {
                        Some(o) => {
                            v = v * 8 + o;
                            self.i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                Esc::Byte(v as u8)
            }
            'x' => {
                if self.peek(0) == Some('{') {
                    self.i += 1;
                    let v = self.hex_digits(8);
                    if self.peek(0) != Some('}') {
                        return err(start, "malformed \\x{...} escape");
                    }
                    self.i += 1;
                    match v.and_then(char::from_u32) {
                        Some(c) if (c as u32) < 0x80 => Esc::Char(c),
                        Some(c) => Esc::Char(c),
                        None => return err(start, "invalid \\x{...} code point"),
                    }
                } else {
                    match self.hex_digits(2) {
                        Some(v) => Esc::Byte(v as u8),
                        None => return err(start, "malformed \\x escape"),
                    }
                }
            }
            'u' => {
                let v = if self.peek(0) == Some('{') {
                    self.i += 1;
                    let v = self.hex_digits(6);
                    if self.peek(0) != Some('}') {
                        return err(start, "malformed \\u{...} escape");
                    }
                    self.i += 1;
                    v
                } else {
                    let before = self.i;
                    let v = self.hex_digits(4);
                    if self.i - before != 4 {
                        return err(start, "malformed \\u escape");
                    }
                    v
                };
                match v.and_then(char::from_u32) {
                    Some(c) => Esc::Char(c),
                    None => return err(start, "invalid \\u code point"),
                }
            }
            'c' => match self.peek(0) {
                Some(c) if c.is_ascii() => {
                    self.i += 1;
                    Esc::Byte((c as u8) & 0x1F)
                }
                _ => return err(start, "malformed \\c escape"),
            },
            'M' | 'C' => return err(start, "meta/control escapes are not supported"),
            other => Esc::Char(other),
        };
        Ok(e)
    }

    fn escape(&mut self) -> Result<(), TranslateError> {
        match self.read_escape(false)? {
            Esc::Set(set, neg) => {
                self.out.push('[');
                if neg {
                    self.out.push('^');
                }
                self.out.push_str(set);
                self.out.push(']');
            }
            Esc::Char(c) => push_literal(&mut self.out, c),
            Esc::Byte(b) => {
                if b < 0x80 {
                    push_literal(&mut self.out, b as char);
                } else {
                    self.out.push_str(&format!("\\x{b:02X}"));
                }
            }
            Esc::Raw(s) => self.out.push_str(&s),
            Esc::Unicode(s) => {
                self.out.push_str("(?u:");
                self.out.push_str(&s);
                self.out.push(')');
            }
        }
        Ok(())
    }

    /// Translate a bracket expression starting at `self.i` (`[`).
    fn class(&mut self) -> Result<String, TranslateError> {
        let mut unicode = false;
        let body = self.class_inner(&mut unicode)?;
        Ok(if unicode {
            format!("(?u:{body})")
        } else {
            body
        })
    }

    fn class_inner(&mut self, unicode: &mut bool) -> Result<String, TranslateError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::from("[");
        if self.peek(0) == Some('^') {
            out.push('^');
            self.i += 1;
        }
        // Items, with a one-item look-behind for ranges.
        let mut first = true;
        // Last emitted single character that may start a range.
        let mut last_char: Option<char> = None;
        loop {
            let Some(ch) = self.peek(0) else {
                return err(start, "unterminated character class");
            };
            if ch == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            match ch {
                '[' if self.peek(1) == Some(':') => {
                    // POSIX bracket expression [:name:] or [:^name:]
                    let mut j = self.i + 2;
                    let mut name = String::new();
                    while j < self.c.len() && self.c[j] != ':' && self.c[j] != ']' {
                        name.push(self.c[j]);
                        j += 1;
                    }
                    if j + 1 < self.c.len() && self.c[j] == ':' && self.c[j + 1] == ']' {
                        let bare = name.strip_prefix('^').unwrap_or(&name);
                        if !POSIX.contains(&bare) {
                            return err(self.i, format!("unknown POSIX class [:{name}:]"));
                        }
                        out.push_str(&format!("[:{name}:]"));
                        self.i = j + 2;
                        last_char = None;
                        continue;
                    }
                    // Not a POSIX class: a nested class starting with ':'.
                    let nested = self.class_inner(unicode)?;
                    out.push_str(&nested);
                    last_char = None;
                }
                '[' => {
                    let nested = self.class_inner(unicode)?;
                    out.push_str(&nested);
                    last_char = None;
                }
                '&' if self.peek(1) == Some('&') => {
                    out.push_str("&&");
                    self.i += 2;
                    last_char = None;
                }
                '-' => {
                    // A range if it sits between two single characters.
                    let next = self.peek(1);
                    let range_end = match next {
                        Some(']') | None => None,
                        Some('[') => None,
                        Some('\\') => {
                            let save = self.i;
                            self.i += 1;
                            let e = self.read_escape(true)?;
                            let r = match e {
                                Esc::Char(c) => Some((c, self.i)),
                                Esc::Byte(b) if b < 0x80 => Some((b as char, self.i)),
                                _ => None,
                            };
                            self.i = save;
                            r
                        }
                        Some(c) => Some((c, self.i + 2)),
                    };
                    match (last_char, range_end) {
                        (Some(lo), Some((hi, after))) => {
                            if hi < lo {
                                return err(self.i, "invalid range in character class");
                            }
                            out.push('-');
                            push_class_literal(&mut out, hi);
                            if !hi.is_ascii() {
                                *unicode = true;
                            }
                            self.i = after;
                            last_char = None;
                        }
                        _ => {
                            out.push_str("\\-");
                            self.i += 1;
                            last_char = None;
                        }
                    }
                }
                '\\' => match self.read_escape(true)? {
                    Esc::Set(set, neg) => {
                        if neg {
                            out.push_str("[^");
                            out.push_str(set);
                            out.push(']');
                        } else {
                            out.push_str(set);
                        }
                        last_char = None;
                    }
                    Esc::Char(c) => {
                        push_class_literal(&mut out, c);
                        if !c.is_ascii() {
                            *unicode = true;
                        }
                        last_char = Some(c);
                    }
                    Esc::Byte(b) => {
                        if b < 0x80 {
                            push_class_literal(&mut out, b as char);
                            last_char = Some(b as char);
                        } else {
                            out.push_str(&format!("\\x{b:02X}"));
                            last_char = None;
                        }
                    }
                    Esc::Unicode(s) => {
                        out.push_str(&s);
                        *unicode = true;
                        last_char = None;
                    }
                    Esc::Raw(_) => {
                        return err(self.i, "anchor escape inside a character class");
                    }
                },
                c => {
                    push_class_literal(&mut out, c);
                    if !c.is_ascii() {
                        *unicode = true;
                    }
                    last_char = Some(c);
                    self.i += 1;
                }
            }
        }
        out.push(']');
        Ok(out)
    }
}

enum Esc {
    /// A set of ASCII ranges (class body syntax), possibly negated.
    Set(&'static str, bool),
    /// A single character.
    Char(char),
    /// A single byte (from `\xHH` or octal escapes).
    Byte(u8),
    /// Pass-through Rust syntax (anchors).
    Raw(String),
    /// A Unicode property escape.
    Unicode(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> String {
        translate(p).unwrap()
    }

    #[test]
    fn flags_and_groups() {
        assert_eq!(t("(?m:a.*b)"), "(?s:a.*b)");
        assert_eq!(t("a.b"), "a(?:(?u:.)|.)b");
        assert_eq!(t("(?im)x"), "(?is)x");
        assert_eq!(t("(?i)x"), "(?i)x");
        assert_eq!(t("(?:x)"), "(?:x)");
        assert_eq!(t("(?<ver>\\d+)"), "(?P<ver>[0-9]+)");
        // With a named group, plain groups stop capturing (Onigmo).
        assert_eq!(t("(a)(?<v>b)"), "(?:a)(?P<v>b)");
        assert_eq!(t("(?#c)a"), "a");
    }

    #[test]
    fn escapes() {
        assert_eq!(t("\\h+"), "[0-9A-Fa-f]+");
        assert_eq!(t("\\@\\:\\_"), "@:_");
        assert_eq!(t("\\x04\\xff"), "\\x{4}\\xFF");
        assert_eq!(t("\\Z"), "(?:\\n?\\z)");
        assert_eq!(t("\\e"), "\\x{1B}");
        assert_eq!(t("\\u00e9"), "(?u:é)");
        assert_eq!(t("\\."), "\\.");
    }

    #[test]
    fn braces() {
        assert_eq!(t("a{,3}"), "a{0,3}");
        assert_eq!(t("a{2}b{1,512}?"), "a{2}b{1,512}?");
        assert_eq!(t("{foo}"), "\\{foo\\}");
        assert_eq!(t("a{"), "a\\{");
    }

    #[test]
    fn classes() {
        assert_eq!(t("[\\w.-]"), "[0-9A-Za-z_\\.\\-]");
        assert_eq!(t("[a-f\\d.:]"), "[a-f0-9\\.:]");
        assert_eq!(t("[^\\]]"), "[^\\]]");
        assert_eq!(t("[]a]"), "[\\]a]");
        assert_eq!(t("[[:alpha:]_]"), "[[:alpha:]_]");
        assert_eq!(t("[\\S]"), "[[^\\t\\n\\x0B\\x0C\\r ]]");
        assert_eq!(t("[éa]"), "(?u:[éa])");
        assert_eq!(t("[a-z&&[^x]]"), "[a-z&&[^x]]");
        assert_eq!(t("[\\x00-\\x1f]"), "[\\x{0}-\\x{1F}]");
        assert_eq!(t("[~-]"), "[\\~\\-]");
    }

    #[test]
    fn unsupported_constructs_are_errors() {
        for p in [
            "a(?=b)", "(?!x)", "(?<=a)b", "(?<!a)b", "(a)\\1", "a++", "(?>a)", "\\G", "\\k<x>",
        ] {
            let e = translate(p).unwrap_err();
            assert!(e.to_string().contains("not supported"), "{p}: {e}");
        }
        assert!(translate("[abc").is_err());
        assert!(translate("abc\\").is_err());
    }
}
