//! `smtpsweep fingerprint`: Recog-style matching of banner lines or grab
//! records, CVE exposure from the version, and `--verify` of the loaded
//! databases' examples. The [`Enricher`] is shared with `sweep` and `grab`.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use smtpsweep_fingerprint::{FingerprintSet, SmtpFingerprint, SmtpInput};
use smtpsweep_vulns::VulnDb;

use crate::UsageError;

/// Options that choose the fingerprint and CVE databases (shared by every
/// command that fingerprints).
#[derive(Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// A Recog checkout's xml/ directory, loaded besides our own database
    /// (on equal preference the user's databases are consulted first).
    #[arg(long = "recog-dir")]
    pub recog_dir: Option<PathBuf>,
    /// Do not load smtpsweep's own built-in SMTP database.
    #[arg(long)]
    pub no_builtin: bool,
    /// CVE ranges (TOML) instead of the built-in file.
    #[arg(long = "vulns")]
    pub vulns: Option<PathBuf>,
}

/// Options of `smtpsweep fingerprint`.
#[derive(Args, Debug, Clone)]
pub struct FingerprintArgs {
    /// Banner lines or grab JSONL records ('-' or none: stdin).
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub dbs: DbArgs,
    /// Match plain lines against this database key instead of the SMTP
    /// greeting logic (e.g. smtp.ehlo, smtp.help, ssh.banner).
    #[arg(long)]
    pub db: Option<String>,
    /// Check every <example> of the loaded databases, like recog_verify.
    #[arg(long)]
    pub verify: bool,
    /// Output file ('-' for stdout).
    #[arg(short = 'o', long = "output-file", default_value = "-")]
    pub output: String,
}

/// A CVE a fingerprint's version falls into. Records carry only the ids
/// (`"cves": ["CVE-2019-10149", …]`); the summaries live in the CVE
/// database and the report, not once per record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CveRef {
    pub id: String,
    pub summary: String,
}

/// The `cves` value of a record: the ids.
pub fn cve_ids(cves: &[CveRef]) -> Value {
    Value::Array(cves.iter().map(|c| Value::String(c.id.clone())).collect())
}

/// Fingerprint databases plus CVE ranges: turns SMTP replies into a
/// fingerprint and the CVEs its version falls into.
pub struct Enricher {
    pub set: FingerprintSet,
    pub vulns: VulnDb,
}

impl Enricher {
    /// Loads the databases the options name.
    pub fn load(a: &DbArgs) -> Result<Enricher> {
        let mut set = FingerprintSet::new();
        if let Some(dir) = &a.recog_dir {
            set.load_dir(dir).map_err(|e| UsageError(e.to_string()))?;
        }
        if !a.no_builtin {
            set.add_builtin()
                .context("loading the built-in fingerprint database")?;
        }
        let vulns = match &a.vulns {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
                VulnDb::from_toml(&text, &p.display().to_string())
                    .map_err(|e| UsageError(e.to_string()))?
            }
            None => VulnDb::builtin(),
        };
        Ok(Enricher { set, vulns })
    }

    /// Fingerprint of one conversation, and the CVEs of its version.
    pub fn smtp(
        &self,
        banner: Option<&str>,
        ehlo: Option<&str>,
        help: Option<&str>,
    ) -> (SmtpFingerprint, Vec<CveRef>) {
        let input = SmtpInput {
            banner: banner.map(str::to_string),
            ehlo: ehlo.map(str::to_string),
            help: help.map(str::to_string),
            ..Default::default()
        };
        let fp = self.set.match_smtp(&input);
        let cves = self.cves(&fp);
        (fp, cves)
    }

    /// The CVEs whose ranges hold the fingerprint's version (by family, else product).
    pub fn cves(&self, fp: &SmtpFingerprint) -> Vec<CveRef> {
        let Some(version) = fp.version.as_deref() else {
            return Vec::new();
        };
        let mut out: Vec<CveRef> = Vec::new();
        for name in [fp.family.as_deref(), fp.product.as_deref()]
            .into_iter()
            .flatten()
        {
            for c in self.vulns.cves_for(name, version) {
                if !out.iter().any(|o| o.id == c.id) {
                    out.push(CveRef {
                        id: c.id.clone(),
                        summary: c.summary.clone(),
                    });
                }
            }
        }
        out
    }

    /// Adds `fingerprint` and `cves` to a grab record held as JSON, from its
    /// `smtp.banner`, `smtp.ehlo.text` and `smtp.help.text`.
    pub fn enrich_value(&self, rec: &mut Value) {
        let smtp = &rec["smtp"];
        let text = |v: &Value| v.as_str().map(str::to_string);
        let banner = text(&smtp["banner"]);
        let ehlo = text(&smtp["ehlo"]["text"]).map(|t| prefix_code(&smtp["ehlo"], &t));
        let help = text(&smtp["help"]["text"]).map(|t| prefix_code(&smtp["help"], &t));
        if banner.is_none() && ehlo.is_none() && help.is_none() {
            return;
        }
        let (fp, cves) = self.smtp(banner.as_deref(), ehlo.as_deref(), help.as_deref());
        if let Some(obj) = rec.as_object_mut() {
            if !fp.is_empty() {
                obj.insert(
                    "fingerprint".into(),
                    serde_json::to_value(&fp).unwrap_or(Value::Null),
                );
            }
            if !cves.is_empty() {
                obj.insert("cves".into(), cve_ids(&cves));
            }
        }
    }
}

/// Rebuilds reply lines with their code (`250-…`/`250 …`) from a reply
/// summary's code and newline-joined text, the form Recog's EHLO and HELP
/// databases expect.
fn prefix_code(reply: &Value, text: &str) -> String {
    match reply["code"].as_u64() {
        Some(code) => with_code(code, text),
        None => text.to_string(),
    }
}

/// `code` in front of every line of `text` (newline-joined), `-` after it on
/// all but the last line, CRLF line ends.
pub fn with_code(code: u64, text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{code}{}{l}\r\n", if i + 1 == n { ' ' } else { '-' }))
        .collect()
}

/// Runs `smtpsweep fingerprint`.
pub fn run(a: FingerprintArgs) -> Result<ExitCode> {
    let enricher = Enricher::load(&a.dbs)?;
    let mut out: Box<dyn Write> = if a.output == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            std::fs::File::create(&a.output).with_context(|| format!("creating {}", a.output))?,
        ))
    };
    if a.verify {
        let report = enricher.set.verify();
        for f in &report.findings {
            writeln!(out, "{f}")?;
        }
        let failures = report.failures().count();
        writeln!(
            out,
            "verified {} databases, {} fingerprints, {} examples: {} passed, {} failed",
            report.databases,
            report.fingerprints,
            report.examples,
            report.examples_passed,
            failures
        )?;
        out.flush()?;
        return Ok(if report.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let input: Box<dyn BufRead> = match &a.input {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| UsageError(format!("{}: {e}", p.display())))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let origin = a
        .input
        .as_ref()
        .map_or("stdin".to_string(), |p| p.display().to_string());
    let matcher = a.db.as_deref().map(|k| enricher.set.matcher(k));
    if let (Some(m), Some(k)) = (&matcher, &a.db)
        && m.is_empty()
    {
        return Err(UsageError(format!(
            "no loaded database answers to {k:?} (see --recog-dir)"
        ))
        .into());
    }
    for (n, line) in input.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {origin}"))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            continue;
        }
        let rec = if text.trim_start().starts_with('{') {
            match serde_json::from_str::<Value>(text) {
                Ok(mut v) => {
                    enricher.enrich_value(&mut v);
                    v
                }
                Err(e) => {
                    json!({"input": text, "error": format!("{origin}:{}: not a JSON record: {e}", n + 1)})
                }
            }
        } else if let Some(m) = &matcher {
            json!({"input": text, "match": m.match_str(text)})
        } else {
            let (fp, cves) = enricher.smtp(Some(text), None, None);
            let mut v = json!({"input": text});
            if !fp.is_empty() {
                v["fingerprint"] = serde_json::to_value(&fp)?;
            }
            if !cves.is_empty() {
                v["cves"] = cve_ids(&cves);
            }
            v
        };
        serde_json::to_writer(&mut out, &rec)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exim_banner_gets_family_version_and_cves() {
        let e = Enricher::load(&DbArgs::default()).unwrap();
        let (fp, cves) = e.smtp(
            Some("220 mx.testbed.example ESMTP Exim 4.89 Mon, 30 Nov 2026 09:00:00 +0000\r\n"),
            None,
            None,
        );
        assert_eq!(fp.family.as_deref(), Some("exim"));
        assert_eq!(fp.version.as_deref(), Some("4.89"));
        let ids: Vec<&str> = cves.iter().map(|c| c.id.as_str()).collect();
        assert!(ids.contains(&"CVE-2019-10149"), "{ids:?}");
        let (_, newer) = e.smtp(
            Some("220 mx.testbed.example ESMTP Exim 4.97.1 Mon, 30 Nov 2026 09:00:00 +0000\r\n"),
            None,
            None,
        );
        assert!(newer.iter().all(|c| c.id != "CVE-2019-10149"), "{newer:?}");
    }

    #[test]
    fn enriches_grab_records_in_place() {
        let e = Enricher::load(&DbArgs::default()).unwrap();
        let mut v = json!({"ip": "198.18.0.9", "port": 25, "status": "success",
            "smtp": {"banner": "220 mx.testbed.example ESMTP Postfix (Debian/GNU)\r\n",
                     "ehlo": {"code": 250, "text": "mx.testbed.example\nPIPELINING\nSIZE 10240000"}}});
        e.enrich_value(&mut v);
        assert_eq!(v["fingerprint"]["family"], "Postfix", "{v}");
        assert_eq!(v["ip"], "198.18.0.9", "other fields stay");
        let mut bare = json!({"ip": "198.18.0.9", "status": "io-timeout"});
        e.enrich_value(&mut bare);
        assert!(bare.get("fingerprint").is_none());
    }

    #[test]
    fn reply_code_is_put_back() {
        let r = json!({"code": 250});
        assert_eq!(prefix_code(&r, "a\nb"), "250-a\r\n250 b\r\n");
        assert_eq!(prefix_code(&json!({}), "x"), "x");
    }
}
