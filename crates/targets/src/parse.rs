//! Parsing of targets (addresses, CIDR blocks, ranges) and allow/blocklist files.

use crate::error::{TargetError, one_line};
use crate::interval::Ipv4Range;

/// Parse one dotted-quad IPv4 address strictly (four decimal octets, no leading
/// zeros, nothing else). The error is a short description of what is wrong.
fn parse_addr(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err("missing address".into());
    }
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (head, tail) = s.split_at(end);
    if let Some(bad) = tail.chars().next() {
        if parse_quad(head).is_ok() {
            return Err("trailing characters after address".into());
        }
        return Err(format!(
            "invalid address (unexpected character '{}')",
            bad.escape_default()
        ));
    }
    parse_quad(head)
}

/// Parse digits-and-dots text as a dotted quad.
fn parse_quad(s: &str) -> Result<u32, String> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return Err("invalid address (more than 4 octets)".into());
    }
    let mut addr: u32 = 0;
    for part in &parts {
        if part.is_empty() {
            return Err("invalid address (empty octet)".into());
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err("invalid address (leading zero in octet)".into());
        }
        // Digits only here; more than three of them is out of range anyway.
        let value: u32 = if part.len() > 3 {
            u32::MAX
        } else {
            part.parse().unwrap_or(u32::MAX)
        };
        if value > 255 {
            return Err(format!("invalid address (octet {part} > 255)"));
        }
        addr = (addr << 8) | value;
    }
    if parts.len() < 4 {
        return Err("invalid address (expected 4 dot-separated octets)".into());
    }
    Ok(addr)
}

/// Parse one target: a single address (`198.18.0.5`), a CIDR block
/// (`198.18.0.0/16`; host bits, if any, are ignored as ZMap does) or an inclusive
/// range (`198.18.0.1-198.18.0.9`, spaces around `-` allowed).
/// Surrounding whitespace is ignored.
pub fn parse_target(s: &str) -> Result<Ipv4Range, TargetError> {
    let text = s.trim();
    parse_target_inner(text).map_err(|what| TargetError::target(what, text))
}

fn parse_target_inner(text: &str) -> Result<Ipv4Range, String> {
    if text.is_empty() {
        return Err("empty target".into());
    }
    if let Some((a, b)) = text.split_once('-') {
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() {
            return Err("incomplete range (expected FIRST-LAST)".into());
        }
        if b.contains('-') {
            return Err("invalid range (more than one '-')".into());
        }
        if a.contains('/') || b.contains('/') {
            return Err("invalid range (CIDR prefix inside a range)".into());
        }
        let first = parse_addr(a)?;
        let last = parse_addr(b)?;
        if first > last {
            return Err("reversed range (first address above last)".into());
        }
        return Ok(Ipv4Range::new(first, last));
    }
    if let Some((a, len)) = text.split_once('/') {
        let addr = parse_addr(a)?;
        let prefix = parse_prefix(len)?;
        return Ok(Ipv4Range::cidr(addr, prefix));
    }
    parse_addr(text).map(Ipv4Range::single)
}

fn parse_prefix(s: &str) -> Result<u8, String> {
    if s.is_empty() {
        return Err("missing prefix length after '/'".into());
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("invalid prefix length (expected 0-32)".into());
    }
    if digits < s.len() {
        return Err("trailing characters after prefix length".into());
    }
    match s.parse::<u8>() {
        Ok(n) if n <= 32 => Ok(n),
        _ => Err(format!("invalid prefix length /{s} (expected 0-32)")),
    }
}

/// Parse the contents of an allowlist or blocklist file: one target per line
/// (see [`parse_target`]), `#` starts a comment (whole-line or trailing), blank
/// lines are skipped. `origin` names the source in errors, which read
/// `{origin}:{line}: {what is wrong}: '{bad text}'`.
pub fn parse_list(text: &str, origin: &str) -> Result<Vec<Ipv4Range>, TargetError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let content = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        if content.is_empty() {
            continue;
        }
        match parse_target_inner(content) {
            Ok(r) => out.push(r),
            Err(what) => {
                return Err(TargetError::Line {
                    origin: origin.to_string(),
                    line: i + 1,
                    what,
                    text: one_line(content),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
    }

    fn err(s: &str) -> String {
        parse_target(s).unwrap_err().to_string()
    }

    #[test]
    fn single_cidr_and_range() {
        assert_eq!(
            parse_target("198.18.0.5").unwrap(),
            Ipv4Range::single(ip("198.18.0.5"))
        );
        assert_eq!(
            parse_target(" 198.18.0.0/16 ").unwrap(),
            Ipv4Range::new(ip("198.18.0.0"), ip("198.18.255.255"))
        );
        assert_eq!(
            parse_target("198.18.0.1-198.18.0.9").unwrap(),
            Ipv4Range::new(ip("198.18.0.1"), ip("198.18.0.9"))
        );
        assert_eq!(
            parse_target("198.18.0.1 - 198.18.0.1").unwrap(),
            Ipv4Range::single(ip("198.18.0.1"))
        );
        assert_eq!(
            parse_target("0.0.0.0/0").unwrap(),
            Ipv4Range::new(0, u32::MAX)
        );
        assert_eq!(
            parse_target("255.255.255.255/32").unwrap(),
            Ipv4Range::single(u32::MAX)
        );
        // Host bits are masked off, like ZMap.
        assert_eq!(
            parse_target("198.18.7.9/24").unwrap(),
            Ipv4Range::new(ip("198.18.7.0"), ip("198.18.7.255"))
        );
    }

    #[test]
    fn rejects_bad_octets() {
        assert_eq!(
            err("198.18.0.256"),
            "invalid address (octet 256 > 255): '198.18.0.256'"
        );
        assert_eq!(
            err("198.18.0.1000"),
            "invalid address (octet 1000 > 255): '198.18.0.1000'"
        );
        assert!(err("198.18.0").contains("expected 4 dot-separated octets"));
        assert!(err("198.18.0.1.2").contains("more than 4 octets"));
        assert!(err("198.18..1").contains("empty octet"));
        assert!(err("198.18.0.").contains("empty octet"));
        assert!(err("198.018.0.1").contains("leading zero"));
        assert!(err("198.x.0.1").contains("unexpected character 'x'"));
        assert!(err("-198.18.0.1").contains("incomplete range"));
        assert!(err("99999999999999999999.0.0.1").contains("> 255"));
    }

    #[test]
    fn rejects_bad_prefix_and_junk() {
        assert_eq!(
            err("198.18.0.0/33"),
            "invalid prefix length /33 (expected 0-32): '198.18.0.0/33'"
        );
        assert!(err("198.18.0.0/").contains("missing prefix length"));
        assert!(err("198.18.0.0/x").contains("invalid prefix length"));
        assert!(err("198.18.0.0/16x").contains("trailing characters after prefix"));
        assert!(err("198.18.0.0/16/8").contains("trailing characters after prefix"));
        assert!(err("198.18.0.0/99999").contains("expected 0-32"));
        assert!(err("198.18.0.1x").contains("trailing characters after address"));
        assert!(err("198.18.0.1 foo").contains("trailing characters after address"));
        assert!(err("198.18.0.0 /16").contains("trailing characters after address"));
    }

    #[test]
    fn rejects_bad_ranges_and_empty() {
        assert_eq!(
            err("198.18.0.9-198.18.0.1"),
            "reversed range (first address above last): '198.18.0.9-198.18.0.1'"
        );
        assert!(err("198.18.0.1-").contains("incomplete range"));
        assert!(err("198.18.0.1-198.18.0.2-198.18.0.3").contains("more than one '-'"));
        assert!(err("198.18.0.0/24-198.18.1.0").contains("CIDR prefix inside a range"));
        assert!(err("198.18.0.1-198.18.0.300").contains("octet 300 > 255"));
        assert_eq!(err(""), "empty target: ''");
        assert_eq!(err("   "), "empty target: ''");
    }

    #[test]
    fn every_error_is_one_line() {
        for bad in [
            "",
            "a",
            "1.2.3.4/40",
            "1.2.3.4-1.2.3.3",
            "1.2.3.4\tjunk",
            "1..2.3",
            "1.2.3.4\n5.6.7.8",
        ] {
            let msg = err(bad);
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }

    #[test]
    fn list_with_comments_and_blank_lines() {
        let text = "# header comment\n\n198.18.0.0/24   # trailing comment\n  198.18.1.1\r\n\t\n198.18.2.0-198.18.2.9#tight\n";
        let got = parse_list(text, "allow.txt").unwrap();
        assert_eq!(
            got,
            vec![
                Ipv4Range::new(ip("198.18.0.0"), ip("198.18.0.255")),
                Ipv4Range::single(ip("198.18.1.1")),
                Ipv4Range::new(ip("198.18.2.0"), ip("198.18.2.9")),
            ]
        );
        assert_eq!(parse_list("", "empty").unwrap(), vec![]);
        assert_eq!(
            parse_list("# only\n\n   # comments\n", "c").unwrap(),
            vec![]
        );
    }

    #[test]
    fn list_error_names_origin_and_line() {
        let text = "# comment\n198.18.0.0/24\n\n198.18.0.0/33 # too long\n198.18.0.1\n";
        let e = parse_list(text, "block.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "block.conf:4: invalid prefix length /33 (expected 0-32): '198.18.0.0/33'"
        );
        assert_eq!(
            e,
            TargetError::Line {
                origin: "block.conf".into(),
                line: 4,
                what: "invalid prefix length /33 (expected 0-32)".into(),
                text: "198.18.0.0/33".into(),
            }
        );
        let e = parse_list("198.18.0.1\n198.18.0.2 198.18.0.3\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: trailing characters after address: '198.18.0.2 198.18.0.3'"
        );
        let e = parse_list("\n\n\n\n\n\n\nnot-an-ip\n", "x").unwrap_err();
        assert!(e.to_string().starts_with("x:8: "), "{e}");
        // CRLF files count lines the same way.
        let e = parse_list("198.18.0.1\r\n198.18.0.9-198.18.0.1\r\n", "crlf").unwrap_err();
        assert!(e.to_string().starts_with("crlf:2: reversed range"), "{e}");
    }
}
