//! Fictional geography for the testbed: a MaxMind-format country database
//! and an ASN database covering the testbed prefix, so that reports show
//! their country and provider tables offline.
//!
//! The prefix is cut into 16 equal subnets; each gets a country and a
//! provider drawn from small fictional lists with uneven weights (so the
//! tables have a clear ranking), deterministically from the seed. Country
//! codes are ISO 3166 user-assigned codes (XA–XZ, QM–QZ), provider numbers
//! are private-use ASNs (64512–65534): nothing here names a real place or
//! network.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use smtpsweep_mmdb::{MmdbWriter, asn_record, country_record};

use crate::error::{Error, Result};
use crate::mix::{hash, unit};
use crate::prefix::Ipv4Prefix;

/// Fictional countries: (user-assigned ISO code, name, weight).
pub const COUNTRIES: [(&str, &str, f64); 6] = [
    ("XA", "Avaloria", 0.30),
    ("XB", "Brevonia", 0.22),
    ("XC", "Corvanth", 0.18),
    ("QM", "Delmaris", 0.14),
    ("QN", "Estavia", 0.10),
    ("XF", "Fennmark", 0.06),
];

/// Fictional providers: (private-use ASN, organisation, weight).
pub const PROVIDERS: [(u32, &str, f64); 6] = [
    (64512, "Avalon Hosting", 0.28),
    (64513, "Brightwave Networks", 0.22),
    (64514, "Cumulus Cloud", 0.18),
    (64515, "Driftline Telecom", 0.14),
    (64516, "Ember Datacenters", 0.10),
    (64517, "Fjord Transit", 0.08),
];

/// One subnet's country and provider.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoAssignment {
    /// The subnet (a sixteenth of the testbed prefix).
    pub subnet: Ipv4Prefix,
    /// ISO code and name of its country.
    pub country: (&'static str, &'static str),
    /// ASN and organisation of its provider.
    pub provider: (u32, &'static str),
}

fn pick<T: Copy>(items: &[T], weight: impl Fn(&T) -> f64, u: f64) -> T {
    let mut acc = 0.0;
    for it in items {
        acc += weight(it);
        if u < acc {
            return *it;
        }
    }
    items[items.len() - 1]
}

/// The subnets of `prefix` and their country and provider, from `seed`.
pub fn assignments(prefix: Ipv4Prefix, seed: u64) -> Vec<GeoAssignment> {
    let len = (prefix.prefix_len() + 4).min(32);
    let step = 1u64 << (32 - len);
    let base = u64::from(u32::from(prefix.network()));
    (0..prefix.size() / step)
        .map(|i| {
            let net = Ipv4Addr::from((base + i * step) as u32);
            let subnet = Ipv4Prefix::new(net, len).expect("a subnet of a valid prefix");
            let c = pick(&COUNTRIES, |c| c.2, unit(hash(seed, 0x6765_6f63, i)));
            let p = pick(&PROVIDERS, |p| p.2, unit(hash(seed, 0x6765_6f70, i)));
            GeoAssignment {
                subnet,
                country: (c.0, c.1),
                provider: (p.0, p.1),
            }
        })
        .collect()
}

/// Paths of the two databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoFiles {
    /// GeoLite2-Country-style database.
    pub country: PathBuf,
    /// GeoLite2-ASN-style database.
    pub asn: PathBuf,
}

/// Writes `country.mmdb` and `asn.mmdb` for `prefix` into `dir`.
pub fn write(prefix: Ipv4Prefix, seed: u64, dir: &Path) -> Result<GeoFiles> {
    let mut country = MmdbWriter::new("smtpsweep-testbed-Country")
        .ipv4_only()
        .description("en", "Fictional countries of the smtpsweep testbed");
    let mut asn = MmdbWriter::new("smtpsweep-testbed-ASN")
        .ipv4_only()
        .description("en", "Fictional providers of the smtpsweep testbed");
    let bad = |e: smtpsweep_mmdb::MmdbError| Error::Server(format!("geo database: {e}"));
    for a in assignments(prefix, seed) {
        let cidr = a.subnet.to_string();
        country
            .insert_cidr(&cidr, country_record(a.country.0, a.country.1))
            .map_err(bad)?;
        asn.insert_cidr(&cidr, asn_record(a.provider.0, a.provider.1))
            .map_err(bad)?;
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let files = GeoFiles {
        country: dir.join("country.mmdb"),
        asn: dir.join("asn.mmdb"),
    };
    for (path, w) in [(&files.country, &country), (&files.asn, &asn)] {
        let bytes = w.to_bytes().map_err(bad)?;
        std::fs::write(path, bytes)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_subnets_deterministic_and_uneven() {
        let p: Ipv4Prefix = "198.18.0.0/16".parse().unwrap();
        let a = assignments(p, 1);
        assert_eq!(a.len(), 16);
        assert_eq!(a[0].subnet.to_string(), "198.18.0.0/20");
        assert_eq!(a[15].subnet.to_string(), "198.18.240.0/20");
        assert_eq!(a, assignments(p, 1));
        assert_ne!(a, assignments(p, 2));
        let distinct: std::collections::HashSet<_> = a.iter().map(|x| x.country.0).collect();
        assert!(distinct.len() >= 3, "{distinct:?}");
        let small: Ipv4Prefix = "198.18.7.0/30".parse().unwrap();
        assert_eq!(assignments(small, 1).len(), 4, "a /30 gives four /32s");
    }

    #[test]
    fn written_databases_are_readable_mmdb_files() {
        let p: Ipv4Prefix = "198.18.0.0/16".parse().unwrap();
        let dir = std::env::temp_dir().join(format!("ssw-geo-{}", std::process::id()));
        let f = write(p, 1, &dir).unwrap();
        for path in [&f.country, &f.asn] {
            let bytes = std::fs::read(path).unwrap();
            // Every MaxMind DB ends with its metadata after this marker.
            let marker = b"\xAB\xCD\xEFMaxMind.com";
            assert!(
                bytes.windows(marker.len()).any(|w| w == marker),
                "{}",
                path.display()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
