//! `smtpsweep report`: NICER-style tables and charts from sweep/grab output.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use smtpsweep_report::{
    ReportConfig, VulnDb, build_report, render_html, render_json, render_markdown, write_charts,
    write_csv,
};

use crate::UsageError;

/// Options of `smtpsweep report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// JSON Lines files from sweep/grab (plain or gzip), merged; records
    /// repeated across files (shards) count once.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Scan metadata files (`scan -m`), for hit rates and scan figures.
    #[arg(short = 'm', long = "metadata")]
    pub metadata: Vec<PathBuf>,
    /// md (default, for a terminal), html (one self-contained file), json, or csv (one file per table into --out-dir).
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Where to write the report (default: stdout; not for csv).
    #[arg(short = 'o', long = "output-file")]
    pub output: Option<PathBuf>,
    /// Directory for CSV tables and chart files (SVG, and PNG when a font is found).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Rows kept in ranked tables.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Version detail for one family (e.g. exim).
    #[arg(long)]
    pub family: Option<String>,
    /// Only records on this port.
    #[arg(long)]
    pub port: Option<u16>,
    /// MaxMind country database (GeoLite2-Country or DB-IP format).
    #[arg(long)]
    pub country_db: Option<PathBuf>,
    /// MaxMind ASN database (GeoLite2-ASN format).
    #[arg(long)]
    pub asn_db: Option<PathBuf>,
    /// CVE ranges (TOML) instead of the built-in file.
    #[arg(long)]
    pub vulns: Option<PathBuf>,
}

/// Runs `smtpsweep report`.
pub fn run(a: ReportArgs) -> Result<ExitCode> {
    let format = a.format.to_ascii_lowercase();
    if !matches!(format.as_str(), "md" | "markdown" | "html" | "json" | "csv") {
        return Err(UsageError(format!(
            "unknown report format {:?} (md, html, json or csv)",
            a.format
        ))
        .into());
    }
    if format == "csv" && a.out_dir.is_none() {
        return Err(
            UsageError("--format csv writes one file per table: give --out-dir".into()).into(),
        );
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
    let cfg = ReportConfig {
        top: a.top.max(1),
        family: a.family.clone(),
        port: a.port,
        country_db: a.country_db.clone(),
        asn_db: a.asn_db.clone(),
    };
    let report =
        build_report(cfg, vulns, &a.inputs, &a.metadata).map_err(|e| UsageError(e.to_string()))?;
    let text = match format.as_str() {
        "html" => Some(render_html(&report)?),
        "json" => Some(render_json(&report)),
        "csv" => None,
        _ => Some(render_markdown(&report)),
    };
    if let Some(dir) = &a.out_dir {
        if format == "csv" {
            let files = write_csv(&report, dir)?;
            eprintln!("smtpsweep: {} CSV tables in {}", files.len(), dir.display());
        }
        let charts = write_charts(&report, dir)?;
        if let Some(n) = &charts.notice {
            eprintln!("smtpsweep: {n}");
        }
        eprintln!(
            "smtpsweep: {} chart files in {}",
            charts.files.len(),
            dir.display()
        );
    }
    if let Some(text) = text {
        match &a.output {
            Some(p) => {
                std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
