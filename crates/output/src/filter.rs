//! ZMap-style output filter expressions (`--output-filter`).
//!
//! Grammar (precedence from loosest to tightest: `||`, `&&`, `!`):
//!
//! ```text
//! expr       := and ( "||" and )*
//! and        := unary ( "&&" unary )*
//! unary      := "!" unary | "(" expr ")" | comparison
//! comparison := FIELD OP VALUE | BOOLFIELD
//! OP         := "=" | "==" | "!=" | "<" | ">" | "<=" | ">="
//! VALUE      := number | bare word | "double-quoted" | 'single-quoted'
//! ```
//!
//! A filter that is just `*` matches every record.
//!
//! Fields take either their ZMap or their JSON name (`saddr`/`ip`, `sport`/`port`, ...).
//! Values are checked against the field's type when the filter is parsed:
//!
//! - numbers (`sport`, `dport`, `ttl`, `ipid`, `window`, `seqnum`, `acknum`, `icmp_code`):
//!   decimal or `0x` hex within the field's range; all operators.
//! - booleans (`success`, `repeat`, `cooldown`): `1`, `0`, `true`, `false`; all operators
//!   (true = 1). A boolean field alone is a test for true: `success && !repeat`.
//! - addresses (`saddr`, `daddr`, `icmp_responder`): a dotted IPv4 address (all operators,
//!   numeric order) or a CIDR block like `198.18.0.0/15` (only `=`, `!=`: membership).
//! - `classification`: `synack`, `rst` or `icmp-unreach`; only `=` and `!=`.
//! - `timestamp_str`: compared as text, which for this fixed-width format is time order, so a
//!   prefix such as `timestamp >= 2026-11-30T09` works.
//!
//! A comparison on an absent value (the ICMP fields of a TCP response) is false whatever the
//! operator; use `!(icmp_code = 3)` for "not port-unreachable".

use std::cmp::Ordering;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::field::{Field, FieldKind, FieldValue, known_names};
use crate::record::{Classification, ScanRecord};

/// Maximum nesting of parentheses and `!`.
pub const MAX_DEPTH: usize = 64;

/// Comparison operator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CmpOp {
    /// `=` or `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

impl CmpOp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Self::Eq => ord.is_eq(),
            Self::Ne => ord.is_ne(),
            Self::Lt => ord.is_lt(),
            Self::Gt => ord.is_gt(),
            Self::Le => ord.is_le(),
            Self::Ge => ord.is_ge(),
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Gt => ">",
            Self::Le => "<=",
            Self::Ge => ">=",
        })
    }
}

/// A type-checked comparison value.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Operand {
    /// Numbers and booleans (as 0/1).
    Number(u64),
    Address(u32),
    Network {
        base: u32,
        mask: u32,
    },
    Class(Classification),
    Text(String),
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Expr {
    True,
    Cmp {
        field: Field,
        op: CmpOp,
        value: Operand,
    },
    Flag(Field),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    fn eval(&self, r: &ScanRecord) -> bool {
        match self {
            Expr::True => true,
            Expr::Cmp { field, op, value } => compare(field.value(r), *op, value),
            Expr::Flag(field) => matches!(field.value(r), FieldValue::Bool(true)),
            Expr::Not(e) => !e.eval(r),
            Expr::And(es) => es.iter().all(|e| e.eval(r)),
            Expr::Or(es) => es.iter().any(|e| e.eval(r)),
        }
    }
}

fn compare(actual: FieldValue<'_>, op: CmpOp, want: &Operand) -> bool {
    match (actual, want) {
        (FieldValue::Number(n), Operand::Number(v)) => op.holds(n.cmp(v)),
        (FieldValue::Bool(b), Operand::Number(v)) => op.holds(u64::from(b).cmp(v)),
        (FieldValue::Address(a), Operand::Address(v)) => op.holds(u32::from(a).cmp(v)),
        (FieldValue::Address(a), Operand::Network { base, mask }) => {
            let inside = u32::from(a) & mask == *base;
            match op {
                CmpOp::Eq => inside,
                CmpOp::Ne => !inside,
                _ => false,
            }
        }
        (FieldValue::Text(t), Operand::Class(c)) => op.holds(t.cmp(c.as_str())),
        (FieldValue::Text(t), Operand::Text(s)) => op.holds(t.cmp(s.as_str())),
        // Absent optional values, and combinations the parser never builds.
        _ => false,
    }
}

/// A parsed `--output-filter` expression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Filter {
    source: String,
    expr: Expr,
}

/// The source text of [`Filter::default_filter`].
pub const DEFAULT_FILTER: &str = "success = 1 && repeat = 0";

impl Filter {
    /// Parses a filter expression; see the module documentation for the language.
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        if s.trim() == "*" {
            return Ok(Self::match_all());
        }
        let tokens = lex(s)?;
        let mut p = Parser {
            tokens: &tokens,
            pos: 0,
            end_column: s.chars().count() + 1,
        };
        if tokens.is_empty() {
            return Err(FilterError {
                column: 1,
                kind: FilterErrorKind::Empty,
            });
        }
        let expr = p.or(0)?;
        if let Some(t) = p.peek() {
            return Err(t.unexpected("'&&', '||' or end of expression"));
        }
        Ok(Filter {
            source: s.to_owned(),
            expr,
        })
    }

    /// The default filter: `success = 1 && repeat = 0` (open ports, first response only).
    pub fn default_filter() -> Filter {
        let cmp = |field, v| Expr::Cmp {
            field,
            op: CmpOp::Eq,
            value: Operand::Number(v),
        };
        Filter {
            source: DEFAULT_FILTER.to_owned(),
            expr: Expr::And(vec![cmp(Field::Success, 1), cmp(Field::Repeat, 0)]),
        }
    }

    /// A filter that passes every record (source text `*`).
    pub fn match_all() -> Filter {
        Filter {
            source: "*".to_owned(),
            expr: Expr::True,
        }
    }

    /// Whether `r` passes the filter.
    pub fn matches(&self, r: &ScanRecord) -> bool {
        self.expr.eval(r)
    }

    /// The expression as given to [`parse`](Self::parse).
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl Default for Filter {
    fn default() -> Self {
        Self::default_filter()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

/// A filter syntax or type error, with the 1-based character column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid output filter at column {column}: {kind}")]
pub struct FilterError {
    /// 1-based character column in the expression (one past the end for a truncated one).
    pub column: usize,
    /// What is wrong.
    pub kind: FilterErrorKind,
}

/// The kinds of [`FilterError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    /// Nothing but whitespace.
    #[error("empty expression")]
    Empty,
    /// The expression stopped early.
    #[error("unexpected end of expression, expected {expected}")]
    UnexpectedEnd {
        /// What the parser needed.
        expected: &'static str,
    },
    /// A token where something else was needed.
    #[error("unexpected {found}, expected {expected}")]
    Unexpected {
        /// The token found, quoted.
        found: String,
        /// What the parser needed.
        expected: &'static str,
    },
    /// A single `&` or `|`.
    #[error("single '{0}' (use '{0}{0}')")]
    LoneOperator(char),
    /// A quote without its closing quote.
    #[error("unterminated quoted string")]
    UnterminatedString,
    /// A field name that does not exist.
    #[error("unknown field {0:?} (known: {known})", known = known_names())]
    UnknownField(String),
    /// A value of the wrong type for the field.
    #[error("field {field} expects {expected}, found {found:?}")]
    BadValue {
        /// The field compared.
        field: Field,
        /// The value given.
        found: String,
        /// The values the field accepts.
        expected: &'static str,
    },
    /// A number beyond the field's range.
    #[error("value {value} is out of range for field {field} (0 to {max})")]
    OutOfRange {
        /// The field compared.
        field: Field,
        /// The value given.
        value: u64,
        /// The field's maximum.
        max: u64,
    },
    /// An ordering operator on a field (or value) that only supports equality.
    #[error("operator '{op}' cannot compare {what} (only = and != can)")]
    OperatorNotSupported {
        /// The operator used.
        op: CmpOp,
        /// What was compared, e.g. "field classification".
        what: String,
    },
    /// A non-boolean field with no comparison.
    #[error("field {0} needs a comparison, e.g. '{0} = value'")]
    NeedsComparison(Field),
    /// More than [`MAX_DEPTH`] nested parentheses or `!`.
    #[error("expression nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Tok {
    /// A bare word: field name, number, address, classification, ...
    Word(String),
    /// A quoted string (quotes removed, escapes resolved).
    Quoted(String),
    LParen,
    RParen,
    Not,
    And,
    Or,
    Op(CmpOp),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    column: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Quoted(q) => format!("string {q:?}"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Not => "'!'".into(),
            Tok::And => "'&&'".into(),
            Tok::Or => "'||'".into(),
            Tok::Op(op) => format!("'{op}'"),
        }
    }

    fn unexpected(&self, expected: &'static str) -> FilterError {
        FilterError {
            column: self.column,
            kind: FilterErrorKind::Unexpected {
                found: self.describe(),
                expected,
            },
        }
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()!=<>&|\"'".contains(c)
}

fn lex(s: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '!' if next == Some('=') => (Tok::Op(CmpOp::Ne), 2),
            '!' => (Tok::Not, 1),
            '=' if next == Some('=') => (Tok::Op(CmpOp::Eq), 2),
            '=' => (Tok::Op(CmpOp::Eq), 1),
            '<' if next == Some('=') => (Tok::Op(CmpOp::Le), 2),
            '<' => (Tok::Op(CmpOp::Lt), 1),
            '>' if next == Some('=') => (Tok::Op(CmpOp::Ge), 2),
            '>' => (Tok::Op(CmpOp::Gt), 1),
            '&' | '|' if next == Some(c) => (if c == '&' { Tok::And } else { Tok::Or }, 2),
            '&' | '|' => {
                return Err(FilterError {
                    column,
                    kind: FilterErrorKind::LoneOperator(c),
                });
            }
            '"' | '\'' => {
                let mut text = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(FilterError {
                                column,
                                kind: FilterErrorKind::UnterminatedString,
                            });
                        }
                        Some(&q) if q == c => break,
                        Some('\\') if j + 1 < chars.len() => {
                            text.push(chars[j + 1]);
                            j += 2;
                        }
                        Some(&other) => {
                            text.push(other);
                            j += 1;
                        }
                    }
                }
                (Tok::Quoted(text), j + 1 - i)
            }
            _ => {
                let len = chars[i..].iter().take_while(|&&c| is_word_char(c)).count();
                (Tok::Word(chars[i..i + len].iter().collect()), len)
            }
        };
        out.push(Token { tok, column });
        i += len;
    }
    Ok(out)
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    end_column: usize,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self, expected: &'static str) -> Result<&'t Token, FilterError> {
        let t = self.tokens.get(self.pos).ok_or(FilterError {
            column: self.end_column,
            kind: FilterErrorKind::UnexpectedEnd { expected },
        })?;
        self.pos += 1;
        Ok(t)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().is_some_and(|t| t.tok == *tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.and(depth)?];
        while self.eat(&Tok::Or) {
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        while self.eat(&Tok::And) {
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        const EXPECTED: &str = "a field name, '(' or '!'";
        let t = self.next(EXPECTED)?;
        if depth >= MAX_DEPTH && matches!(t.tok, Tok::Not | Tok::LParen) {
            return Err(FilterError {
                column: t.column,
                kind: FilterErrorKind::TooDeep,
            });
        }
        match &t.tok {
            Tok::Not => Ok(Expr::Not(Box::new(self.unary(depth + 1)?))),
            Tok::LParen => {
                let e = self.or(depth + 1)?;
                let close = self.next("')'")?;
                if close.tok != Tok::RParen {
                    return Err(close.unexpected("')'"));
                }
                Ok(e)
            }
            Tok::Word(name) => self.comparison(name, t.column),
            _ => Err(t.unexpected(EXPECTED)),
        }
    }

    fn comparison(&mut self, name: &str, column: usize) -> Result<Expr, FilterError> {
        let field = Field::from_name(name).ok_or_else(|| FilterError {
            column,
            kind: FilterErrorKind::UnknownField(name.to_owned()),
        })?;
        let op = match self.peek() {
            Some(Token {
                tok: Tok::Op(op), ..
            }) => {
                self.pos += 1;
                *op
            }
            _ if field.kind() == FieldKind::Bool => return Ok(Expr::Flag(field)),
            _ => {
                return Err(FilterError {
                    column,
                    kind: FilterErrorKind::NeedsComparison(field),
                });
            }
        };
        let t = self.next("a value")?;
        let text = match &t.tok {
            Tok::Word(w) => w,
            Tok::Quoted(q) => q,
            _ => return Err(t.unexpected("a value")),
        };
        let value = operand(field, op, text).map_err(|kind| FilterError {
            column: t.column,
            kind,
        })?;
        Ok(Expr::Cmp { field, op, value })
    }
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Type-checks `text` as a value for `field` compared with `op`.
fn operand(field: Field, op: CmpOp, text: &str) -> Result<Operand, FilterErrorKind> {
    let bad = |expected| FilterErrorKind::BadValue {
        field,
        found: text.to_owned(),
        expected,
    };
    let equality_only = |what: String| {
        if matches!(op, CmpOp::Eq | CmpOp::Ne) {
            Ok(())
        } else {
            Err(FilterErrorKind::OperatorNotSupported { op, what })
        }
    };
    match field.kind() {
        FieldKind::Number => {
            let v = parse_number(text).ok_or_else(|| bad("a number"))?;
            let max = field.max_value().unwrap_or(u64::MAX);
            if v > max {
                return Err(FilterErrorKind::OutOfRange {
                    field,
                    value: v,
                    max,
                });
            }
            Ok(Operand::Number(v))
        }
        FieldKind::Bool => match text {
            "1" | "true" => Ok(Operand::Number(1)),
            "0" | "false" => Ok(Operand::Number(0)),
            _ => Err(bad("1, 0, true or false")),
        },
        FieldKind::Address => {
            if let Some((addr, len)) = text.split_once('/') {
                let expected = "an IPv4 address or CIDR block";
                let base: Ipv4Addr = addr.parse().map_err(|_| bad(expected))?;
                let len: u32 = len
                    .parse()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| bad(expected))?;
                equality_only(format!("CIDR block {text}"))?;
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                Ok(Operand::Network {
                    base: u32::from(base) & mask,
                    mask,
                })
            } else {
                let a: Ipv4Addr = text
                    .parse()
                    .map_err(|_| bad("an IPv4 address or CIDR block"))?;
                Ok(Operand::Address(a.into()))
            }
        }
        FieldKind::Classification => {
            let c: Classification = text
                .parse()
                .map_err(|_| bad("synack, rst or icmp-unreach"))?;
            equality_only(format!("field {field}"))?;
            Ok(Operand::Class(c))
        }
        FieldKind::Text => Ok(Operand::Text(text.to_owned())),
    }
}
