//! The report as a list of generic tables, shared by the Markdown, HTML and
//! CSV renderers (JSON serialises the [`Report`] itself).

use crate::model::*;

/// The seven sections, numbered as in the issue.
pub const SECTIONS: [(u8, &str); 7] = [
    (1, "Discovery"),
    (2, "Fingerprinting"),
    (3, "Versions"),
    (4, "Exposure"),
    (5, "Transport security"),
    (6, "Geography and providers"),
    (7, "Problems"),
];

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Int(u64),
    /// A fraction shown as a percentage.
    Share(f64),
    /// Another number.
    Num(f64),
    /// Nothing.
    Empty,
}

impl Cell {
    /// True for numeric cells (right-aligned).
    pub fn numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Share(_) | Cell::Num(_))
    }

    /// Display text: counts as digits, shares as `12.3%`.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Share(x) => format!("{:.1}%", x * 100.0),
            Cell::Num(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    format!("{x:.0}")
                } else {
                    format!("{x:.3}")
                }
            }
            Cell::Empty => String::new(),
        }
    }

    /// Machine form for CSV: shares as fractions with six decimals.
    pub fn raw(&self) -> String {
        match self {
            Cell::Share(x) => format!("{x:.6}"),
            Cell::Num(x) => format!("{x}"),
            other => other.display(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Int(n)
    }
}
impl From<usize> for Cell {
    fn from(n: usize) -> Cell {
        Cell::Int(n as u64)
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Stable identifier, also the CSV file name (`<id>.csv`).
    pub id: String,
    /// Section number (1–7).
    pub section: u8,
    /// Title.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
    /// A line shown under the table.
    pub note: Option<String>,
}

/// Lower-case identifier fragment: letters and digits, `_` for the rest.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let t = out.trim_matches('_');
    if t.is_empty() {
        "x".to_string()
    } else {
        t.to_string()
    }
}

struct Builder<'a> {
    r: &'a Report,
    out: Vec<Table>,
}

impl Builder<'_> {
    fn table(&mut self, id: &str, section: u8, title: &str, columns: Vec<String>) -> &mut Table {
        self.out.push(Table {
            id: id.to_string(),
            section,
            title: title.to_string(),
            columns,
            rows: Vec::new(),
            note: None,
        });
        self.out.last_mut().expect("just pushed")
    }

    /// `lead` columns, then one per port column, then `tail`.
    fn cols(&self, lead: &[&str], tail: &[&str]) -> Vec<String> {
        lead.iter()
            .map(|s| s.to_string())
            .chain(self.r.port_columns.iter().map(|p| format!("Port {p}")))
            .chain(tail.iter().map(|s| s.to_string()))
            .collect()
    }

    fn ports(&self, m: &PortMap) -> Vec<Cell> {
        self.r
            .port_columns
            .iter()
            .map(|p| Cell::Int(m.get(p).copied().unwrap_or(0)))
            .collect()
    }

    fn row(&self, lead: Vec<Cell>, m: &PortMap, tail: Vec<Cell>) -> Vec<Cell> {
        let mut v = lead;
        v.extend(self.ports(m));
        v.extend(tail);
        v
    }

    fn other(&self, label: String, lead_len: usize, o: &OtherRow) -> Vec<Cell> {
        let mut lead = vec![Cell::Text(label)];
        lead.resize(lead_len, Cell::Empty);
        self.row(
            lead,
            &o.by_port,
            vec![Cell::Int(o.total), Cell::Share(o.share)],
        )
    }
}

fn kv(t: &mut Table, k: &str, v: Cell) {
    t.rows.push(vec![Cell::Text(k.to_string()), v]);
}

/// Every table of the report, in section order.
pub fn tables(r: &Report) -> Vec<Table> {
    let mut b = Builder { r, out: Vec::new() };
    let metric = || vec!["Metric".to_string(), "Value".to_string()];

    // 1. Discovery
    let d = &r.discovery;
    let t = b.table("discovery_summary", 1, "Discovery summary", metric());
    kv(
        t,
        "Service nodes (distinct address, port)",
        d.services.into(),
    );
    kv(t, "Distinct addresses", d.addresses.into());
    kv(t, "Records read", r.inputs.records.into());
    kv(
        t,
        "Duplicate records (counted once)",
        r.inputs.duplicates.into(),
    );
    if r.options.port.is_some() {
        kv(
            t,
            "Records on other ports (filtered out)",
            r.inputs.filtered_out.into(),
        );
    }
    kv(t, "Malformed lines", r.inputs.malformed.into());
    kv(t, "Input files", r.inputs.files.len().into());
    if let Some(s) = &d.scan {
        kv(
            t,
            "Targets scanned (address, port)",
            s.targets_scanned.into(),
        );
        kv(t, "SYN-ACK hits (distinct)", s.hits_unique.into());
        kv(t, "Hit rate", s.hit_rate.map_or(Cell::Empty, Cell::Share));
        kv(t, "Probe packets sent", s.packets_sent.into());
        kv(t, "Addresses in scope", s.addresses_total.into());
        kv(
            t,
            "Ports scanned",
            Cell::Text(
                s.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
        kv(
            t,
            "Service nodes reported / hits",
            s.grabbed_share.map_or(Cell::Empty, Cell::Share),
        );
    }
    let cols = ["Port", "Nodes", "Share", "Success", "Greeting"]
        .map(String::from)
        .to_vec();
    let t = b.table("discovery_ports", 1, "Nodes per port", cols);
    for p in &d.ports {
        t.rows.push(vec![
            Cell::Text(p.port.clone()),
            p.services.into(),
            Cell::Share(p.share),
            p.success.into(),
            p.with_banner.into(),
        ]);
    }
    let t = b.table(
        "discovery_open_ports",
        1,
        "Addresses by number of open ports",
        vec!["Open ports".into(), "Addresses".into()],
    );
    for o in &d.addresses_by_open_ports {
        t.rows
            .push(vec![Cell::Int(u64::from(o.open_ports)), o.addresses.into()]);
    }
    if let Some(s) = &d.scan {
        let cols = [
            "File", "Shard", "Ports", "Targets", "Hits", "Hit rate", "Packets", "Seconds", "Start",
            "Exit",
        ]
        .map(String::from)
        .to_vec();
        let t = b.table("discovery_scans", 1, "Scan metadata", cols);
        for f in &s.files {
            t.rows.push(vec![
                Cell::Text(f.file.clone()),
                Cell::Text(format!("{}/{}", f.shard, f.shards)),
                Cell::Text(
                    f.ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                f.targets_scanned.into(),
                f.hits_unique.into(),
                f.hit_rate.map_or(Cell::Empty, Cell::Share),
                f.packets_sent.into(),
                Cell::Num(f.duration_s),
                Cell::Text(f.start_time.clone()),
                Cell::Text(f.exit_status.clone()),
            ]);
        }
    }
    let cols = [
        "File",
        "Gzip",
        "Lines",
        "Records",
        "Duplicates",
        "Malformed",
        "Filtered",
        "Read error",
    ]
    .map(String::from)
    .to_vec();
    let t = b.table("inputs", 1, "Input files", cols);
    for f in &r.inputs.files {
        t.rows.push(vec![
            Cell::Text(f.path.clone()),
            Cell::Text(if f.gzip { "yes" } else { "no" }.into()),
            f.lines.into(),
            f.records.into(),
            f.duplicates.into(),
            f.malformed.into(),
            f.filtered_out.into(),
            Cell::Text(f.read_error.clone().unwrap_or_default()),
        ]);
    }

    // 2. Fingerprinting
    let fp = &r.fingerprinting;
    let t = b.table(
        "fingerprinting_summary",
        2,
        "Fingerprinting summary",
        metric(),
    );
    kv(t, "Service nodes", fp.services.into());
    kv(t, "With a greeting", fp.with_banner.into());
    kv(t, "Fingerprinted", fp.fingerprinted.into());
    kv(
        t,
        "Fingerprinted, share of nodes",
        Cell::Share(fp.fingerprinted_share),
    );
    kv(
        t,
        "Fingerprinted, share of greetings",
        Cell::Share(fp.fingerprinted_share_of_banners),
    );
    kv(t, "Fingerprinted with a version", fp.with_version.into());
    kv(t, "Families", fp.families.into());
    kv(t, "Products", fp.products.into());
    let cols = ["Port", "Nodes", "Fingerprinted", "Share"]
        .map(String::from)
        .to_vec();
    let t = b.table(
        "fingerprinting_ports",
        2,
        "Fingerprinted nodes per port",
        cols,
    );
    for p in &fp.by_port {
        t.rows.push(vec![
            Cell::Text(p.port.clone()),
            p.services.into(),
            p.fingerprinted.into(),
            Cell::Share(p.share),
        ]);
    }
    let cols = b.cols(&["Family"], &["Total", "Share"]);
    let mut rows: Vec<Vec<Cell>> = fp
        .family_rows
        .iter()
        .map(|f| {
            b.row(
                vec![Cell::Text(f.family.clone())],
                &f.by_port,
                vec![f.total.into(), Cell::Share(f.share)],
            )
        })
        .collect();
    if let Some(o) = &fp.family_other {
        rows.push(b.other(format!("(other: {} families)", o.distinct), 1, o));
    }
    let t = b.table("families", 2, "Families", cols);
    t.rows = rows;
    t.note = Some("Share of fingerprinted nodes.".into());
    let cols = b.cols(&["Vendor", "Product", "Family"], &["Total", "Share"]);
    let mut rows: Vec<Vec<Cell>> = fp
        .product_rows
        .iter()
        .map(|p| {
            b.row(
                vec![
                    Cell::Text(p.vendor.clone()),
                    Cell::Text(p.product.clone()),
                    Cell::Text(p.family.clone()),
                ],
                &p.by_port,
                vec![p.total.into(), Cell::Share(p.share)],
            )
        })
        .collect();
    if let Some(o) = &fp.product_other {
        rows.push(b.other(format!("(other: {} products)", o.distinct), 3, o));
    }
    let t = b.table("products", 2, "Products", cols);
    t.rows = rows;

    // 3. Versions
    let cols = [
        "Family",
        "Nodes",
        "With version",
        "Newest",
        "On newest",
        "Older",
        "No version",
        "Unparsed",
        "Distinct",
    ]
    .map(String::from)
    .to_vec();
    let t = b.table("versions_summary", 3, "Versions per family", cols);
    for f in &r.versions.families {
        t.rows.push(vec![
            Cell::Text(f.family.clone()),
            f.nodes.into(),
            f.with_version.into(),
            Cell::Text(f.newest.clone().unwrap_or_default()),
            f.newest_count.into(),
            f.older_count.into(),
            f.without_version.into(),
            f.unparsed.into(),
            f.distinct_versions.into(),
        ]);
    }
    t.note =
        Some("\"Older\" counts nodes on any parsable version older than the newest seen.".into());
    for f in &r.versions.families {
        let cols = b.cols(&["Version"], &["Total", "Share", "≥ this", "< this"]);
        let opt = |x: Option<u64>| x.map_or(Cell::Empty, Cell::Int);
        let mut rows: Vec<Vec<Cell>> = f
            .versions
            .iter()
            .map(|v| {
                b.row(
                    vec![Cell::Text(v.version.clone())],
                    &v.by_port,
                    vec![
                        v.total.into(),
                        Cell::Share(v.share),
                        opt(v.at_or_above),
                        opt(v.below),
                    ],
                )
            })
            .collect();
        if let Some(o) = &f.other {
            let mut row = b.other(format!("(other: {} versions)", o.distinct), 1, o);
            row.extend([Cell::Empty, Cell::Empty]);
            rows.push(row);
        }
        let id = format!("versions_{}", slug(&f.family));
        let title = format!("{} versions", f.family);
        let t = b.table(&id, 3, &title, cols);
        t.rows = rows;
        t.note = Some(format!(
            "Share of the {} nodes with a version; \"≥ this\" / \"< this\": nodes at this version or newer / older (parsable versions).",
            f.with_version
        ));
        let id = format!("versions_{}_lines", slug(&f.family));
        let title = format!("{} release lines", f.family);
        let t = b.table(
            &id,
            3,
            &title,
            vec!["Line".into(), "Nodes".into(), "Share".into()],
        );
        for l in &f.lines {
            t.rows.push(vec![
                Cell::Text(l.line.clone()),
                l.total.into(),
                Cell::Share(l.share),
            ]);
        }
    }

    // 4. Exposure
    let e = &r.exposure;
    let t = b.table("exposure_summary", 4, "Exposure summary", metric());
    kv(t, "CVEs in the database", e.cves_in_db.into());
    kv(
        t,
        "Fingerprinted nodes with a parsable version",
        e.nodes_with_version.into(),
    );
    kv(
        t,
        "Nodes affected by at least one CVE",
        e.affected_any.into(),
    );
    for p in &r.port_columns {
        kv(
            t,
            &format!("  on port {p}"),
            Cell::Int(e.affected_any_by_port.get(p).copied().unwrap_or(0)),
        );
    }
    t.note = Some(
        "From banner versions: distribution backports are invisible, so these are upper bounds."
            .into(),
    );
    let cols = b.cols(
        &["CVE", "Products"],
        &["Affected", "Assessed", "Share", "No version", "Summary"],
    );
    let rows: Vec<Vec<Cell>> = e
        .cves
        .iter()
        .map(|c| {
            b.row(
                vec![Cell::Text(c.id.clone()), Cell::Text(c.products.join(", "))],
                &c.by_port,
                vec![
                    c.affected.into(),
                    c.assessed.into(),
                    Cell::Share(c.share_of_assessed),
                    c.unversioned.into(),
                    Cell::Text(c.summary.clone()),
                ],
            )
        })
        .collect();
    let t = b.table("exposure_cves", 4, "CVEs: affected nodes", cols);
    t.rows = rows;
    t.note = Some("Assessed: nodes of the listed products with a parsable version; Share = Affected / Assessed.".into());
    let t = b.table(
        "exposure_by_version",
        4,
        "Affected nodes by version",
        vec!["CVE".into(), "Version".into(), "Nodes".into()],
    );
    for c in &e.cves {
        for v in &c.by_version {
            t.rows.push(vec![
                Cell::Text(c.id.clone()),
                Cell::Text(v.key.clone()),
                v.count.into(),
            ]);
        }
    }
    if r.geography.country_db.is_some() {
        let t = b.table(
            "exposure_by_country",
            4,
            "Affected nodes by country",
            vec!["CVE".into(), "Country".into(), "Nodes".into()],
        );
        for c in &e.cves {
            for v in &c.by_country {
                t.rows.push(vec![
                    Cell::Text(c.id.clone()),
                    Cell::Text(v.key.clone()),
                    v.count.into(),
                ]);
            }
        }
    }
    if r.geography.asn_db.is_some() {
        let t = b.table(
            "exposure_by_provider",
            4,
            "Affected nodes by provider",
            vec!["CVE".into(), "Provider".into(), "Nodes".into()],
        );
        for c in &e.cves {
            for v in &c.by_provider {
                t.rows.push(vec![
                    Cell::Text(c.id.clone()),
                    Cell::Text(v.key.clone()),
                    v.count.into(),
                ]);
            }
        }
    }

    // 5. Transport security
    let tr = &r.transport;
    let cols = [
        "Port",
        "Nodes",
        "STARTTLS offered",
        "STARTTLS sent",
        "STARTTLS 220",
        "TLS via STARTTLS",
        "Implicit TLS",
        "TLS total",
        "TLS failures",
    ]
    .map(String::from)
    .to_vec();
    let t = b.table("transport_ports", 5, "STARTTLS and TLS per port", cols);
    for p in &tr.by_port {
        t.rows.push(vec![
            Cell::Text(p.port.clone()),
            p.services.into(),
            p.starttls_offered.into(),
            p.starttls_attempted.into(),
            p.starttls_accepted.into(),
            p.starttls_tls.into(),
            p.implicit_tls.into(),
            p.tls.into(),
            p.tls_failures.into(),
        ]);
    }
    t.note =
        Some("TLS failures: grabs that ended handshake-error or tls-version-unsupported.".into());
    let named_table = |b: &mut Builder,
                       id: &str,
                       title: &str,
                       head: &str,
                       rows: &[NamedRow],
                       other: Option<(&OtherRow, &str)>,
                       note: String| {
        let cols = b.cols(&[head], &["Total", "Share"]);
        let mut out: Vec<Vec<Cell>> = rows
            .iter()
            .map(|n| {
                b.row(
                    vec![Cell::Text(n.name.clone())],
                    &n.by_port,
                    vec![n.total.into(), Cell::Share(n.share)],
                )
            })
            .collect();
        if let Some((o, what)) = other {
            out.push(b.other(format!("(other: {} {what})", o.distinct), 1, o));
        }
        let t = b.table(id, 5, title, cols);
        t.rows = out;
        t.note = Some(note);
    };
    let base = format!("Share of the {} nodes with TLS.", tr.tls_total);
    named_table(
        &mut b,
        "transport_tls_versions",
        "TLS versions",
        "Version",
        &tr.tls_versions,
        None,
        base.clone(),
    );
    named_table(
        &mut b,
        "transport_cipher_suites",
        "Cipher suites",
        "Cipher suite",
        &tr.cipher_suites,
        tr.cipher_other.as_ref().map(|o| (o, "suites")),
        base.clone(),
    );
    named_table(
        &mut b,
        "transport_certificates",
        "Certificate health",
        "Check",
        &tr.certificates,
        None,
        base,
    );
    let with_cert = tr.certificates.first().map_or(0, |c| c.total);
    named_table(
        &mut b,
        "transport_issuers",
        "Most common issuers",
        "Issuer",
        &tr.issuers,
        tr.issuer_other.as_ref().map(|o| (o, "issuers")),
        format!("Share of the {with_cert} nodes with a certificate."),
    );

    // 6. Geography and providers
    let g = &r.geography;
    let t = b.table(
        "geography_databases",
        6,
        "Databases",
        vec![
            "Use".into(),
            "Path".into(),
            "Type".into(),
            "Build epoch".into(),
        ],
    );
    for (what, db) in [("country", &g.country_db), ("provider", &g.asn_db)] {
        if let Some(db) = db {
            t.rows.push(vec![
                Cell::Text(what.into()),
                Cell::Text(db.path.clone()),
                Cell::Text(db.database_type.clone()),
                db.build_epoch.into(),
            ]);
        }
    }
    if g.country_db.is_none() && g.asn_db.is_none() {
        t.note = Some("No --country-db or --asn-db given: no geography tables.".into());
    }
    if g.country_db.is_some() {
        let cols = b.cols(&["Code", "Country"], &["Total", "Share"]);
        let mut rows: Vec<Vec<Cell>> = g
            .countries
            .iter()
            .map(|c| {
                b.row(
                    vec![Cell::Text(c.iso_code.clone()), Cell::Text(c.name.clone())],
                    &c.by_port,
                    vec![c.total.into(), Cell::Share(c.share)],
                )
            })
            .collect();
        if let Some(o) = &g.country_other {
            rows.push(b.other(format!("(other: {} countries)", o.distinct), 2, o));
        }
        if let Some(o) = &g.country_unknown {
            rows.push(b.other("(unknown)".into(), 2, o));
        }
        let t = b.table("geography_countries", 6, "Countries", cols);
        t.rows = rows;
        t.note = Some("Share of all service nodes.".into());
    }
    if g.asn_db.is_some() {
        let cols = b.cols(&["ASN", "Provider"], &["Total", "Share"]);
        let mut rows: Vec<Vec<Cell>> = g
            .providers
            .iter()
            .map(|p| {
                b.row(
                    vec![
                        p.asn.map_or(Cell::Empty, |n| Cell::Text(format!("AS{n}"))),
                        Cell::Text(p.organization.clone()),
                    ],
                    &p.by_port,
                    vec![p.total.into(), Cell::Share(p.share)],
                )
            })
            .collect();
        if let Some(o) = &g.provider_other {
            rows.push(b.other(format!("(other: {} providers)", o.distinct), 2, o));
        }
        if let Some(o) = &g.provider_unknown {
            rows.push(b.other("(unknown)".into(), 2, o));
        }
        let t = b.table("geography_providers", 6, "Providers", cols);
        t.rows = rows;
        t.note = Some("Share of all service nodes.".into());
    }

    // 7. Problems
    let p = &r.problems;
    let cols = b.cols(&["Status"], &["Total", "Share"]);
    let rows: Vec<Vec<Cell>> = p
        .statuses
        .iter()
        .map(|s| {
            b.row(
                vec![Cell::Text(s.name.clone())],
                &s.by_port,
                vec![s.total.into(), Cell::Share(s.share)],
            )
        })
        .collect();
    let t = b.table("problems_statuses", 7, "Grab status", cols);
    t.rows = rows;
    t.note = Some(format!(
        "{} of {} nodes did not end with success.",
        p.failures, p.services
    ));
    let t = b.table(
        "problems_malformed",
        7,
        "Malformed input lines",
        vec!["File".into(), "Line".into(), "Error".into()],
    );
    for m in &r.inputs.malformed_examples {
        t.rows.push(vec![
            Cell::Text(m.file.clone()),
            m.line.into(),
            Cell::Text(m.error.clone()),
        ]);
    }
    if r.inputs.malformed > r.inputs.malformed_examples.len() as u64 {
        t.note = Some(format!(
            "{} malformed lines in all; the first {} are listed.",
            r.inputs.malformed,
            r.inputs.malformed_examples.len()
        ));
    }
    // Identifiers must be unique (they name CSV files): two families can
    // share a slug.
    let mut seen = std::collections::HashSet::new();
    for t in &mut b.out {
        let mut id = t.id.clone();
        let mut n = 2;
        while !seen.insert(id.clone()) {
            id = format!("{}_{n}", t.id);
            n += 1;
        }
        t.id = id;
    }
    b.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Exchange Server"), "exchange_server");
        assert_eq!(slug("exim"), "exim");
        assert_eq!(slug("  IBM/Lotus  Domino!"), "ibm_lotus_domino");
        assert_eq!(slug("%%"), "x");
    }

    #[test]
    fn cells_display() {
        assert_eq!(Cell::Share(0.1234).display(), "12.3%");
        assert_eq!(Cell::Share(0.1234).raw(), "0.123400");
        assert_eq!(Cell::Int(7).display(), "7");
        assert_eq!(Cell::Num(2.0).display(), "2");
        assert_eq!(Cell::Num(2.5).display(), "2.500");
        assert!(Cell::Int(1).numeric() && !Cell::Empty.numeric());
    }
}
