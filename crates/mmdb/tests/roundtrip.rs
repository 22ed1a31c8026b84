//! The `maxminddb` crate reads back what the writer wrote.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use maxminddb::Reader;
use serde::Deserialize;
use smtpsweep_mmdb::{MmdbWriter, Value, asn_record, country_record};

#[derive(Deserialize, Debug, PartialEq)]
struct CountryPart {
    iso_code: String,
    names: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct CountryRec {
    country: CountryPart,
    registered_country: CountryPart,
}

#[derive(Deserialize, Debug, PartialEq)]
struct AsnRec {
    autonomous_system_number: u32,
    autonomous_system_organization: String,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn country_of(r: &Reader<Vec<u8>>, a: &str) -> Option<(String, String)> {
    r.lookup(ip(a))
        .unwrap()
        .decode::<CountryRec>()
        .unwrap()
        .map(|c| (c.country.iso_code, c.country.names["en"].clone()))
}

fn asn_of(r: &Reader<Vec<u8>>, a: &str) -> Option<(u32, String)> {
    r.lookup(ip(a))
        .unwrap()
        .decode::<AsnRec>()
        .unwrap()
        .map(|x| (x.autonomous_system_number, x.autonomous_system_organization))
}

fn country_db(record_size: u16, v4only: bool) -> Vec<u8> {
    let mut w = MmdbWriter::new("GeoLite2-Country")
        .record_size(record_size)
        .unwrap()
        .description("en", "smtpsweep test countries")
        .build_epoch(1_700_000_000);
    if v4only {
        w = w.ipv4_only();
    }
    // A broad prefix first, then more specific exceptions inside it.
    w.insert_cidr("198.18.0.0/16", country_record("XA", "Avalonia"))
        .unwrap();
    w.insert_cidr("198.18.4.0/22", country_record("XB", "Brobdingnag"))
        .unwrap();
    w.insert_cidr("198.18.5.128/25", country_record("XC", "Cockaigne"))
        .unwrap();
    w.insert_cidr("198.19.0.7/32", country_record("XB", "Brobdingnag"))
        .unwrap();
    w.insert(
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        country_record("XD", "Dystopia"),
    )
    .unwrap();
    w.to_bytes().unwrap()
}

#[test]
fn country_database_reads_back_for_every_layout() {
    for (size, v4only) in [
        (24, false),
        (28, false),
        (32, false),
        (24, true),
        (28, true),
    ] {
        let bytes = country_db(size, v4only);
        let r = Reader::from_source(bytes).unwrap();
        let m = r.metadata();
        assert_eq!(m.database_type, "GeoLite2-Country");
        assert_eq!(m.record_size, size);
        assert_eq!(m.ip_version, if v4only { 4 } else { 6 });
        assert_eq!(m.binary_format_major_version, 2);
        assert_eq!(m.binary_format_minor_version, 0);
        assert_eq!(m.build_epoch, 1_700_000_000);
        assert_eq!(m.languages, vec!["en".to_string()]);
        assert_eq!(
            m.description.get("en").map(String::as_str),
            Some("smtpsweep test countries")
        );
        r.verify()
            .unwrap_or_else(|e| panic!("size {size} v4only {v4only}: {e}"));

        let xa = Some(("XA".to_string(), "Avalonia".to_string()));
        let xb = Some(("XB".to_string(), "Brobdingnag".to_string()));
        let xc = Some(("XC".to_string(), "Cockaigne".to_string()));
        assert_eq!(country_of(&r, "198.18.0.1"), xa);
        assert_eq!(country_of(&r, "198.18.255.255"), xa);
        assert_eq!(country_of(&r, "198.18.3.255"), xa);
        assert_eq!(country_of(&r, "198.18.4.0"), xb);
        assert_eq!(country_of(&r, "198.18.5.127"), xb);
        assert_eq!(country_of(&r, "198.18.5.128"), xc);
        assert_eq!(country_of(&r, "198.18.5.255"), xc);
        assert_eq!(country_of(&r, "198.18.7.255"), xb);
        assert_eq!(country_of(&r, "198.18.8.0"), xa);
        assert_eq!(country_of(&r, "198.19.0.7"), xb);
        assert_eq!(
            country_of(&r, "192.0.2.77"),
            Some(("XD".to_string(), "Dystopia".to_string()))
        );
        // Outside every prefix.
        assert_eq!(country_of(&r, "198.19.0.6"), None);
        assert_eq!(country_of(&r, "198.19.0.8"), None);
        assert_eq!(country_of(&r, "198.51.100.1"), None);
        assert_eq!(country_of(&r, "203.0.113.9"), None);
        // The network reported for a hit is the inserted prefix.
        let res = r.lookup(ip("198.18.5.200")).unwrap();
        assert_eq!(res.network().unwrap().to_string(), "198.18.5.128/25");
        let res = r.lookup(ip("198.18.6.1")).unwrap();
        assert_eq!(res.network().unwrap().to_string(), "198.18.6.0/23");
        if !v4only {
            // IPv4-mapped IPv6 addresses reach the IPv4 subtree.
            assert_eq!(country_of(&r, "::ffff:198.18.5.130"), xc);
            assert_eq!(country_of(&r, "::ffff:198.19.0.6"), None);
            // Other IPv6 space stays empty.
            assert_eq!(country_of(&r, "2001:db8::1"), None);
        }
    }
}

#[test]
fn asn_database_reads_back() {
    let mut w = MmdbWriter::new("GeoLite2-ASN").record_size(24).unwrap();
    w.insert_cidr("198.18.0.0/17", asn_record(64_500, "Example Hosting Ltd"))
        .unwrap();
    w.insert_cidr("198.18.128.0/17", asn_record(64_501, "Fictional Cloud"))
        .unwrap();
    w.insert_cidr(
        "198.19.0.0/24",
        asn_record(4_200_000_001, "Big ASN Networks"),
    )
    .unwrap();
    let r = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    r.verify().unwrap();
    assert_eq!(r.metadata().database_type, "GeoLite2-ASN");
    assert_eq!(
        asn_of(&r, "198.18.127.255"),
        Some((64_500, "Example Hosting Ltd".into()))
    );
    assert_eq!(
        asn_of(&r, "198.18.128.0"),
        Some((64_501, "Fictional Cloud".into()))
    );
    assert_eq!(
        asn_of(&r, "198.19.0.200"),
        Some((4_200_000_001, "Big ASN Networks".into()))
    );
    assert_eq!(asn_of(&r, "198.19.1.0"), None);
    // The crate's own GeoIP2 model reads it too.
    let res = r.lookup(ip("198.18.200.1")).unwrap();
    let asn: maxminddb::geoip2::Asn = res.decode().unwrap().unwrap();
    assert_eq!(asn.autonomous_system_number, Some(64_501));
    assert_eq!(asn.autonomous_system_organization, Some("Fictional Cloud"));
}

#[test]
fn geoip2_country_model_reads_country_records() {
    let r = Reader::from_source(country_db(28, false)).unwrap();
    let res = r.lookup(ip("198.18.4.4")).unwrap();
    let c: maxminddb::geoip2::Country = res.decode().unwrap().unwrap();
    assert_eq!(c.country.iso_code, Some("XB"));
    assert_eq!(c.country.names.english, Some("Brobdingnag"));
}

#[test]
fn every_value_type_round_trips() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct All {
        s: String,
        d: f64,
        b: serde_bytes_like::Bytes,
        u16: u16,
        u32: u32,
        i32: i32,
        neg: i32,
        u64: u64,
        u128: u128,
        arr: Vec<u32>,
        t: bool,
        f: bool,
        fl: f32,
        nested: BTreeMap<String, BTreeMap<String, String>>,
        long: String,
    }
    mod serde_bytes_like {
        use serde::Deserialize;
        #[derive(Debug, PartialEq)]
        pub struct Bytes(pub Vec<u8>);
        impl<'de> Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                    fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
    }
    let long = "L".repeat(70_000);
    let v = Value::map([
        ("s", Value::from("héllo")),
        ("d", Value::Double(-2.5)),
        ("b", Value::Bytes(vec![0, 1, 254, 255])),
        ("u16", Value::U16(65_535)),
        ("u32", Value::U32(0)),
        ("i32", Value::I32(1234)),
        ("neg", Value::I32(-77)),
        ("u64", Value::U64(u64::MAX)),
        ("u128", Value::U128(1u128 << 100)),
        (
            "arr",
            Value::Array(vec![Value::U32(1), Value::U32(300), Value::U32(70_000)]),
        ),
        ("t", Value::Bool(true)),
        ("f", Value::Bool(false)),
        ("fl", Value::Float(1.5)),
        ("nested", Value::map([("inner", Value::map([("k", "v")]))])),
        ("long", Value::from(long.as_str())),
    ]);
    let mut w = MmdbWriter::new("Test-All");
    w.insert_v6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, v)
        .unwrap();
    let r = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    r.verify().unwrap();
    let all: All = r
        .lookup(ip("2001:db8::5"))
        .unwrap()
        .decode()
        .unwrap()
        .unwrap();
    assert_eq!(all.s, "héllo");
    assert_eq!(all.d, -2.5);
    assert_eq!(all.b.0, vec![0, 1, 254, 255]);
    assert_eq!(all.u16, 65_535);
    assert_eq!(all.u32, 0);
    assert_eq!(all.i32, 1234);
    assert_eq!(all.neg, -77);
    assert_eq!(all.u64, u64::MAX);
    assert_eq!(all.u128, 1u128 << 100);
    assert_eq!(all.arr, vec![1, 300, 70_000]);
    assert!(all.t && !all.f);
    assert_eq!(all.fl, 1.5);
    assert_eq!(all.nested["inner"]["k"], "v");
    assert_eq!(all.long.len(), 70_000);
    assert!(
        r.lookup(ip("2001:db9::1"))
            .unwrap()
            .decode::<All>()
            .unwrap()
            .is_none()
    );
}

#[test]
fn identical_values_are_stored_once() {
    let mut one = MmdbWriter::new("T").ipv4_only();
    one.insert_cidr("198.18.0.0/24", country_record("XA", "Avalonia"))
        .unwrap();
    let mut many = MmdbWriter::new("T").ipv4_only();
    for i in 0..50u8 {
        many.insert(
            Ipv4Addr::new(198, 18, i, 0),
            24,
            country_record("XA", "Avalonia"),
        )
        .unwrap();
    }
    let a = one.to_bytes().unwrap();
    let b = many.to_bytes().unwrap();
    let data_len = |bytes: &[u8]| {
        let r = Reader::from_source(bytes.to_vec()).unwrap();
        let m = r.metadata();
        let tree = m.node_count as usize * usize::from(m.record_size) / 4;
        let marker = bytes
            .windows(14)
            .rposition(|w| w == smtpsweep_mmdb::METADATA_MARKER)
            .unwrap();
        marker - tree - 16
    };
    assert_eq!(data_len(&a), data_len(&b));
    let r = Reader::from_source(b).unwrap();
    assert_eq!(
        country_of(&r, "198.18.49.9"),
        Some(("XA".into(), "Avalonia".into()))
    );
    assert_eq!(country_of(&r, "198.18.50.9"), None);
}

#[test]
fn empty_database_has_no_data() {
    let w = MmdbWriter::new("Empty");
    let r = Reader::from_source(w.to_bytes().unwrap()).unwrap();
    assert!(!r.lookup(ip("198.18.0.1")).unwrap().has_data());
}
