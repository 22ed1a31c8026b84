//! Country and provider lookups in MaxMind DB files (GeoLite2, DB-IP and
//! compatible), memoised by data record so each distinct record is decoded
//! once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

use crate::ReportError;
use crate::fasthash::FastMap;
use crate::model::DbInfo;

/// What a database is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeoKind {
    Country,
    Asn,
}

/// A country (`iso`, `name`) or a provider (`asn`, `org` in `name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GeoKey {
    pub iso: String,
    pub asn: Option<u32>,
    pub name: String,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct CountryPart<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country: Option<CountryPart<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<CountryPart<'a>>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

/// An open database with its group table. Group 0 is "unknown".
pub(crate) struct GeoDb {
    reader: Reader<Vec<u8>>,
    pub info: DbInfo,
    /// IPv4 /24 -> group, for /24s that lie inside one database network
    /// (a lookup result whose prefix is /24 or shorter covers the whole /24).
    by_slash24: FastMap<u32, u32>,
    groups: Groups,
}

/// Groups by decoded record.
struct Groups {
    kind: GeoKind,
    by_offset: FastMap<usize, u32>,
    index: HashMap<GeoKey, u32>,
    /// Keys by group id; index 0 is a placeholder for "unknown".
    keys: Vec<GeoKey>,
    /// First lookup error seen, for a notice.
    error: Option<String>,
}

impl GeoDb {
    pub fn open(path: &Path, kind: GeoKind) -> Result<GeoDb, ReportError> {
        let err = |message: String| ReportError::GeoDb {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let reader = Reader::from_source(bytes).map_err(|e| err(e.to_string()))?;
        let m = reader.metadata();
        let info = DbInfo {
            path: path.display().to_string(),
            database_type: m.database_type.clone(),
            build_epoch: m.build_epoch,
            description: m.description.get("en").cloned(),
        };
        Ok(GeoDb {
            reader,
            info,
            by_slash24: FastMap::default(),
            groups: Groups {
                kind,
                by_offset: FastMap::default(),
                index: HashMap::new(),
                keys: vec![GeoKey {
                    iso: String::new(),
                    asn: None,
                    name: String::new(),
                }],
                error: None,
            },
        })
    }

    /// The group of `ip`: 0 when the database has nothing for it.
    pub fn group(&mut self, ip: IpAddr) -> u32 {
        let slash24 = match ip {
            IpAddr::V4(a) => Some(u32::from(a) >> 8),
            IpAddr::V6(_) => None,
        };
        if let Some(&g) = slash24.and_then(|k| self.by_slash24.get(&k)) {
            return g;
        }
        let res = match self.reader.lookup(ip) {
            Ok(r) => r,
            Err(e) => {
                self.groups.error.get_or_insert_with(|| e.to_string());
                return 0;
            }
        };
        let whole_24 = slash24.filter(|_| res.network().is_ok_and(|n| n.prefix() <= 24));
        let g = self.groups.group_of(&res);
        if let Some(k) = whole_24 {
            self.by_slash24.insert(k, g);
        }
        g
    }

    /// The keys by group id (0: unknown).
    pub fn keys(&self) -> &[GeoKey] {
        &self.groups.keys
    }

    /// The first lookup or decoding error, if any.
    pub fn error(&self) -> Option<&str> {
        self.groups.error.as_deref()
    }
}

impl Groups {
    fn group_of(&mut self, res: &maxminddb::LookupResult<'_, Vec<u8>>) -> u32 {
        let Some(offset) = res.offset() else {
            return 0;
        };
        if let Some(&g) = self.by_offset.get(&offset) {
            return g;
        }
        let key = match self.kind {
            GeoKind::Country => match res.decode::<CountryRecord>() {
                Ok(Some(rec)) => {
                    let pick = |p: &Option<CountryPart>| {
                        p.as_ref().and_then(|p| {
                            let iso = p.iso_code.unwrap_or("").trim();
                            let name = p.names.as_ref().and_then(|n| n.en).unwrap_or("").trim();
                            (!iso.is_empty() || !name.is_empty()).then(|| GeoKey {
                                iso: iso.to_string(),
                                asn: None,
                                name: name.to_string(),
                            })
                        })
                    };
                    pick(&rec.country).or_else(|| pick(&rec.registered_country))
                }
                Ok(None) => None,
                Err(e) => {
                    self.error.get_or_insert_with(|| e.to_string());
                    None
                }
            },
            GeoKind::Asn => match res.decode::<AsnRecord>() {
                Ok(Some(rec)) => {
                    let org = rec.autonomous_system_organization.unwrap_or("").trim();
                    (rec.autonomous_system_number.is_some() || !org.is_empty()).then(|| GeoKey {
                        iso: String::new(),
                        asn: rec.autonomous_system_number,
                        name: org.to_string(),
                    })
                }
                Ok(None) => None,
                Err(e) => {
                    self.error.get_or_insert_with(|| e.to_string());
                    None
                }
            },
        };
        let g = match key {
            None => 0,
            Some(k) => match self.index.get(&k) {
                Some(&g) => g,
                None => {
                    let g = self.keys.len() as u32;
                    self.index.insert(k.clone(), g);
                    self.keys.push(k);
                    g
                }
            },
        };
        self.by_offset.insert(offset, g);
        g
    }
}

/// Label of a country group for cross tables: `XA Avalonia`.
pub(crate) fn country_label(k: &GeoKey) -> String {
    match (k.iso.is_empty(), k.name.is_empty()) {
        (false, false) => format!("{} {}", k.iso, k.name),
        (false, true) => k.iso.clone(),
        _ => k.name.clone(),
    }
}

/// Label of a provider group: `AS64500 Example Hosting`.
pub(crate) fn provider_label(k: &GeoKey) -> String {
    match k.asn {
        Some(n) if k.name.is_empty() => format!("AS{n}"),
        Some(n) => format!("AS{n} {}", k.name),
        None => k.name.clone(),
    }
}
