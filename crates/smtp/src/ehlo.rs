//! EHLO reply parsing into structured extension fields.

use serde::{Deserialize, Serialize};

use crate::reply::Reply;

/// The service extensions advertised in a positive EHLO reply (RFC 5321 section 4.1.1.1).
///
/// Keywords are matched case-insensitively. Lines with an unrecognised keyword are
/// kept verbatim in `unknown`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extensions {
    /// First word of the first line: the domain the server names itself.
    pub domain: String,
    /// The whole first line (domain plus any greeting text).
    pub greeting: String,
    /// True when `SIZE` was advertised, with or without a number.
    pub size_advertised: bool,
    /// The `SIZE` limit in bytes when a number was given (0 means no fixed limit, RFC 1870).
    pub size: Option<u64>,
    /// `PIPELINING` (RFC 2920).
    pub pipelining: bool,
    /// `8BITMIME` (RFC 6152).
    pub eightbitmime: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
    /// True when an `AUTH` line was present (either the `AUTH x y` or the old `AUTH=x y` form).
    pub auth_advertised: bool,
    /// SASL mechanisms from all `AUTH` lines, upper-cased, without duplicates, in order seen.
    pub auth: Vec<String>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `CHUNKING` (RFC 3030).
    pub chunking: bool,
    /// `DSN` (RFC 3461).
    pub dsn: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhancedstatuscodes: bool,
    /// Other extension lines, trimmed, as sent (e.g. `VRFY`, `ETRN`, `X-EXPS GSSAPI NTLM`).
    pub unknown: Vec<String>,
}

impl Extensions {
    /// Parse the lines of an EHLO reply. The caller decides whether the reply was positive.
    pub fn from_reply(reply: &Reply) -> Self {
        Self::from_lines(reply.lines.iter().map(String::as_str))
    }

    /// Parse EHLO reply line texts (first line: domain and greeting; then one keyword per line).
    pub fn from_lines<'a>(mut lines: impl Iterator<Item = &'a str>) -> Self {
        let mut ext = Extensions::default();
        if let Some(first) = lines.next() {
            ext.greeting = first.trim().to_string();
            ext.domain = ext
                .greeting
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
        }
        for line in lines {
            ext.add_line(line.trim());
        }
        ext
    }

    fn add_line(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        // The keyword ends at whitespace or, in the old `AUTH=LOGIN` style, at '='.
        let end = line
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(line.len());
        let keyword = line[..end].to_ascii_uppercase();
        let params = line[end..].trim_start_matches('=').trim();
        match keyword.as_str() {
            "SIZE" => {
                self.size_advertised = true;
                if let Some(n) = params
                    .split_whitespace()
                    .next()
                    .and_then(|t| t.parse().ok())
                {
                    self.size = Some(n);
                }
            }
            "PIPELINING" => self.pipelining = true,
            "8BITMIME" => self.eightbitmime = true,
            "STARTTLS" => self.starttls = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "CHUNKING" => self.chunking = true,
            "DSN" => self.dsn = true,
            "ENHANCEDSTATUSCODES" => self.enhancedstatuscodes = true,
            "AUTH" => {
                self.auth_advertised = true;
                for mech in params
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|m| !m.is_empty())
                {
                    let mech = mech.to_ascii_uppercase();
                    if !self.auth.contains(&mech) {
                        self.auth.push(mech);
                    }
                }
            }
            _ => self.unknown.push(line.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(lines: &[&str]) -> Extensions {
        Extensions::from_lines(lines.iter().copied())
    }

    #[test]
    fn postfix_style() {
        let e = ext(&[
            "mail.example.com",
            "PIPELINING",
            "SIZE 10240000",
            "VRFY",
            "ETRN",
            "STARTTLS",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
            "CHUNKING",
        ]);
        assert_eq!(e.domain, "mail.example.com");
        assert_eq!(e.greeting, "mail.example.com");
        assert!(e.size_advertised);
        assert_eq!(e.size, Some(10_240_000));
        assert!(e.pipelining && e.starttls && e.enhancedstatuscodes && e.eightbitmime);
        assert!(e.dsn && e.smtputf8 && e.chunking);
        assert!(!e.auth_advertised);
        assert!(e.auth.is_empty());
        assert_eq!(e.unknown, vec!["VRFY", "ETRN"]);
    }

    #[test]
    fn exchange_style_with_greeting_and_unknowns() {
        let e = ext(&[
            "EX01.example.local Hello [192.0.2.10]",
            "SIZE 37748736",
            "X-ANONYMOUSTLS",
            "AUTH NTLM",
            "X-EXPS GSSAPI NTLM",
            "XEXCH50",
            "XRDST",
        ]);
        assert_eq!(e.domain, "EX01.example.local");
        assert_eq!(e.greeting, "EX01.example.local Hello [192.0.2.10]");
        assert_eq!(e.auth, vec!["NTLM"]);
        assert_eq!(
            e.unknown,
            vec!["X-ANONYMOUSTLS", "X-EXPS GSSAPI NTLM", "XEXCH50", "XRDST"]
        );
        assert!(!e.starttls);
    }

    #[test]
    fn auth_both_forms_deduplicated() {
        let e = ext(&[
            "mx",
            "AUTH LOGIN PLAIN CRAM-MD5",
            "AUTH=LOGIN PLAIN",
            "auth=xoauth2",
        ]);
        assert!(e.auth_advertised);
        assert_eq!(e.auth, vec!["LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2"]);
        assert!(e.unknown.is_empty());
    }

    #[test]
    fn auth_without_mechanisms() {
        let e = ext(&["mx", "AUTH"]);
        assert!(e.auth_advertised);
        assert!(e.auth.is_empty());
    }

    #[test]
    fn size_without_number_and_with_junk() {
        let e = ext(&["mx", "SIZE"]);
        assert!(e.size_advertised);
        assert_eq!(e.size, None);
        let e = ext(&["mx", "size unlimited"]);
        assert!(e.size_advertised);
        assert_eq!(e.size, None);
        let e = ext(&["mx", "SIZE 0"]);
        assert_eq!(e.size, Some(0));
        let e = ext(&["mx", "SIZE 99999999999999999999999"]);
        assert!(e.size_advertised);
        assert_eq!(e.size, None);
        let e = ext(&["mx", "PIPELINING"]);
        assert!(!e.size_advertised);
    }

    #[test]
    fn case_insensitive_keywords_and_masked_starttls() {
        let e = ext(&["mx", "starttls", "Pipelining", "XXXXXXXA"]);
        assert!(e.starttls && e.pipelining);
        assert_eq!(e.unknown, vec!["XXXXXXXA"]);
    }

    #[test]
    fn empty_reply_and_helo_style() {
        let e = ext(&[]);
        assert_eq!(e, Extensions::default());
        let e = ext(&[""]);
        assert_eq!(e.domain, "");
        let e = ext(&["  relay.example.net   ready "]);
        assert_eq!(e.domain, "relay.example.net");
        assert_eq!(e.greeting, "relay.example.net   ready");
    }

    #[test]
    fn serializes_field_names() {
        let e = ext(&["mx", "SIZE 10", "AUTH PLAIN", "FOO bar"]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["size"], 10);
        assert_eq!(v["size_advertised"], true);
        assert_eq!(v["auth"][0], "PLAIN");
        assert_eq!(v["unknown"][0], "FOO bar");
        let back: Extensions = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
