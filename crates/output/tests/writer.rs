mod common;

use std::io::{self, Write};
use std::net::Ipv4Addr;

use common::{icmp, rst, synack};
use smtpsweep_output::{
    Classification, Field, FieldListError, Format, OutputError, RecordWriter, ScanRecord,
};

fn render(format: Format, fields: Option<Vec<Field>>, records: &[ScanRecord]) -> String {
    let mut w = RecordWriter::new(Vec::new(), format, fields).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    assert_eq!(w.records_written(), records.len() as u64);
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

const SYNACK_JSON: &str = r#"{"ip":"198.18.0.7","port":25,"classification":"synack","success":true,"repeat":false,"cooldown":false,"ttl":57,"ipid":4242,"window":65535,"seq":3735928559,"ack":2882400018,"daddr":"198.19.0.1","dport":40123,"timestamp":"2026-11-30T09:00:00.123456Z"}"#;
const ICMP_JSON: &str = r#"{"ip":"198.18.3.200","port":587,"classification":"icmp-unreach","success":false,"repeat":true,"cooldown":true,"ttl":64,"ipid":0,"window":0,"seq":0,"ack":0,"daddr":"198.19.0.1","dport":40124,"timestamp":"2026-11-30T09:00:08.000001Z","icmp_responder":"192.0.2.1","icmp_code":3}"#;

#[test]
fn jsonl_default_fields() {
    let out = render(Format::Jsonl, None, &[synack(), icmp()]);
    assert_eq!(out, format!("{SYNACK_JSON}\n{ICMP_JSON}\n"));
}

#[test]
fn jsonl_round_trip() {
    let records = vec![synack(), icmp(), rst()];
    let out = render(Format::Jsonl, None, &records);
    let back: Vec<ScanRecord> = out
        .lines()
        .map(|l| ScanRecord::from_json_line(l).unwrap())
        .collect();
    assert_eq!(back, records);
}

/// Many varied records, including extreme values, survive JSONL and back.
#[test]
fn jsonl_round_trip_varied() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut records = Vec::new();
    for i in 0..500u32 {
        let v = next();
        let class = Classification::ALL[(v % 3) as usize];
        let edge = i % 50 == 0;
        records.push(ScanRecord {
            ip: Ipv4Addr::from(0xC612_0000 | (v as u32 & 0x1_ffff)), // 198.18.0.0/15
            port: if edge { u16::MAX } else { (v >> 8) as u16 },
            classification: class,
            success: class.is_success(),
            repeat: v & 0x10 != 0,
            cooldown: v & 0x20 != 0,
            ttl: if edge { u8::MAX } else { (v >> 24) as u8 },
            ipid: (v >> 32) as u16,
            window: (v >> 40) as u16,
            seq: if edge { u32::MAX } else { (v >> 16) as u32 },
            ack: (v >> 3) as u32,
            daddr: Ipv4Addr::new(203, 0, 113, (v >> 48) as u8),
            dport: (v >> 50) as u16,
            timestamp: smtpsweep_output::format_timestamp(
                v % 4_102_444_800,
                (v % 1_000_000) as u32,
            ),
            icmp_responder: (class == Classification::IcmpUnreach)
                .then(|| Ipv4Addr::new(192, 0, 2, (v >> 56) as u8)),
            icmp_code: (class == Classification::IcmpUnreach).then_some((v >> 60) as u8),
        });
    }
    let out = render(Format::Jsonl, None, &records);
    assert_eq!(out.lines().count(), records.len());
    for (line, r) in out.lines().zip(&records) {
        assert_eq!(&ScanRecord::from_json_line(line).unwrap(), r);
    }
}

#[test]
fn jsonl_missing_icmp_keys_deserialize_as_none() {
    let r = ScanRecord::from_json_line(SYNACK_JSON).unwrap();
    assert_eq!(r.icmp_responder, None);
    assert_eq!(r.icmp_code, None);
    // Explicit nulls (from a restricted field list) also read back as None.
    let with_nulls = SYNACK_JSON.replace('}', r#","icmp_responder":null,"icmp_code":null}"#);
    assert_eq!(ScanRecord::from_json_line(&with_nulls).unwrap(), synack());
}

#[test]
fn jsonl_rejects_bad_lines() {
    for bad in [
        "",
        "{}",
        &SYNACK_JSON.replace("synack", "syn-ack"),
        &SYNACK_JSON.replace("198.18.0.7", "198.18.0.256"),
        &SYNACK_JSON.replace("\"port\":25", "\"port\":65536"),
        &SYNACK_JSON[..40],
    ] {
        assert!(ScanRecord::from_json_line(bad).is_err(), "{bad}");
    }
}

#[test]
fn jsonl_restricted_fields() {
    let fields = Field::parse_list("saddr,sport,classification,icmp_code").unwrap();
    let out = render(Format::Jsonl, Some(fields), &[synack(), icmp()]);
    assert_eq!(
        out,
        concat!(
            r#"{"ip":"198.18.0.7","port":25,"classification":"synack","icmp_code":null}"#,
            "\n",
            r#"{"ip":"198.18.3.200","port":587,"classification":"icmp-unreach","icmp_code":3}"#,
            "\n"
        )
    );
    // JSON names work in the list too, and the order given is kept.
    let fields = Field::parse_list("timestamp,success,ip").unwrap();
    let out = render(Format::Jsonl, Some(fields), &[rst()]);
    assert_eq!(
        out,
        "{\"timestamp\":\"2026-11-30T09:00:01.999999Z\",\"success\":false,\"ip\":\"198.18.0.9\"}\n"
    );
}

#[test]
fn csv_default_fields() {
    let out = render(Format::Csv, None, &[synack(), icmp()]);
    assert_eq!(
        out,
        "saddr,daddr,sport,dport,seqnum,acknum,window,ttl,ipid,classification,success,repeat,cooldown,timestamp_str,icmp_responder,icmp_code\n\
         198.18.0.7,198.19.0.1,25,40123,3735928559,2882400018,65535,57,4242,synack,1,0,0,2026-11-30T09:00:00.123456Z,,\n\
         198.18.3.200,198.19.0.1,587,40124,0,0,0,64,0,icmp-unreach,0,1,1,2026-11-30T09:00:08.000001Z,192.0.2.1,3\n"
    );
}

#[test]
fn csv_restricted_fields_and_header_only() {
    let fields = Field::parse_list("saddr,sport,success,icmp_responder").unwrap();
    let out = render(Format::Csv, Some(fields.clone()), &[rst(), icmp()]);
    assert_eq!(
        out,
        "saddr,sport,success,icmp_responder\n198.18.0.9,465,0,\n198.18.3.200,587,0,192.0.2.1\n"
    );
    // No records: the header alone, written at construction.
    assert_eq!(
        render(Format::Csv, Some(fields), &[]),
        "saddr,sport,success,icmp_responder\n"
    );
    assert_eq!(render(Format::Jsonl, None, &[]), "");
}

#[test]
fn csv_quotes_text_with_separators() {
    let mut r = synack();
    r.timestamp = "a,\"b\"\nc".to_owned();
    let out = render(
        Format::Csv,
        Some(vec![Field::TimestampStr, Field::Sport]),
        &[r],
    );
    assert_eq!(out, "timestamp_str,sport\n\"a,\"\"b\"\"\nc\",25\n");
}

#[test]
fn writer_rejects_bad_field_lists() {
    assert!(matches!(
        RecordWriter::new(Vec::new(), Format::Csv, Some(vec![])),
        Err(OutputError::NoFields)
    ));
    let err = RecordWriter::new(
        Vec::new(),
        Format::Jsonl,
        Some(vec![Field::Ttl, Field::Ipid, Field::Ttl]),
    )
    .err()
    .unwrap();
    assert!(matches!(err, OutputError::DuplicateField(Field::Ttl)));
    assert_eq!(err.to_string(), "output field ttl listed twice");
}

/// A writer whose every write fails, like a closed pipe.
struct Broken;
impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_surface_on_flush() {
    let mut w = RecordWriter::new(Broken, Format::Jsonl, None).unwrap();
    w.write(&synack()).unwrap(); // buffered
    let e = w.flush().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
}

/// Records are buffered and reach the sink on flush, not one syscall per record.
#[test]
fn output_is_buffered_until_flush() {
    #[derive(Default)]
    struct Counting {
        writes: usize,
        data: Vec<u8>,
    }
    impl Write for &mut Counting {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.data.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Counting::default();
    {
        let mut w = RecordWriter::new(&mut sink, Format::Csv, None).unwrap();
        for _ in 0..100 {
            w.write(&synack()).unwrap();
        }
        w.flush().unwrap();
    }
    assert_eq!(sink.writes, 1);
    assert_eq!(String::from_utf8(sink.data).unwrap().lines().count(), 101);
}

#[test]
fn format_from_str() {
    assert_eq!("json".parse::<Format>().unwrap(), Format::Jsonl);
    assert_eq!("JSONL".parse::<Format>().unwrap(), Format::Jsonl);
    assert_eq!("csv".parse::<Format>().unwrap(), Format::Csv);
    assert_eq!(Format::default(), Format::Jsonl);
    let e = "xml".parse::<Format>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown output format \"xml\" (expected json, jsonl or csv)"
    );
}

#[test]
fn classification_names() {
    for (c, name) in [
        (Classification::Synack, "synack"),
        (Classification::Rst, "rst"),
        (Classification::IcmpUnreach, "icmp-unreach"),
    ] {
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{name}\""));
        assert_eq!(c.to_string(), name);
        assert_eq!(name.parse::<Classification>().unwrap(), c);
    }
    assert!("icmp_unreach".parse::<Classification>().is_err());
}

#[test]
fn field_list_parsing() {
    assert_eq!(
        Field::parse_list("saddr,sport,classification").unwrap(),
        vec![Field::Saddr, Field::Sport, Field::Classification]
    );
    assert_eq!(
        Field::parse_list(" ip , port,seq,ack,timestamp ").unwrap(),
        vec![
            Field::Saddr,
            Field::Sport,
            Field::Seqnum,
            Field::Acknum,
            Field::TimestampStr
        ]
    );
    assert_eq!(Field::parse_list("*").unwrap(), Field::ALL.to_vec());
    for f in Field::ALL {
        assert_eq!(Field::from_name(f.zmap_name()), Some(f));
        assert_eq!(Field::from_name(f.json_name()), Some(f));
    }
}

#[test]
fn field_list_errors() {
    assert_eq!(Field::parse_list(""), Err(FieldListError::Empty));
    assert_eq!(Field::parse_list("  "), Err(FieldListError::Empty));
    assert_eq!(
        Field::parse_list("saddr,,sport"),
        Err(FieldListError::EmptyItem(2))
    );
    assert_eq!(
        Field::parse_list("saddr,"),
        Err(FieldListError::EmptyItem(2))
    );
    assert_eq!(
        Field::parse_list("saddr,SPORT"),
        Err(FieldListError::Unknown("SPORT".into()))
    );
    assert_eq!(
        Field::parse_list("saddr,ip"),
        Err(FieldListError::Duplicate("ip".into()))
    );
    let msg = Field::parse_list("saddr,banner").unwrap_err().to_string();
    assert!(
        msg.starts_with("unknown output field \"banner\" (known: saddr|ip, daddr, sport|port,"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert_eq!(
        FieldListError::EmptyItem(2).to_string(),
        "empty field name at item 2 of the output field list"
    );
}

/// Every field's JSON name is exactly the key serde writes for the full record, so a line
/// restricted to all fields carries the same data as a default line.
#[test]
fn json_names_match_record_keys() {
    let full: serde_json::Value = serde_json::to_value(icmp()).unwrap();
    let obj = full.as_object().unwrap();
    assert_eq!(obj.len(), Field::ALL.len());
    let restricted = render(Format::Jsonl, Some(Field::ALL.to_vec()), &[icmp()]);
    let restricted: serde_json::Value = serde_json::from_str(restricted.trim_end()).unwrap();
    assert_eq!(restricted, full);
}
