//! Greeting-line fingerprinting throughput: lines per second on one core,
//! with smtpsweep's own database and with Recog's SMTP databases.
//!
//! `cargo bench -p smtpsweep-benches --bench fingerprint -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtpsweep_fingerprint::FingerprintSet;
use std::hint::black_box;
use std::path::PathBuf;

/// Small deterministic generator (no external randomness in benches).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
    fn num(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

const HOSTS: &[&str] = &[
    "mail", "mx", "mx1", "smtp", "relay", "mailgw", "exchange", "srv01", "post",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "corp.example.com",
    "example.de",
];
const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const ZONES: &[&str] = &["+0000", "+0100", "+0200", "-0400", "-0500", "+0800"];

/// Roughly 10k greeting lines (reply code removed) across the families,
/// weighted like an Internet scan (Postfix and Exim dominate), plus noise.
fn corpus() -> Vec<String> {
    let mut r = Lcg(0x5eed);
    let mut out = Vec::with_capacity(10_000);
    while out.len() < 10_000 {
        let host = format!("{}.{}", r.pick(HOSTS), r.pick(DOMAINS));
        let date = format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} {}",
            r.pick(DAYS),
            r.num(1, 28),
            r.pick(MONTHS),
            r.num(2015, 2025),
            r.num(0, 23),
            r.num(0, 59),
            r.num(0, 59),
            r.pick(ZONES)
        );
        let line = match r.num(0, 99) {
            0..=29 => match r.num(0, 3) {
                0 => format!("{host} ESMTP Postfix"),
                1 => format!("{host} ESMTP Postfix (Debian/GNU)"),
                2 => format!("{host} ESMTP Postfix (Ubuntu)"),
                _ => format!("{host} ESMTP Postfix (3.{}.{})", r.num(1, 8), r.num(0, 20)),
            },
            30..=45 => {
                let v = r.pick(&[
                    "4.87", "4.89", "4.89_1", "4.92", "4.92.3", "4.93", "4.94.2", "4.96", "4.97.1",
                ]);
                match r.num(0, 2) {
                    0 => format!("{host} ESMTP Exim {v} {date}"),
                    1 => format!("{host} ESMTP Exim {v} #2 {date}"),
                    _ => format!("{host} ESMTP Exim {v} Ubuntu {date}"),
                }
            }
            46..=53 => format!("{host} Microsoft ESMTP MAIL Service ready at {date}"),
            54..=56 => format!(
                "{host} Microsoft ESMTP MAIL Service, Version: {} ready at  {date}",
                r.pick(&[
                    "6.0.3790.3959",
                    "7.5.7601.17514",
                    "10.0.17763.1",
                    "8.5.9600.16384"
                ])
            ),
            57..=61 => format!(
                "{host} ESMTP Sendmail 8.{}.{}/8.{}.{}; {date}",
                r.num(12, 17),
                r.num(0, 9),
                r.num(12, 17),
                r.num(0, 9)
            ),
            62..=63 => format!(
                "{host} ESMTP MDaemon {}.{}.{}; {date}",
                r.num(9, 23),
                r.num(0, 9),
                r.num(0, 9)
            ),
            64 => format!("{host} ESMTP OpenSMTPD"),
            65 => format!(
                "{host} ESMTP Service (IBM Domino Release 9.0.1FP{}) ready at {date}",
                r.num(1, 10)
            ),
            66 => format!(
                "{host} Kerio Connect 9.{}.{} ESMTP ready",
                r.num(0, 4),
                r.num(0, 12)
            ),
            67 => format!("{host} ESMTP Haraka/2.8.{} ready", r.num(10, 28)),
            68 => format!(
                "{host} ESMTP MailEnable Service, Version: 10.{}-- ready at 03/16/23 10:11:12",
                r.num(10, 44)
            ),
            69 => format!(
                "{host} ESMTP CommuniGate Pro 6.{}.{}",
                r.num(0, 3),
                r.num(1, 15)
            ),
            70 => format!("{host} Axigen ESMTP ready"),
            71 => format!(
                "{host} (PowerMTA(TM) v4.{}r{}) ESMTP service ready",
                r.num(0, 5),
                r.num(1, 9)
            ),
            72 => format!(
                "{host} ESMTP ({:032x})",
                r.next() as u128 * 0x9e37_79b9_7f4a_7c15
            ),
            73 => format!(
                "mx0a-00{}.pphosted.com ESMTP mfa-m00{}",
                r.num(100_000, 999_999),
                r.num(10_000, 99_999)
            ),
            74 => format!(
                "mx.google.com ESMTP {}si{}qkl.{} - gsmtp",
                r.pick(&["a1", "d9", "x4"]),
                r.num(1_000_000, 9_999_999),
                r.num(1, 400)
            ),
            75 => format!(
                "BN8NAM12FT0{}.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at {date}",
                r.num(10, 99)
            ),
            76 => format!(
                "{host} ESMTP ecelerity 4.2.1.{} r(Core:4.2.1.14) {date}",
                r.num(50_000, 60_000)
            ),
            77 => format!(
                "{host} ({}) NT-ESMTP Server X1",
                r.pick(&["IMail 12.5.7 184012-1", "IMail 11.03 4321-2"])
            ),
            // Noise: generic or custom greetings that should not match.
            78..=85 => format!("{host} ESMTP"),
            86..=89 => format!("{host} ESMTP ready"),
            90..=93 => format!("Welcome to {host}, unsolicited mail is not accepted"),
            94..=96 => format!("{host} SMTP service ready {date}"),
            _ => "*****************************************".to_string(),
        };
        out.push(line);
    }
    out
}

fn recog_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SMTPSWEEP_RECOG_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/recog/xml"),
    };
    dir.is_dir().then_some(dir)
}

fn bench_set(c: &mut Criterion, name: &str, set: &FingerprintSet, lines: &[String]) {
    // Warm the lazily compiled regexes and report the hit rate once.
    let banner = set.matcher("smtp.banner");
    let hits = lines
        .iter()
        .filter(|l| banner.match_str(l).is_some())
        .count();
    eprintln!("{name}: {hits}/{} lines matched", lines.len());
    let mut g = c.benchmark_group("fingerprint");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in lines {
                if banner.match_str(black_box(l)).is_some() {
                    n += 1;
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let lines = corpus();
    let own = FingerprintSet::builtin();
    bench_set(c, "builtin_db", &own, &lines);
    match recog_dir() {
        Some(dir) => {
            let mut recog = FingerprintSet::new();
            let files = ["smtp_banners.xml"];
            for f in files {
                let text = std::fs::read_to_string(dir.join(f)).expect("read recog file");
                recog.add_xml(&text, f).expect("load recog file");
            }
            bench_set(c, "recog_smtp_banners", &recog, &lines);
            recog.add_builtin().expect("builtin");
            bench_set(c, "recog_plus_builtin", &recog, &lines);
        }
        None => eprintln!(
            "Recog XML not found (set SMTPSWEEP_RECOG_DIR): skipping the Recog benchmarks"
        ),
    }
}

criterion_group!(fingerprint, benches);
criterion_main!(fingerprint);
