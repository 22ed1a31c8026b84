//! Reading Recog's XML format into plain structs (no regex work here).

use crate::error::LoadError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// `<fingerprints>` element.
#[derive(Debug, Default)]
pub(crate) struct RawDb {
    pub matches: Option<String>,
    pub protocol: Option<String>,
    pub database_type: Option<String>,
    pub preference: Option<String>,
    pub fingerprints: Vec<RawFp>,
}

/// `<fingerprint>` element.
#[derive(Debug, Default)]
pub(crate) struct RawFp {
    pub line: usize,
    pub pattern: Option<String>,
    pub flags: Option<String>,
    pub certainty: Option<String>,
    pub description: String,
    pub examples: Vec<RawExample>,
    pub params: Vec<RawParam>,
}

/// `<example>` element: attributes in document order and its text.
#[derive(Debug, Default)]
pub(crate) struct RawExample {
    pub line: usize,
    pub attrs: Vec<(String, String)>,
    pub text: String,
}

/// `<param>` element.
#[derive(Debug, Default)]
pub(crate) struct RawParam {
    pub line: usize,
    pub pos: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
}

/// Incremental byte-offset → line-number conversion.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.text.len());
        if pos >= self.pos {
            self.line += memchr::memchr_iter(b'\n', &self.text[self.pos..pos]).count();
        } else {
            self.line -= memchr::memchr_iter(b'\n', &self.text[pos..self.pos]).count();
        }
        self.pos = pos;
        self.line
    }
}

/// Attribute values get XML attribute-value normalisation (literal tabs and
/// line breaks become spaces; character references survive) and entity
/// decoding.
fn attributes(
    e: &BytesStart<'_>,
    origin: &str,
    line: usize,
) -> Result<Vec<(String, String)>, LoadError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| LoadError::xml(origin, line, format!("bad attribute: {err}")))?;
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|_| LoadError::xml(origin, line, "attribute name is not UTF-8"))?
            .to_string();
        let raw = std::str::from_utf8(&a.value)
            .map_err(|_| LoadError::xml(origin, line, "attribute value is not UTF-8"))?;
        let normalised: String = raw
            .replace("\r\n", "\n")
            .chars()
            .map(|c| {
                if matches!(c, '\t' | '\n' | '\r') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let value = quick_xml::escape::unescape(&normalised)
            .map_err(|err| {
                LoadError::xml(
                    origin,
                    line,
                    format!("bad entity in attribute {key}: {err}"),
                )
            })?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

fn get(attrs: &[(String, String)], k: &str) -> Option<String> {
    attrs
        .iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Fingerprint,
    Description,
    Example,
    InExample,
    InDescription,
    Other,
}

/// Parse one XML document.
pub(crate) fn parse(xml: &str, origin: &str) -> Result<RawDb, LoadError> {
    let mut reader = Reader::from_str(xml);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
    }
    let mut lines = Lines {
        text: xml.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut db = RawDb::default();
    let mut seen_root = false;
    // Stack of open elements: (name, line, context).
    let mut stack: Vec<(String, usize, Ctx)> = Vec::new();
    let mut fp: Option<RawFp> = None;
    let mut example: Option<RawExample> = None;
    let mut description = String::new();
    let mut desc_count = 0usize;

    loop {
        let start = reader.buffer_position() as usize;
        let line = lines.at(start);
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let at = lines.at(reader.error_position() as usize);
                let msg = e.to_string().replace('\n', " ");
                return Err(LoadError::xml(origin, at, msg));
            }
        };
        let parent = stack.last().map(|s| s.2);
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let attrs = attributes(e, origin, line)?;
                let ctx = match (parent, name.as_str()) {
                    (None, "fingerprints") => {
                        if seen_root {
                            return Err(LoadError::xml(origin, line, "more than one root element"));
                        }
                        seen_root = true;
                        db.matches = get(&attrs, "matches");
                        db.protocol = get(&attrs, "protocol");
                        db.database_type = get(&attrs, "database_type");
                        db.preference = get(&attrs, "preference");
                        Ctx::Root
                    }
                    (None, other) => {
                        return Err(LoadError::xml(
                            origin,
                            line,
                            format!("root element is <{other}>, expected <fingerprints>"),
                        ));
                    }
                    (Some(Ctx::Root), "fingerprint") => {
                        fp = Some(RawFp {
                            line,
                            pattern: get(&attrs, "pattern"),
                            flags: get(&attrs, "flags"),
                            certainty: get(&attrs, "certainty"),
                            ..RawFp::default()
                        });
                        description.clear();
                        desc_count = 0;
                        Ctx::Fingerprint
                    }
                    (Some(Ctx::Fingerprint), "description") => {
                        desc_count += 1;
                        if desc_count == 1 {
                            Ctx::Description
                        } else {
                            Ctx::Other
                        }
                    }
                    (Some(Ctx::Fingerprint), "example") => {
                        example = Some(RawExample {
                            line,
                            attrs,
                            text: String::new(),
                        });
                        Ctx::Example
                    }
                    (Some(Ctx::Fingerprint), "param") => {
                        if let Some(f) = fp.as_mut() {
                            f.params.push(RawParam {
                                line,
                                pos: get(&attrs, "pos"),
                                name: get(&attrs, "name"),
                                value: get(&attrs, "value"),
                            });
                        }
                        Ctx::Other
                    }
                    (Some(Ctx::Example | Ctx::InExample), _) => Ctx::InExample,
                    (Some(Ctx::Description | Ctx::InDescription), _) => Ctx::InDescription,
                    _ => Ctx::Other,
                };
                if empty {
                    close(ctx, &mut fp, &mut example, &description, &mut db);
                } else {
                    stack.push((name, line, ctx));
                }
            }
            Event::End(_) => {
                // quick-xml has already checked that the name matches.
                if let Some((_, _, ctx)) = stack.pop() {
                    close(ctx, &mut fp, &mut example, &description, &mut db);
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| LoadError::xml(origin, line, e.to_string()))?;
                push_text(parent, &s, &mut example, &mut description);
            }
            Event::CData(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| LoadError::xml(origin, line, e.to_string()))?;
                push_text(parent, &s, &mut example, &mut description);
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| LoadError::xml(origin, line, e.to_string()))?
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| LoadError::xml(origin, line, e.to_string()))?;
                    Some(predefined_entity(&name).ok_or_else(|| {
                        LoadError::xml(origin, line, format!("unknown entity &{name};"))
                    })?)
                };
                if let Some(ch) = ch {
                    let mut buf = [0u8; 4];
                    push_text(
                        parent,
                        ch.encode_utf8(&mut buf),
                        &mut example,
                        &mut description,
                    );
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some((name, line, _)) = stack.last() {
        return Err(LoadError::xml(
            origin,
            *line,
            format!("unexpected end of document: <{name}> is not closed"),
        ));
    }
    if !seen_root {
        return Err(LoadError::xml(origin, 1, "no <fingerprints> root element"));
    }
    Ok(db)
}

fn push_text(
    parent: Option<Ctx>,
    s: &str,
    example: &mut Option<RawExample>,
    description: &mut String,
) {
    match parent {
        Some(Ctx::Example | Ctx::InExample) => {
            if let Some(e) = example.as_mut() {
                e.text.push_str(s);
            }
        }
        Some(Ctx::Description | Ctx::InDescription) => description.push_str(s),
        _ => {}
    }
}

fn close(
    ctx: Ctx,
    fp: &mut Option<RawFp>,
    example: &mut Option<RawExample>,
    description: &str,
    db: &mut RawDb,
) {
    match ctx {
        Ctx::Fingerprint => {
            if let Some(mut f) = fp.take() {
                f.description = description
                    .split([' ', '\t', '\r', '\n', '\x0B', '\x0C'])
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                db.fingerprints.push(f);
            }
        }
        Ctx::Example => {
            if let (Some(e), Some(f)) = (example.take(), fp.as_mut()) {
                f.examples.push(e);
            }
        }
        _ => {}
    }
}
