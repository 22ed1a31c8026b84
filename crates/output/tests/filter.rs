mod common;

use common::{icmp, rst, synack};
use smtpsweep_output::{
    CmpOp, DEFAULT_FILTER, Field, Filter, FilterError, FilterErrorKind, ScanRecord,
};

fn f(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn with_flags(success: bool, repeat: bool, cooldown: bool) -> ScanRecord {
    ScanRecord {
        success,
        repeat,
        cooldown,
        ..synack()
    }
}

/// Evaluates `expr` on all 8 combinations of (success, repeat, cooldown), in the order
/// 000, 001, 010, 011, 100, 101, 110, 111.
fn truth_table(expr: &str) -> [bool; 8] {
    let filter = f(expr);
    std::array::from_fn(|i| filter.matches(&with_flags(i & 4 != 0, i & 2 != 0, i & 1 != 0)))
}

const T: bool = true;
const F: bool = false;

#[test]
fn default_filter() {
    assert_eq!(Filter::default_filter(), f(DEFAULT_FILTER));
    assert_eq!(
        Filter::default_filter().to_string(),
        "success = 1 && repeat = 0"
    );
    //                  s r c: 000 001 010 011 100 101 110 111
    assert_eq!(truth_table(DEFAULT_FILTER), [F, F, F, F, T, T, F, F]);
    let d = Filter::default();
    assert!(d.matches(&synack()));
    assert!(!d.matches(&rst()));
    assert!(!d.matches(&icmp()));
}

#[test]
fn boolean_truth_tables() {
    assert_eq!(truth_table("success = 1"), [F, F, F, F, T, T, T, T]);
    assert_eq!(truth_table("success == true"), [F, F, F, F, T, T, T, T]);
    assert_eq!(truth_table("success != 0"), [F, F, F, F, T, T, T, T]);
    assert_eq!(truth_table("success > 0"), [F, F, F, F, T, T, T, T]);
    assert_eq!(truth_table("success <= false"), [T, T, T, T, F, F, F, F]);
    assert_eq!(
        truth_table("repeat = 1 || cooldown = 1"),
        [F, T, T, T, F, T, T, T]
    );
    assert_eq!(
        truth_table("repeat = 1 && cooldown = 1"),
        [F, F, F, T, F, F, F, T]
    );
    // && binds tighter than ||: s || (r && c).
    assert_eq!(
        truth_table("success = 1 || repeat = 1 && cooldown = 1"),
        [F, F, F, T, T, T, T, T]
    );
    assert_eq!(
        truth_table("repeat = 1 && cooldown = 1 || success = 1"),
        [F, F, F, T, T, T, T, T]
    );
    // Parentheses override it: (s || r) && c.
    assert_eq!(
        truth_table("(success = 1 || repeat = 1) && cooldown = 1"),
        [F, F, F, T, F, T, F, T]
    );
    // ! binds tighter than && and ||.
    assert_eq!(
        truth_table("!success = 1 || repeat = 1"),
        [T, T, T, T, F, F, T, T]
    );
    assert_eq!(
        truth_table("!(success = 1 || repeat = 1)"),
        [T, T, F, F, F, F, F, F]
    );
    assert_eq!(truth_table("!!success = 1"), [F, F, F, F, T, T, T, T]);
    // Bare boolean fields.
    assert_eq!(truth_table("success && !repeat"), [F, F, F, F, T, T, F, F]);
    assert_eq!(truth_table("cooldown"), [F, T, F, T, F, T, F, T]);
    // Long flat chains.
    assert_eq!(
        truth_table("success || repeat || cooldown"),
        [F, T, T, T, T, T, T, T]
    );
    assert_eq!(
        truth_table("success&&repeat&&cooldown"),
        [F, F, F, F, F, F, F, T]
    );
}

#[test]
fn numeric_comparisons() {
    let ttl = |t: u8| ScanRecord { ttl: t, ..synack() };
    let table = |expr: &str| {
        let filter = f(expr);
        [63, 64, 65].map(|t| filter.matches(&ttl(t)))
    };
    assert_eq!(table("ttl = 64"), [F, T, F]);
    assert_eq!(table("ttl == 64"), [F, T, F]);
    assert_eq!(table("ttl != 64"), [T, F, T]);
    assert_eq!(table("ttl < 64"), [T, F, F]);
    assert_eq!(table("ttl > 64"), [F, F, T]);
    assert_eq!(table("ttl <= 64"), [T, T, F]);
    assert_eq!(table("ttl >= 64"), [F, T, T]);
    assert_eq!(table("ttl>=64"), [F, T, T]);
    assert_eq!(table("ttl = 0x40"), [F, T, F]);
    assert_eq!(table("ttl = '64'"), [F, T, F]);

    let r = synack();
    assert!(f("port = 25").matches(&r));
    assert!(f("sport = 25 && dport = 40123").matches(&r));
    assert!(!f("port = 587").matches(&r));
    assert!(f("ipid = 4242 && window = 65535").matches(&r));
    assert!(f("seqnum = 3735928559 && ack = 0xabcdef12").matches(&r));
    assert!(f("seq = 0xdeadbeef").matches(&r));
    assert!(f("window >= 1024").matches(&r));
    assert!(!f("window >= 1024").matches(&rst()));
}

#[test]
fn classification_comparisons() {
    let records = [synack(), rst(), icmp()];
    let table = |expr: &str| {
        let filter = f(expr);
        records.clone().map(|r| filter.matches(&r))
    };
    assert_eq!(table("classification = synack"), [T, F, F]);
    assert_eq!(table("classification = rst"), [F, T, F]);
    assert_eq!(table("classification = \"icmp-unreach\""), [F, F, T]);
    assert_eq!(table("classification = icmp-unreach"), [F, F, T]);
    assert_eq!(table("classification != synack"), [F, T, T]);
    assert_eq!(
        table("classification = synack || classification = rst"),
        [T, T, F]
    );
}

#[test]
fn address_comparisons() {
    let records = [synack(), rst(), icmp()]; // 198.18.0.7, 198.18.0.9, 198.18.3.200
    let table = |expr: &str| {
        let filter = f(expr);
        records.clone().map(|r| filter.matches(&r))
    };
    assert_eq!(table("saddr = 198.18.0.7"), [T, F, F]);
    assert_eq!(table("ip = 198.18.0.9"), [F, T, F]);
    assert_eq!(table("ip != 198.18.0.9"), [T, F, T]);
    assert_eq!(table("saddr >= 198.18.0.8"), [F, T, T]);
    assert_eq!(table("saddr < 198.18.3.0"), [T, T, F]);
    assert_eq!(table("saddr = 198.18.0.0/24"), [T, T, F]);
    assert_eq!(table("saddr = 198.18.0.0/15"), [T, T, T]);
    assert_eq!(table("saddr = 198.18.3.1/24"), [F, F, T]); // host bits are masked off
    assert_eq!(table("saddr != 198.18.0.8/31"), [T, F, T]); // /31 = .8 and .9
    assert_eq!(table("saddr = 198.18.0.7/32"), [T, F, F]);
    assert_eq!(table("saddr = 0.0.0.0/0"), [T, T, T]);
    assert_eq!(table("daddr = 198.19.0.1"), [T, T, T]);
    assert_eq!(table("saddr = 203.0.113.0/24"), [F, F, F]);
}

#[test]
fn absent_icmp_values_compare_false() {
    let records = [synack(), icmp()];
    let table = |expr: &str| {
        let filter = f(expr);
        records.clone().map(|r| filter.matches(&r))
    };
    assert_eq!(table("icmp_code = 3"), [F, T]);
    assert_eq!(table("icmp_code != 3"), [F, F]);
    assert_eq!(table("icmp_code >= 0"), [F, T]);
    assert_eq!(table("!(icmp_code = 3)"), [T, F]);
    assert_eq!(table("icmp_responder = 192.0.2.1"), [F, T]);
    assert_eq!(table("icmp_responder = 192.0.2.0/24"), [F, T]);
    assert_eq!(table("icmp_responder != 192.0.2.0/24"), [F, F]);
}

#[test]
fn timestamp_comparisons() {
    let records = [synack(), rst(), icmp()]; // 09:00:00.123456, 09:00:01.999999, 09:00:08.000001
    let table = |expr: &str| {
        let filter = f(expr);
        records.clone().map(|r| filter.matches(&r))
    };
    assert_eq!(table("timestamp_str >= 2026-11-30T09:00:01"), [F, T, T]);
    assert_eq!(table("timestamp < \"2026-11-30T09:00:05Z\""), [T, T, F]);
    assert_eq!(
        table("timestamp = '2026-11-30T09:00:08.000001Z'"),
        [F, F, T]
    );
}

#[test]
fn match_all_and_display() {
    let all = f("*");
    assert_eq!(all, Filter::match_all());
    for r in [synack(), rst(), icmp()] {
        assert!(all.matches(&r));
    }
    let src = "  success = 1 &&(ttl>3)";
    assert_eq!(f(src).to_string(), src);
    assert_eq!(f(src).source(), src);
    assert_eq!(src.parse::<Filter>().unwrap(), f(src));
}

fn err(s: &str) -> FilterError {
    match Filter::parse(s) {
        Ok(_) => panic!("{s:?} should not parse"),
        Err(e) => e,
    }
}

fn at(column: usize, kind: FilterErrorKind) -> FilterError {
    FilterError { column, kind }
}

#[test]
fn syntax_errors_with_positions() {
    use FilterErrorKind::*;
    assert_eq!(err(""), at(1, Empty));
    assert_eq!(err("   "), at(1, Empty));
    assert_eq!(
        err("success ="),
        at(
            10,
            UnexpectedEnd {
                expected: "a value"
            }
        )
    );
    assert_eq!(
        err("success = 1 &&"),
        at(
            15,
            UnexpectedEnd {
                expected: "a field name, '(' or '!'"
            }
        )
    );
    assert_eq!(
        err("(success = 1"),
        at(13, UnexpectedEnd { expected: "')'" })
    );
    assert_eq!(
        err("success = 1)"),
        at(
            12,
            Unexpected {
                found: "')'".into(),
                expected: "'&&', '||' or end of expression"
            }
        )
    );
    assert_eq!(
        err("success = 1 repeat = 0"),
        at(
            13,
            Unexpected {
                found: "'repeat'".into(),
                expected: "'&&', '||' or end of expression"
            }
        )
    );
    assert_eq!(err("success = 1 & repeat = 0"), at(13, LoneOperator('&')));
    assert_eq!(err("success = 1 | repeat = 0"), at(13, LoneOperator('|')));
    assert_eq!(
        err("= 1"),
        at(
            1,
            Unexpected {
                found: "'='".into(),
                expected: "a field name, '(' or '!'"
            }
        )
    );
    assert_eq!(
        err("success = ("),
        at(
            11,
            Unexpected {
                found: "'('".into(),
                expected: "a value"
            }
        )
    );
    assert_eq!(
        err("(success = 1 || repeat = 0 success = 0)"),
        at(
            28,
            Unexpected {
                found: "'success'".into(),
                expected: "')'"
            }
        )
    );
    assert_eq!(
        err("\"success\" = 1"),
        at(
            1,
            Unexpected {
                found: "string \"success\"".into(),
                expected: "a field name, '(' or '!'"
            }
        )
    );
    assert_eq!(err("timestamp = \"2026"), at(13, UnterminatedString));
    assert_eq!(err("timestamp = 'x\\'"), at(13, UnterminatedString));
    assert_eq!(
        err("()"),
        at(
            2,
            Unexpected {
                found: "')'".into(),
                expected: "a field name, '(' or '!'"
            }
        )
    );
}

#[test]
fn field_and_type_errors() {
    use FilterErrorKind::*;
    assert_eq!(err("succes = 1"), at(1, UnknownField("succes".into())));
    assert_eq!(err("ttl = 1 && ä = 2"), at(12, UnknownField("ä".into())));
    assert_eq!(err("SUCCESS = 1"), at(1, UnknownField("SUCCESS".into())));
    assert_eq!(
        err("classification > 3"),
        at(
            18,
            BadValue {
                field: Field::Classification,
                found: "3".into(),
                expected: "synack, rst or icmp-unreach"
            }
        )
    );
    assert_eq!(
        err("classification > rst"),
        at(
            18,
            OperatorNotSupported {
                op: CmpOp::Gt,
                what: "field classification".into()
            }
        )
    );
    assert_eq!(
        err("classification = syn"),
        at(
            18,
            BadValue {
                field: Field::Classification,
                found: "syn".into(),
                expected: "synack, rst or icmp-unreach"
            }
        )
    );
    assert_eq!(
        err("ttl = 300"),
        at(
            7,
            OutOfRange {
                field: Field::Ttl,
                value: 300,
                max: 255
            }
        )
    );
    assert_eq!(
        err("port = 65536"),
        at(
            8,
            OutOfRange {
                field: Field::Sport,
                value: 65536,
                max: 65535
            }
        )
    );
    assert_eq!(
        err("seq > 0x100000000"),
        at(
            7,
            OutOfRange {
                field: Field::Seqnum,
                value: 1 << 32,
                max: u32::MAX.into()
            }
        )
    );
    assert_eq!(
        err("ttl = abc"),
        at(
            7,
            BadValue {
                field: Field::Ttl,
                found: "abc".into(),
                expected: "a number"
            }
        )
    );
    assert_eq!(
        err("ttl = -1"),
        at(
            7,
            BadValue {
                field: Field::Ttl,
                found: "-1".into(),
                expected: "a number"
            }
        )
    );
    assert_eq!(
        err("ttl = 99999999999999999999999"),
        at(
            7,
            BadValue {
                field: Field::Ttl,
                found: "99999999999999999999999".into(),
                expected: "a number"
            }
        )
    );
    assert_eq!(
        err("success = 2"),
        at(
            11,
            BadValue {
                field: Field::Success,
                found: "2".into(),
                expected: "1, 0, true or false"
            }
        )
    );
    assert_eq!(
        err("saddr = 198.18.0.256"),
        at(
            9,
            BadValue {
                field: Field::Saddr,
                found: "198.18.0.256".into(),
                expected: "an IPv4 address or CIDR block"
            }
        )
    );
    assert_eq!(
        err("saddr = 198.18.0.0/33"),
        at(
            9,
            BadValue {
                field: Field::Saddr,
                found: "198.18.0.0/33".into(),
                expected: "an IPv4 address or CIDR block"
            }
        )
    );
    assert_eq!(
        err("saddr < 198.18.0.0/16"),
        at(
            9,
            OperatorNotSupported {
                op: CmpOp::Lt,
                what: "CIDR block 198.18.0.0/16".into()
            }
        )
    );
    assert_eq!(err("ttl"), at(1, NeedsComparison(Field::Ttl)));
    assert_eq!(
        err("success && port"),
        at(12, NeedsComparison(Field::Sport))
    );
}

#[test]
fn error_messages_are_one_line_and_clear() {
    let cases = [
        (
            "classification > 3",
            "invalid output filter at column 18: field classification expects synack, rst or icmp-unreach, found \"3\"",
        ),
        (
            "succes = 1",
            "invalid output filter at column 1: unknown field \"succes\" (known: saddr|ip, daddr, sport|port, dport, seqnum|seq, acknum|ack, window, ttl, ipid, classification, success, repeat, cooldown, timestamp_str|timestamp, icmp_responder, icmp_code)",
        ),
        (
            "success = 1 &",
            "invalid output filter at column 13: single '&' (use '&&')",
        ),
        (
            "(success = 1",
            "invalid output filter at column 13: unexpected end of expression, expected ')'",
        ),
        (
            "classification < rst",
            "invalid output filter at column 18: operator '<' cannot compare field classification (only = and != can)",
        ),
        (
            "ttl = 256",
            "invalid output filter at column 7: value 256 is out of range for field ttl (0 to 255)",
        ),
        (
            "window",
            "invalid output filter at column 1: field window needs a comparison, e.g. 'window = value'",
        ),
    ];
    for (expr, msg) in cases {
        let e = err(expr).to_string();
        assert_eq!(e, msg);
        assert!(!e.contains('\n'));
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |n: usize| format!("{}success = 1{}", "(".repeat(n), ")".repeat(n));
    assert!(f(&nested(64)).matches(&synack()));
    assert_eq!(err(&nested(65)), at(65, FilterErrorKind::TooDeep));
    // Far too deep input errors instead of overflowing the stack.
    assert_eq!(err(&nested(100_000)).kind, FilterErrorKind::TooDeep);
    let nots = format!("{}success", "!".repeat(100_000));
    assert_eq!(err(&nots).kind, FilterErrorKind::TooDeep);
    let mut even = "!".repeat(64);
    even.push_str("success");
    assert!(f(&even).matches(&synack()));
    // Long flat chains are not nesting.
    let chain = vec!["port = 25"; 10_000].join(" && ");
    assert!(f(&chain).matches(&synack()));
    assert!(!f(&chain).matches(&rst()));
    let chain = vec!["port = 1"; 10_000].join(" || ") + " || ip = 198.18.0.9";
    assert!(f(&chain).matches(&rst()));
    assert!(!f(&chain).matches(&synack()));
}

#[test]
fn garbage_never_panics() {
    // Every prefix of a few expressions (and their bytes shuffled a little) parses or errors cleanly.
    let samples = [
        "!(classification = 'icmp-unreach' || saddr = 198.18.0.0/15) && ttl >= 0x10",
        "timestamp >= \"2026-11-30T09:00:01\" && !repeat || (success==1&&cooldown!=1)",
    ];
    for s in samples {
        let chars: Vec<char> = s.chars().collect();
        for end in 0..=chars.len() {
            let prefix: String = chars[..end].iter().collect();
            if let Err(e) = Filter::parse(&prefix) {
                assert!(e.column >= 1 && e.column <= end + 1, "{prefix:?}: {e}");
            }
            let rotated: String = chars[end..].iter().chain(&chars[..end]).collect();
            if let Ok(filter) = Filter::parse(&rotated) {
                filter.matches(&synack());
            }
        }
    }
    assert!(Filter::parse(samples[0]).is_ok());
    assert!(Filter::parse(samples[1]).is_ok());
}
