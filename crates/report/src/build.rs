//! Turning the aggregator's counters into the [`Report`] tables.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use smtpsweep_vulns::Version;

use crate::agg::{Aggregator, KNOWN_STATUSES, MISSING_STATUS, PortAgg};
use crate::geo::{GeoDb, country_label, provider_label};
use crate::model::*;

/// Ports that always get a column (NICER's three SMTP ports).
pub const STANDARD_PORTS: [u16; 3] = [25, 587, 465];
/// Other ports that get their own column (the busiest); the rest share `other`.
pub const MAX_EXTRA_PORT_COLUMNS: usize = 5;

/// Fraction `a / b`, 0 when `b` is 0.
pub(crate) fn share(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

struct Columns {
    labels: Vec<String>,
    /// Column of each aggregator port index.
    of_port: Vec<usize>,
}

impl Columns {
    fn new(agg: &Aggregator) -> Columns {
        let mut labels: Vec<String> = Vec::new();
        let mut of_port = vec![0; agg.ports.len()];
        if let Some(p) = agg.config.port {
            labels.push(p.to_string());
            return Columns { labels, of_port };
        }
        let mut extra: Vec<(u16, u64)> = agg
            .ports
            .iter()
            .zip(&agg.per_port)
            .filter(|(p, _)| !STANDARD_PORTS.contains(p))
            .map(|(&p, a)| (p, a.services))
            .collect();
        extra.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let folded = extra.len() > MAX_EXTRA_PORT_COLUMNS;
        extra.truncate(MAX_EXTRA_PORT_COLUMNS);
        let mut kept: Vec<u16> = extra.into_iter().map(|(p, _)| p).collect();
        kept.sort_unstable();
        let mut ports: Vec<u16> = STANDARD_PORTS.to_vec();
        ports.extend(kept);
        labels = ports.iter().map(u16::to_string).collect();
        if folded {
            labels.push("other".to_string());
        }
        for (i, p) in agg.ports.iter().enumerate() {
            of_port[i] = ports
                .iter()
                .position(|q| q == p)
                .unwrap_or(labels.len() - 1);
        }
        Columns { labels, of_port }
    }

    /// Fold per-port-index counts into columns.
    fn fold(&self, counts: &[u64]) -> Vec<u64> {
        let mut out = vec![0; self.labels.len()];
        for (i, &c) in counts.iter().enumerate() {
            out[self.of_port[i]] += c;
        }
        out
    }

    fn map(&self, cols: &[u64]) -> PortMap {
        self.labels
            .iter()
            .cloned()
            .zip(cols.iter().copied())
            .collect()
    }

    /// Per-port-index counts to (total, map).
    fn counts(&self, counts: &[u64]) -> (u64, PortMap) {
        let cols = self.fold(counts);
        (cols.iter().sum(), self.map(&cols))
    }

    /// Per-column sums of one `PortAgg` field.
    fn field(&self, agg: &Aggregator, f: impl Fn(&PortAgg) -> u64) -> Vec<u64> {
        let per: Vec<u64> = agg.per_port.iter().map(f).collect();
        self.fold(&per)
    }
}

/// Element-wise `a += b`.
fn add_into(a: &mut Vec<u64>, b: &[u64]) {
    if a.len() < b.len() {
        a.resize(b.len(), 0);
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// Items with per-port-index counts.
type Counted<T> = Vec<(T, Vec<u64>)>;

/// Sort `(item, counts)` by total (desc) then key, and split at `top`.
fn rank<T, K: Ord>(
    mut items: Counted<T>,
    key: impl Fn(&T) -> K,
    top: usize,
) -> (Counted<T>, Counted<T>) {
    items.sort_by(|a, b| {
        let (ta, tb): (u64, u64) = (a.1.iter().sum(), b.1.iter().sum());
        tb.cmp(&ta).then_with(|| key(&a.0).cmp(&key(&b.0)))
    });
    let rest = if items.len() > top {
        items.split_off(top)
    } else {
        Vec::new()
    };
    (items, rest)
}

fn other_row<T>(cols: &Columns, rest: &[(T, Vec<u64>)], base: u64) -> Option<OtherRow> {
    if rest.is_empty() {
        return None;
    }
    let mut sum = Vec::new();
    for (_, c) in rest {
        add_into(&mut sum, c);
    }
    let (total, by_port) = cols.counts(&sum);
    Some(OtherRow {
        distinct: rest.len(),
        total,
        share: share(total, base),
        by_port,
    })
}

/// `4.92.3` -> `4.92`; `8.14.4/8.14.4` -> `8.14`; no leading digit: as is.
pub(crate) fn release_line(v: &str) -> String {
    let t = v.trim();
    let t = t
        .strip_prefix(['v', 'V'])
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(t);
    if !t.starts_with(|c: char| c.is_ascii_digit()) {
        return v.trim().to_string();
    }
    let nums: Vec<&str> = t
        .split('.')
        .map(|p| {
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            &p[..end]
        })
        .take(2)
        .collect();
    match nums.as_slice() {
        [a, b] if !b.is_empty() => format!("{a}.{b}"),
        [a, ..] => a.to_string(),
        [] => t.to_string(),
    }
}

/// Versions newest first; unparsable ones last (by text).
fn cmp_versions(a: &(String, Option<Version>), b: &(String, Option<Version>)) -> Ordering {
    match (&a.1, &b.1) {
        (Some(x), Some(y)) => y.cmp(x).then_with(|| a.0.cmp(&b.0)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    }
}

pub(crate) fn build(agg: Aggregator) -> Report {
    let cols = Columns::new(&agg);
    let top = agg.config.top.max(1);
    let services = agg.seen_v4.len() as u64 + agg.seen_v6.len() as u64;
    let s = |id: u32| -> &str { &agg.strings.names[id as usize] };
    let mut notices = agg.notices.clone();

    // ------------------------------------------------------------ inputs
    let inputs = Inputs {
        files: agg.files.clone(),
        lines: agg.lines,
        blank_lines: agg.blank_lines,
        records: agg.records,
        duplicates: agg.duplicates,
        filtered_out: agg.filtered_out,
        malformed: agg.malformed,
        malformed_examples: agg.malformed_examples.clone(),
        metadata_files: agg.metadata.iter().map(|(n, _)| n.clone()).collect(),
    };
    if agg.malformed > 0 {
        notices.push(format!(
            "{} malformed line(s) skipped (first: {})",
            agg.malformed,
            agg.malformed_examples
                .first()
                .map(|m| format!("{}:{}: {}", m.file, m.line, m.error))
                .unwrap_or_default()
        ));
    }

    // --------------------------------------------------------- discovery
    let svc = cols.field(&agg, |p| p.services);
    let success = cols.field(&agg, |p| p.success);
    let banner = cols.field(&agg, |p| p.with_banner);
    let ports: Vec<PortRow> = cols
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| PortRow {
            port: l.clone(),
            services: svc[i],
            share: share(svc[i], services),
            success: success[i],
            with_banner: banner[i],
        })
        .collect();
    let mut ips: Vec<u32> = agg.seen_v4.iter().map(|k| (k >> 16) as u32).collect();
    ips.sort_unstable();
    let mut per_ip: BTreeMap<u32, u64> = BTreeMap::new();
    let mut addresses = 0u64;
    let mut i = 0;
    while i < ips.len() {
        let mut j = i + 1;
        while j < ips.len() && ips[j] == ips[i] {
            j += 1;
        }
        *per_ip.entry((j - i) as u32).or_insert(0) += 1;
        addresses += 1;
        i = j;
    }
    drop(ips);
    let mut v6: Vec<u128> = agg.seen_v6.iter().map(|k| k.0).collect();
    v6.sort_unstable();
    let mut i = 0;
    while i < v6.len() {
        let mut j = i + 1;
        while j < v6.len() && v6[j] == v6[i] {
            j += 1;
        }
        *per_ip.entry((j - i) as u32).or_insert(0) += 1;
        addresses += 1;
        i = j;
    }
    let scan = (!agg.metadata.is_empty()).then(|| {
        let mut s = ScanSummary::default();
        let mut ports = Vec::new();
        for (name, m) in &agg.metadata {
            s.files.push(ScanFileRow {
                file: name.clone(),
                shard: m.shard,
                shards: m.shards,
                ports: m.ports.clone(),
                targets_scanned: m.targets_scanned,
                hits_unique: m.hits_unique,
                hit_rate: (m.targets_scanned > 0).then(|| share(m.hits_unique, m.targets_scanned)),
                packets_sent: m.packets_sent,
                duration_s: m.duration_s,
                start_time: m.start_time.clone(),
                exit_status: m.exit_status.clone(),
            });
            s.targets_scanned += m.targets_scanned;
            s.hits_unique += m.hits_unique;
            s.packets_sent += m.packets_sent;
            s.addresses_total = s.addresses_total.max(m.addresses_total);
            for p in &m.ports {
                if !ports.contains(p) {
                    ports.push(*p);
                }
            }
        }
        s.ports = ports;
        s.hit_rate = (s.targets_scanned > 0).then(|| share(s.hits_unique, s.targets_scanned));
        s.grabbed_share = (s.hits_unique > 0).then(|| share(services, s.hits_unique));
        s
    });
    let discovery = Discovery {
        services,
        addresses,
        ports,
        addresses_by_open_ports: per_ip
            .into_iter()
            .map(|(open_ports, addresses)| OpenPortsRow {
                open_ports,
                addresses,
            })
            .collect(),
        scan,
    };

    // ---------------------------------------------------- fingerprinting
    let fingerprinted: u64 = agg.per_port.iter().map(|p| p.fingerprinted).sum();
    let with_banner: u64 = agg.per_port.iter().map(|p| p.with_banner).sum();
    let with_version: u64 = agg.per_port.iter().map(|p| p.with_version).sum();
    let fpc = cols.field(&agg, |p| p.fingerprinted);
    let mut fam_counts: HashMap<u32, Vec<u64>> = HashMap::new();
    let mut prod_counts: HashMap<(u32, u32, u32), Vec<u64>> = HashMap::new();
    for (g, key) in agg.fp_keys.iter().enumerate() {
        let c = &agg.fp_counts[g];
        add_into(fam_counts.entry(key[1]).or_default(), c);
        add_into(prod_counts.entry((key[0], key[2], key[1])).or_default(), c);
    }
    let n_families = fam_counts.len();
    let n_products = prod_counts.len();
    let all_families = fam_counts.clone();
    let (fam_top, fam_rest) = rank(fam_counts.into_iter().collect(), |&f| s(f).to_string(), top);
    let (prod_top, prod_rest) = rank(
        prod_counts.into_iter().collect(),
        |&(v, p, f)| (s(f).to_string(), s(p).to_string(), s(v).to_string()),
        top,
    );
    let fingerprinting = Fingerprinting {
        services,
        with_banner,
        fingerprinted,
        fingerprinted_share: share(fingerprinted, services),
        fingerprinted_share_of_banners: share(fingerprinted, with_banner),
        with_version,
        families: n_families,
        products: n_products,
        by_port: cols
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| FingerprintPortRow {
                port: l.clone(),
                services: svc[i],
                fingerprinted: fpc[i],
                share: share(fpc[i], svc[i]),
            })
            .collect(),
        family_rows: fam_top
            .iter()
            .map(|(f, c)| {
                let (total, by_port) = cols.counts(c);
                FamilyRow {
                    family: s(*f).to_string(),
                    total,
                    share: share(total, fingerprinted),
                    by_port,
                }
            })
            .collect(),
        family_other: other_row(&cols, &fam_rest, fingerprinted),
        product_rows: prod_top
            .iter()
            .map(|((v, p, f), c)| {
                let (total, by_port) = cols.counts(c);
                ProductRow {
                    vendor: s(*v).to_string(),
                    product: s(*p).to_string(),
                    family: s(*f).to_string(),
                    total,
                    share: share(total, fingerprinted),
                    by_port,
                }
            })
            .collect(),
        product_other: other_row(&cols, &prod_rest, fingerprinted),
    };

    // ---------------------------------------------------------- versions
    // Parsed version of each interned string (only version strings are parsed).
    let mut parsed: HashMap<u32, Option<Version>> = HashMap::new();
    for key in &agg.fp_keys {
        parsed.entry(key[3]).or_insert_with(|| {
            (key[3] != 0)
                .then(|| Version::parse(s(key[3])).ok())
                .flatten()
        });
    }
    let shown_families: Vec<u32> = match &agg.config.family {
        Some(name) => {
            let found: Vec<u32> = all_families
                .keys()
                .copied()
                .filter(|&f| s(f).eq_ignore_ascii_case(name.trim()))
                .collect();
            if found.is_empty() {
                notices.push(format!("--family {name:?}: no node of that family"));
            }
            found
        }
        None => fam_top.iter().map(|(f, _)| *f).collect(),
    };
    let mut versions = Versions::default();
    for fam in shown_families {
        let mut by_version: HashMap<u32, Vec<u64>> = HashMap::new();
        for (g, key) in agg.fp_keys.iter().enumerate() {
            if key[1] == fam {
                add_into(by_version.entry(key[3]).or_default(), &agg.fp_counts[g]);
            }
        }
        let nodes: u64 = by_version.values().flatten().sum();
        let without: u64 = by_version.get(&0).map_or(0, |c| c.iter().sum());
        by_version.remove(&0);
        let fam_with_version = nodes - without;
        let mut list: Counted<(String, Option<Version>)> = by_version
            .into_iter()
            .map(|(v, c)| ((s(v).to_string(), parsed[&v].clone()), c))
            .collect();
        list.sort_by(|a, b| cmp_versions(&a.0, &b.0));
        // Cumulative counts over parsable versions, newest first; equal
        // versions (4.92 and 4.92.0) share their figures.
        let parsed_total: u64 = list
            .iter()
            .filter(|(k, _)| k.1.is_some())
            .map(|(_, c)| c.iter().sum::<u64>())
            .sum();
        let mut at_or_above = vec![None; list.len()];
        let mut cum = 0u64;
        let mut i = 0;
        while i < list.len() && list[i].0.1.is_some() {
            let mut j = i;
            while j < list.len() && list[j].0.1.is_some() && list[j].0.1 == list[i].0.1 {
                cum += list[j].1.iter().sum::<u64>();
                j += 1;
            }
            for slot in &mut at_or_above[i..j] {
                *slot = Some(cum);
            }
            i = j;
        }
        let newest_end = list
            .iter()
            .take_while(|(k, _)| k.1.is_some() && k.1 == list[0].0.1)
            .count();
        let newest_count: u64 = list[..newest_end]
            .iter()
            .map(|(_, c)| c.iter().sum::<u64>())
            .sum();
        let unparsed: u64 = list
            .iter()
            .filter(|(k, _)| k.1.is_none())
            .map(|(_, c)| c.iter().sum::<u64>())
            .sum();
        let mut lines: HashMap<String, u64> = HashMap::new();
        for ((v, _), c) in &list {
            *lines.entry(release_line(v)).or_default() += c.iter().sum::<u64>();
        }
        let mut lines: Vec<((String, Option<Version>), u64)> = lines
            .into_iter()
            .map(|(l, n)| {
                let v = Version::parse(&l).ok();
                ((l, v), n)
            })
            .collect();
        lines.sort_by(|a, b| cmp_versions(&a.0, &b.0));
        // Rows: the top N by nodes (all with --family), shown newest first.
        let distinct = list.len();
        let mut idx: Vec<usize> = (0..list.len()).collect();
        let listed: Vec<usize> = if agg.config.family.is_some() {
            idx
        } else {
            idx.sort_by(|&a, &b| {
                let (ta, tb): (u64, u64) = (list[a].1.iter().sum(), list[b].1.iter().sum());
                tb.cmp(&ta).then(a.cmp(&b))
            });
            idx.truncate(top);
            idx.sort_unstable();
            idx
        };
        let rest: Vec<((), Vec<u64>)> = (0..list.len())
            .filter(|i| !listed.contains(i))
            .map(|i| ((), list[i].1.clone()))
            .collect();
        versions.families.push(FamilyVersions {
            family: s(fam).to_string(),
            nodes,
            with_version: fam_with_version,
            without_version: without,
            unparsed,
            distinct_versions: distinct,
            newest: list
                .first()
                .filter(|(k, _)| k.1.is_some())
                .map(|(k, _)| k.0.clone()),
            newest_count,
            older_count: parsed_total - newest_count,
            versions: listed
                .iter()
                .map(|&i| {
                    let (total, by_port) = cols.counts(&list[i].1);
                    VersionRow {
                        version: list[i].0.0.clone(),
                        total,
                        share: share(total, fam_with_version),
                        by_port,
                        at_or_above: at_or_above[i],
                        below: at_or_above[i].map(|a| parsed_total - a),
                    }
                })
                .collect(),
            other: other_row(&cols, &rest, fam_with_version),
            lines: lines
                .into_iter()
                .map(|((line, _), total)| LineRow {
                    line,
                    total,
                    share: share(total, fam_with_version),
                })
                .collect(),
        });
    }

    // ---------------------------------------------------------- exposure
    let group_version: Vec<Option<&Version>> =
        agg.fp_keys.iter().map(|k| parsed[&k[3]].as_ref()).collect();
    let group_total: Vec<u64> = agg.fp_counts.iter().map(|c| c.iter().sum()).collect();
    let nodes_with_version: u64 = group_version
        .iter()
        .zip(&group_total)
        .filter(|(v, _)| v.is_some())
        .map(|(_, t)| t)
        .sum();
    let mut affected_any = vec![false; agg.fp_keys.len()];
    let label_of = |db: &Option<GeoDb>, g: u32, country: bool| -> String {
        match db {
            Some(db) if g != 0 => {
                let k = &db.keys()[g as usize];
                if country {
                    country_label(k)
                } else {
                    provider_label(k)
                }
            }
            _ => "(unknown)".to_string(),
        }
    };
    let mut cve_rows: Vec<CveRow> = Vec::new();
    for cve in agg.vulns.cves() {
        let applies = |name: &str| {
            !name.is_empty()
                && cve
                    .products
                    .iter()
                    .any(|p| p.trim().eq_ignore_ascii_case(name))
        };
        let mut hit = vec![false; agg.fp_keys.len()];
        let mut counts = Vec::new();
        let mut assessed = 0;
        let mut unversioned = 0;
        let mut by_version: HashMap<&str, u64> = HashMap::new();
        for (g, key) in agg.fp_keys.iter().enumerate() {
            if !(applies(s(key[1])) || applies(s(key[2]))) {
                continue;
            }
            let Some(v) = group_version[g] else {
                unversioned += group_total[g];
                continue;
            };
            assessed += group_total[g];
            if cve.ranges.iter().any(|r| r.contains(v)) {
                hit[g] = true;
                affected_any[g] = true;
                add_into(&mut counts, &agg.fp_counts[g]);
                *by_version.entry(s(key[3])).or_default() += group_total[g];
            }
        }
        let (affected, by_port) = cols.counts(&counts);
        let mut by_version: Vec<((String, Option<Version>), u64)> = by_version
            .into_iter()
            .map(|(v, n)| ((v.to_string(), Version::parse(v).ok()), n))
            .collect();
        by_version.sort_by(|a, b| cmp_versions(&a.0, &b.0));
        let mut by_country: HashMap<u32, u64> = HashMap::new();
        let mut by_provider: HashMap<u32, u64> = HashMap::new();
        for (&(g, c, a), &n) in &agg.fp_geo {
            if hit[g as usize] {
                if agg.country.is_some() {
                    *by_country.entry(c).or_default() += n;
                }
                if agg.asn.is_some() {
                    *by_provider.entry(a).or_default() += n;
                }
            }
        }
        let top_keys = |m: HashMap<u32, u64>, db: &Option<GeoDb>, country: bool| {
            let mut v: Vec<KeyCount> = m
                .into_iter()
                .map(|(g, count)| KeyCount {
                    key: label_of(db, g, country),
                    count,
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            v.truncate(top);
            v
        };
        cve_rows.push(CveRow {
            id: cve.id.clone(),
            products: cve.products.clone(),
            summary: cve.summary.clone(),
            affected,
            by_port,
            assessed,
            share_of_assessed: share(affected, assessed),
            unversioned,
            by_version: by_version
                .into_iter()
                .map(|((key, _), count)| KeyCount { key, count })
                .collect(),
            by_country: top_keys(by_country, &agg.country, true),
            by_provider: top_keys(by_provider, &agg.asn, false),
        });
    }
    cve_rows.sort_by_key(|c| std::cmp::Reverse(c.affected));
    let mut any_counts = Vec::new();
    for (g, hit) in affected_any.iter().enumerate() {
        if *hit {
            add_into(&mut any_counts, &agg.fp_counts[g]);
        }
    }
    let (affected_total, affected_by_port) = cols.counts(&any_counts);
    let exposure = Exposure {
        cves_in_db: agg.vulns.cves().len(),
        nodes_with_version,
        affected_any: affected_total,
        affected_any_by_port: affected_by_port,
        cves: cve_rows,
    };

    // --------------------------------------------------------- transport
    let f = |g: fn(&PortAgg) -> u64| cols.field(&agg, g);
    let (offered, attempted, accepted) = (
        f(|p| p.starttls_offered),
        f(|p| p.starttls_attempted),
        f(|p| p.starttls_accepted),
    );
    let (st_tls, imp, tls, tls_fail) = (
        f(|p| p.tls_starttls),
        f(|p| p.tls_implicit),
        f(|p| p.tls),
        f(|p| p.tls_failures),
    );
    let tls_total: u64 = tls.iter().sum();
    let named = |label: &str, c: Vec<u64>, base: u64| {
        let total = c.iter().sum();
        NamedRow {
            name: label.to_string(),
            total,
            share: share(total, base),
            by_port: cols.map(&c),
        }
    };
    let tally_rows = |t: &crate::agg::Tally| -> Vec<(u32, Vec<u64>)> {
        (0..t.names.len() as u32)
            .map(|i| (i, t.counts[i as usize].clone()))
            .filter(|(_, c)| c.iter().sum::<u64>() > 0)
            .collect()
    };
    let to_named = |t: &crate::agg::Tally, rows: &[(u32, Vec<u64>)], base: u64| -> Vec<NamedRow> {
        rows.iter()
            .map(|(i, c)| named(&t.names[*i as usize], cols.fold(c), base))
            .collect()
    };
    let (tv, _) = rank(
        tally_rows(&agg.tls_versions),
        |&i| agg.tls_versions.names[i as usize].clone(),
        usize::MAX,
    );
    let (ct, cr) = rank(
        tally_rows(&agg.ciphers),
        |&i| agg.ciphers.names[i as usize].clone(),
        top,
    );
    let with_cert = f(|p| p.with_cert);
    let with_cert_total: u64 = with_cert.iter().sum();
    let (it, ir) = rank(
        tally_rows(&agg.issuers),
        |&i| agg.issuers.names[i as usize].clone(),
        top,
    );
    let transport = Transport {
        by_port: cols
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| TransportPortRow {
                port: l.clone(),
                services: svc[i],
                starttls_offered: offered[i],
                starttls_attempted: attempted[i],
                starttls_accepted: accepted[i],
                starttls_tls: st_tls[i],
                implicit_tls: imp[i],
                tls: tls[i],
                tls_failures: tls_fail[i],
            })
            .collect(),
        tls_total,
        tls_versions: to_named(&agg.tls_versions, &tv, tls_total),
        cipher_suites: to_named(&agg.ciphers, &ct, tls_total),
        cipher_other: other_row(&cols, &cr, tls_total),
        certificates: vec![
            named("with certificate", with_cert.clone(), tls_total),
            named("self-signed", f(|p| p.self_signed), tls_total),
            named("expired", f(|p| p.expired), tls_total),
            named("name mismatch", f(|p| p.name_mismatch), tls_total),
            named("name not checked", f(|p| p.name_unchecked), tls_total),
            named("trusted", f(|p| p.trusted), tls_total),
            named("not trusted", f(|p| p.untrusted), tls_total),
        ],
        issuers: to_named(&agg.issuers, &it, with_cert_total),
        issuer_other: other_row(&cols, &ir, with_cert_total),
    };

    // --------------------------------------------------------- geography
    let mut geography = Geography {
        country_db: agg.country.as_ref().map(|d| d.info.clone()),
        asn_db: agg.asn.as_ref().map(|d| d.info.clone()),
        ..Geography::default()
    };
    for (db, what) in [(&agg.country, "country"), (&agg.asn, "ASN")] {
        if let Some(e) = db.as_ref().and_then(|d| d.error()) {
            notices.push(format!(
                "{}: {what} lookups failed for some addresses (counted unknown): {e}",
                db.as_ref().map(|d| d.info.path.as_str()).unwrap_or("")
            ));
        }
    }
    let unknown_row = |counts: &[Vec<u64>]| -> Option<OtherRow> {
        let c = counts.first()?;
        let (total, by_port) = cols.counts(c);
        (total > 0).then(|| OtherRow {
            distinct: 0,
            total,
            share: share(total, services),
            by_port,
        })
    };
    let known = |counts: &[Vec<u64>]| -> Vec<(u32, Vec<u64>)> {
        counts
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, c)| c.iter().sum::<u64>() > 0)
            .map(|(g, c)| (g as u32, c.clone()))
            .collect()
    };
    if let Some(db) = &agg.country {
        let (t, r) = rank(
            known(&agg.country_counts),
            |&g| country_label(&db.keys()[g as usize]),
            top,
        );
        geography.countries = t
            .iter()
            .map(|(g, c)| {
                let k = &db.keys()[*g as usize];
                let (total, by_port) = cols.counts(c);
                CountryRow {
                    iso_code: k.iso.clone(),
                    name: k.name.clone(),
                    total,
                    share: share(total, services),
                    by_port,
                }
            })
            .collect();
        geography.country_other = other_row(&cols, &r, services);
        geography.country_unknown = unknown_row(&agg.country_counts);
    }
    if let Some(db) = &agg.asn {
        let (t, r) = rank(
            known(&agg.asn_counts),
            |&g| provider_label(&db.keys()[g as usize]),
            top,
        );
        geography.providers = t
            .iter()
            .map(|(g, c)| {
                let k = &db.keys()[*g as usize];
                let (total, by_port) = cols.counts(c);
                ProviderRow {
                    asn: k.asn,
                    organization: k.name.clone(),
                    total,
                    share: share(total, services),
                    by_port,
                }
            })
            .collect();
        geography.provider_other = other_row(&cols, &r, services);
        geography.provider_unknown = unknown_row(&agg.asn_counts);
    }

    // ---------------------------------------------------------- problems
    let mut status_ids: Vec<u32> = (0..agg.statuses.names.len() as u32).collect();
    let rank_of = |i: u32| {
        let n = &*agg.statuses.names[i as usize];
        if let Some(k) = KNOWN_STATUSES.iter().position(|s| *s == n) {
            (0, k, String::new())
        } else if n == MISSING_STATUS {
            (2, 0, String::new())
        } else {
            (1, 0, n.to_string())
        }
    };
    status_ids.sort_by_key(|&i| rank_of(i));
    let statuses: Vec<NamedRow> = status_ids
        .into_iter()
        .filter(|&i| {
            let n = &*agg.statuses.names[i as usize];
            KNOWN_STATUSES.contains(&n) || agg.statuses.counts[i as usize].iter().sum::<u64>() > 0
        })
        .map(|i| {
            named(
                &agg.statuses.names[i as usize],
                cols.fold(&agg.statuses.counts[i as usize]),
                services,
            )
        })
        .collect();
    let success_total: u64 = success.iter().sum();
    let problems = Problems {
        services,
        failures: services - success_total,
        statuses,
        malformed_lines: agg.malformed,
    };

    if services == 0 {
        notices.push("no service records were read".to_string());
    }
    Report {
        tool: format!("smtpsweep-report {}", env!("CARGO_PKG_VERSION")),
        options: ReportOptions {
            top,
            family: agg.config.family.clone(),
            port: agg.config.port,
            country_db: agg
                .config
                .country_db
                .as_ref()
                .map(|p| p.display().to_string()),
            asn_db: agg.config.asn_db.as_ref().map(|p| p.display().to_string()),
            cves_in_db: agg.vulns.cves().len(),
        },
        port_columns: cols.labels.clone(),
        inputs,
        discovery,
        fingerprinting,
        versions,
        exposure,
        transport,
        geography,
        problems,
        notices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_lines() {
        assert_eq!(release_line("4.92.3"), "4.92");
        assert_eq!(release_line("4.93"), "4.93");
        assert_eq!(release_line("8.14.4/8.14.4"), "8.14");
        assert_eq!(release_line("4.89_1"), "4.89");
        assert_eq!(release_line("6.6.1p1"), "6.6");
        assert_eq!(release_line("15"), "15");
        assert_eq!(release_line("v2.4"), "2.4");
        assert_eq!(release_line("unknown"), "unknown");
    }
}
