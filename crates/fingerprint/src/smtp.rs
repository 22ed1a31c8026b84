//! SMTP-specific matching: which reply goes to which database, and how the
//! per-reply matches are merged into one record.

use crate::engine::{FingerprintSet, Match};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key of the greeting database (Recog's `smtp_banners.xml`).
pub const BANNER_DB: &str = "smtp.banner";
/// Key of the EHLO-reply database (Recog's `smtp_ehlo.xml` has no `matches`
/// attribute, so its key is the file name).
pub const EHLO_DB: &str = "smtp_ehlo";
/// Key of the HELP-reply database.
pub const HELP_DB: &str = "smtp_help";

/// Certainty assumed for a match that states none (Recog's default).
pub const DEFAULT_CERTAINTY: f32 = 0.85;

/// What the grab stage collected from one SMTP server. Each field is the raw
/// reply, possibly several lines (`\r\n` or `\n`), reply codes included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpInput {
    /// The greeting (`220 ...`), all lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The reply to `EHLO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<String>,
    /// The reply to `HELP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Other replies keyed by database (e.g. `smtp_noop`, `smtp_quit`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
}

impl SmtpInput {
    /// Input with only a greeting.
    pub fn banner(banner: impl Into<String>) -> SmtpInput {
        SmtpInput {
            banner: Some(banner.into()),
            ..SmtpInput::default()
        }
    }
}

/// A match together with the reply line it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpMatch {
    /// `banner`, `ehlo`, `help` or the database key of an `other` reply.
    pub source: String,
    /// The text that was matched (for the banner: without the reply code).
    pub text: String,
    /// The match.
    #[serde(flatten)]
    pub matched: Match,
}

/// The fingerprint of one SMTP server.
///
/// Service fields all come from one match: the one with the highest
/// certainty (default 0.85), earlier sources winning ties (banner, then EHLO,
/// HELP, others). OS fields likewise from the best match that has OS fields.
/// `host_name` is the first one seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SmtpFingerprint {
    /// `service.vendor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// `service.family` (the NICER/Recog grouping: `Postfix`, `exim`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// `service.product`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// `service.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `service.cpe23`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe23: Option<String>,
    /// `os.vendor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_vendor: Option<String>,
    /// `os.family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_family: Option<String>,
    /// `os.product`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_product: Option<String>,
    /// `os.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// `os.cpe23`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_cpe23: Option<String>,
    /// `host.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// Database of the match the service fields came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Description of that fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Its certainty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certainty: Option<f32>,
    /// Every match, per source, in consultation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<SmtpMatch>,
}

impl SmtpFingerprint {
    /// True if nothing matched.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }
}

/// Split a reply into lines (without line terminators), skipping empty ones.
pub fn reply_lines(reply: &str) -> impl Iterator<Item = &str> {
    reply
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// The text of a reply line after its reply code (`220 `, `220-`, `220`);
/// a line without a code is returned unchanged.
pub fn strip_reply_code(line: &str) -> &str {
    let b = line.as_bytes();
    if b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) {
        match b.get(3) {
            None => "",
            Some(b' ') | Some(b'-') => &line[4..],
            Some(_) => line,
        }
    } else {
        line
    }
}

impl FingerprintSet {
    /// Match one greeting line (reply code already removed) against the
    /// `smtp.banner` databases.
    pub fn match_banner_line(&self, line: &str) -> Option<Match> {
        self.match_one(BANNER_DB, line)
    }

    /// Fingerprint an SMTP server from its replies: each greeting line with
    /// the reply code removed against `smtp.banner`; each EHLO, HELP and other
    /// reply line, code included, against its own database. Per source the
    /// first line that matches is kept.
    pub fn match_smtp(&self, input: &SmtpInput) -> SmtpFingerprint {
        let mut matches = Vec::new();
        if let Some(b) = &input.banner {
            let banner = self.matcher(BANNER_DB);
            for line in reply_lines(b) {
                let text = strip_reply_code(line);
                if let Some(m) = banner.match_str(text) {
                    matches.push(SmtpMatch {
                        source: "banner".into(),
                        text: text.to_string(),
                        matched: m,
                    });
                    break;
                }
            }
        }
        let mut whole = |source: &str, key: &str, reply: &Option<String>| {
            if let Some(r) = reply {
                for line in reply_lines(r) {
                    if let Some(m) = self.match_one(key, line) {
                        matches.push(SmtpMatch {
                            source: source.into(),
                            text: line.to_string(),
                            matched: m,
                        });
                        break;
                    }
                }
            }
        };
        whole("ehlo", EHLO_DB, &input.ehlo);
        whole("help", HELP_DB, &input.help);
        for (key, reply) in &input.other {
            whole(key, key, &Some(reply.clone()));
        }
        summarize(matches)
    }
}

fn best<'a>(matches: &'a [SmtpMatch], prefix: &str, keys: [&str; 2]) -> Option<&'a Match> {
    // The fingerprint-level `certainty` attribute speaks for the service.
    let use_attr = prefix == "service";
    let certainty_key = format!("{prefix}.certainty");
    let mut best: Option<(&Match, f32)> = None;
    for m in matches.iter().map(|s| &s.matched) {
        if !keys.iter().any(|k| m.params.contains_key(k)) {
            continue;
        }
        let c = m
            .get(&certainty_key)
            .and_then(|v| v.trim().parse::<f32>().ok())
            .or(if use_attr { m.certainty } else { None })
            .unwrap_or(DEFAULT_CERTAINTY);
        if best.is_none_or(|(_, bc)| c > bc) {
            best = Some((m, c));
        }
    }
    best.map(|(m, _)| m)
}

fn summarize(matches: Vec<SmtpMatch>) -> SmtpFingerprint {
    let mut out = SmtpFingerprint::default();
    let svc = best(&matches, "service", ["service.product", "service.family"])
        .or_else(|| matches.first().map(|m| &m.matched));
    if let Some(m) = svc {
        let g = |k: &str| m.get(k).map(str::to_string);
        out.vendor = g("service.vendor");
        out.family = g("service.family");
        out.product = g("service.product");
        out.version = g("service.version");
        out.cpe23 = g("service.cpe23");
        out.db = Some(m.db.to_string());
        out.fingerprint = Some(m.fingerprint.to_string());
        out.certainty = m.certainty;
    }
    if let Some(m) = best(&matches, "os", ["os.product", "os.family"]) {
        let g = |k: &str| m.get(k).map(str::to_string);
        out.os_vendor = g("os.vendor");
        out.os_family = g("os.family");
        out.os_product = g("os.product");
        out.os_version = g("os.version");
        out.os_cpe23 = g("os.cpe23");
    }
    out.host_name = matches
        .iter()
        .find_map(|m| m.matched.get("host.name").map(str::to_string));
    out.matches = matches;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_code_is_stripped() {
        assert_eq!(strip_reply_code("220 mx ESMTP"), "mx ESMTP");
        assert_eq!(strip_reply_code("220-mx ESMTP"), "mx ESMTP");
        assert_eq!(strip_reply_code("220"), "");
        assert_eq!(strip_reply_code("mx ESMTP"), "mx ESMTP");
        assert_eq!(strip_reply_code("2200 x"), "2200 x");
        let lines: Vec<_> = reply_lines("220-a\r\n220-b\r\n220 c\r\n").collect();
        assert_eq!(lines, ["220-a", "220-b", "220 c"]);
    }
}
