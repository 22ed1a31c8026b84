//! Target input formats for `smtpsweep grab`.

use std::io::Cursor;
use std::net::SocketAddrV4;

use smtpsweep_grab::input::{GrabTarget, InputErrorKind, InputParser, read_targets};

fn addrs(text: &str, ports: &[u16]) -> Vec<Result<SocketAddrV4, String>> {
    read_targets(Cursor::new(text.as_bytes().to_vec()), ports)
        .map(|r| r.map(|t| t.addr).map_err(|e| e.to_string()))
        .collect()
}

fn a(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

#[test]
fn plain_addresses_take_the_default_ports() {
    let got = addrs("198.18.0.5\n\n# comment\n  198.18.0.6  \r\n", &[25, 587]);
    assert_eq!(
        got,
        [
            Ok(a("198.18.0.5:25")),
            Ok(a("198.18.0.5:587")),
            Ok(a("198.18.0.6:25")),
            Ok(a("198.18.0.6:587"))
        ]
    );
    let got = addrs("198.18.0.5\n", &[]);
    assert_eq!(got.len(), 1);
    assert!(got[0].as_ref().unwrap_err().contains("line 1"), "{got:?}");
}

#[test]
fn address_and_port() {
    assert_eq!(
        addrs("198.18.0.5:2525\n", &[25]),
        [Ok(a("198.18.0.5:2525"))]
    );
}

#[test]
fn zmap_csv_with_header_finds_the_columns() {
    let text = "saddr,daddr,sport,dport,seqnum,acknum,window,ttl,ipid,classification,success,repeat,cooldown,timestamp_str,icmp_responder,icmp_code\n\
                198.18.0.7,198.19.0.1,25,40123,1,2,65535,57,4242,synack,1,0,0,2026-11-30T09:00:00.123456Z,,\n\
                198.18.0.8,198.19.0.1,465,40124,1,2,65535,57,4242,synack,1,0,0,\"2026-11-30T09:00:00.2Z\",,\n";
    assert_eq!(
        addrs(text, &[587]),
        [Ok(a("198.18.0.7:25")), Ok(a("198.18.0.8:465"))]
    );
    // Columns in another order, address column named `ip`.
    let text = "classification,port,ip\nsynack,2525,198.18.0.9\n";
    assert_eq!(addrs(text, &[25]), [Ok(a("198.18.0.9:2525"))]);
    // A header with only the address: default ports.
    let text = "saddr\n198.18.0.10\n";
    assert_eq!(addrs(text, &[25]), [Ok(a("198.18.0.10:25"))]);
}

#[test]
fn zmap_csv_without_header_uses_the_first_column() {
    let text = "198.18.0.7,198.19.0.1,25\n198.18.0.8,198.19.0.1,25\n";
    assert_eq!(
        addrs(text, &[25, 465]),
        [
            Ok(a("198.18.0.7:25")),
            Ok(a("198.18.0.7:465")),
            Ok(a("198.18.0.8:25")),
            Ok(a("198.18.0.8:465"))
        ]
    );
}

#[test]
fn masscan_list_lines() {
    let text = "#masscan\nopen tcp 25 198.18.0.5 1690000000\nopen tcp 465 198.18.0.6 1690000001\nclosed tcp 587 198.18.0.7 1690000002\nopen udp 53 198.18.0.8 1690000003\n# end\n";
    assert_eq!(
        addrs(text, &[587]),
        [Ok(a("198.18.0.5:25")), Ok(a("198.18.0.6:465"))]
    );
}

#[test]
fn scan_jsonl_keeps_the_whole_record() {
    let line = r#"{"ip":"198.18.0.7","port":25,"classification":"synack","success":true,"repeat":false,"cooldown":false,"ttl":57,"ipid":4242,"window":65535,"seq":3735928559,"ack":2882400018,"daddr":"198.19.0.1","dport":40123,"timestamp":"2026-11-30T09:00:00.123456Z"}"#;
    let got: Vec<GrabTarget> = read_targets(Cursor::new(format!("{line}\n")), &[])
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].addr, a("198.18.0.7:25"));
    let scan = got[0].scan.as_ref().expect("scan record kept");
    assert_eq!(scan.seq, 3_735_928_559);
    assert_eq!(scan.ttl, 57);
    assert_eq!(scan.daddr.to_string(), "198.19.0.1");

    // A record with selected fields only: the target, no scan record.
    let got: Vec<GrabTarget> = read_targets(
        Cursor::new("{\"ip\":\"198.18.0.8\",\"port\":465}\n{\"ip\":\"198.18.0.9\"}\n"),
        &[25],
    )
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        got.iter().map(|t| t.addr).collect::<Vec<_>>(),
        [a("198.18.0.8:465"), a("198.18.0.9:25")]
    );
    assert!(got.iter().all(|t| t.scan.is_none()));
}

#[test]
fn formats_mix_line_by_line() {
    let text = "198.18.0.1\n198.18.0.2:26\nopen tcp 27 198.18.0.3 1\n{\"ip\":\"198.18.0.4\",\"port\":28}\n198.18.0.5,x,y\n";
    assert_eq!(
        addrs(text, &[25]),
        [
            Ok(a("198.18.0.1:25")),
            Ok(a("198.18.0.2:26")),
            Ok(a("198.18.0.3:27")),
            Ok(a("198.18.0.4:28")),
            Ok(a("198.18.0.5:25"))
        ]
    );
}

#[test]
fn malformed_lines_give_numbered_errors_and_parsing_goes_on() {
    let text = "198.18.0.1\n300.1.2.3\n198.18.0.2:0\n198.18.0.2:99999\nhello world\n{\"port\":25}\n{not json\nopen tcp 25\nsaddr_missing,port\n198.18.0.9:25\n";
    let got = addrs(text, &[25]);
    assert_eq!(got.first(), Some(&Ok(a("198.18.0.1:25"))));
    assert_eq!(got.last(), Some(&Ok(a("198.18.0.9:25"))));
    let errs: Vec<&String> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errs.len(), 8, "{errs:#?}");
    for (e, line) in errs.iter().zip(2..) {
        assert!(e.starts_with(&format!("input line {line}: ")), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    assert!(errs[0].contains("not an IPv4 address"));
    assert!(errs[1].contains("not a port number"));
    assert!(errs[2].contains("not a port number"));
    assert!(errs[3].contains("not an address"));
    assert!(errs[4].contains("no \"ip\" field"));
    assert!(errs[5].contains("bad JSON"));
    assert!(errs[6].contains("masscan"));
    assert!(errs[7].contains("no saddr"));
}

#[test]
fn csv_short_rows_and_non_utf8() {
    let mut p = InputParser::new(&[25]);
    assert_eq!(p.parse_line("classification,saddr,sport").unwrap(), []);
    let e = p.parse_line("synack,198.18.0.1").unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(
        e.kind,
        InputErrorKind::CsvShortRow {
            needed: 3,
            found: 2
        }
    );

    let bytes = b"198.18.0.1\n\xff\xfe\n198.18.0.2\n".to_vec();
    let got: Vec<_> = read_targets(Cursor::new(bytes), &[25]).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap_err().line, 2);
    assert_eq!(got[1].as_ref().unwrap_err().kind, InputErrorKind::NotUtf8);
    assert_eq!(got[2].as_ref().unwrap().addr, a("198.18.0.2:25"));
}

#[test]
fn long_garbage_is_shortened_in_errors() {
    let long = "x".repeat(10_000);
    let got = addrs(&long, &[25]);
    let e = got[0].as_ref().unwrap_err();
    assert!(e.len() < 200, "{e}");
}
