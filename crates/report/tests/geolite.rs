//! A real GeoLite2 / DB-IP database, when one is installed.
//!
//! No Debian package ships a GeoLite2 or DB-IP `.mmdb` file (`geoip-database`
//! has the legacy `.dat` format), so this test looks for one named by
//! `SMTPSWEEP_GEOLITE_COUNTRY` / `SMTPSWEEP_GEOLITE_ASN` or in the usual
//! places (`/usr/share/GeoIP`, `/var/lib/GeoIP`) and is skipped with a
//! notice when there is none. With a file, it checks that the report opens
//! it, reads its metadata, and gives every test address (198.18.0.0/15 and
//! documentation ranges, which real databases leave unassigned) the same
//! answer as a direct `maxminddb` lookup.

use std::net::IpAddr;
use std::path::PathBuf;

use smtpsweep_report::{Aggregator, ReportConfig, VulnDb};

fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    for dir in [
        "/usr/share/GeoIP",
        "/var/lib/GeoIP",
        "/usr/local/share/GeoIP",
    ] {
        for n in names {
            let p = PathBuf::from(dir).join(n);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn real_geolite_databases_if_installed() {
    let country = find(
        "SMTPSWEEP_GEOLITE_COUNTRY",
        &[
            "GeoLite2-Country.mmdb",
            "GeoLite2-City.mmdb",
            "dbip-country-lite.mmdb",
        ],
    );
    let asn = find(
        "SMTPSWEEP_GEOLITE_ASN",
        &["GeoLite2-ASN.mmdb", "dbip-asn-lite.mmdb"],
    );
    if country.is_none() && asn.is_none() {
        eprintln!(
            "notice: no GeoLite2/DB-IP database installed (none is packaged in Debian); \
             set SMTPSWEEP_GEOLITE_COUNTRY / SMTPSWEEP_GEOLITE_ASN to test one"
        );
        return;
    }
    let addrs = [
        "198.18.0.1",
        "198.19.255.254",
        "192.0.2.7",
        "198.51.100.9",
        "203.0.113.200",
    ];
    let mut data = String::new();
    for a in addrs {
        data.push_str(&format!(
            "{{\"ip\":\"{a}\",\"port\":25,\"status\":\"success\"}}\n"
        ));
    }
    let cfg = ReportConfig {
        country_db: country.clone(),
        asn_db: asn.clone(),
        ..ReportConfig::default()
    };
    let mut agg = Aggregator::new(cfg, VulnDb::builtin()).unwrap();
    agg.add_reader("doc.jsonl", data.as_bytes());
    let r = agg.finish();
    for (path, info, known, unknown) in [
        (
            &country,
            &r.geography.country_db,
            r.geography.countries.iter().map(|c| c.total).sum::<u64>(),
            r.geography.country_unknown.as_ref().map_or(0, |u| u.total),
        ),
        (
            &asn,
            &r.geography.asn_db,
            r.geography.providers.iter().map(|c| c.total).sum::<u64>(),
            r.geography.provider_unknown.as_ref().map_or(0, |u| u.total),
        ),
    ] {
        let Some(path) = path else { continue };
        let info = info.as_ref().unwrap();
        let reader = maxminddb::Reader::open_readfile(path).unwrap();
        assert_eq!(info.database_type, reader.metadata().database_type);
        assert_eq!(info.build_epoch, reader.metadata().build_epoch);
        let with_data = addrs
            .iter()
            .filter(|a| {
                reader
                    .lookup(a.parse::<IpAddr>().unwrap())
                    .unwrap()
                    .has_data()
            })
            .count() as u64;
        assert_eq!(known, with_data, "{}", path.display());
        assert_eq!(known + unknown, addrs.len() as u64);
        eprintln!(
            "{}: {} (built {}), {with_data} of {} test addresses found",
            path.display(),
            info.database_type,
            info.build_epoch,
            addrs.len()
        );
    }
}
