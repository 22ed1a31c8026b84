//! Root integration test of `sweep` and `grab` against the testbed's SMTP
//! personas (realistic, TLS and hostile), compared with its ground truth.
//! Needs root like testbed_scan.rs; in CI a non-root run fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use smtpsweep_testbed::{Testbed, TestbedConfig};

fn need_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the testbed tests as root"
    );
    eprintln!("skipping: the testbed test needs root");
    false
}

/// Grab options of the test runs: short limits, so hostile servers end
/// quickly, and HELP, which is what identifies qmail and hMailServer.
const TIMEOUTS: [&str; 7] = [
    "--connect-timeout",
    "3",
    "--read-timeout",
    "5",
    "--session-timeout",
    "10",
    "--send-help",
];
const SESSION_MS: u64 = 10_000;

fn run_in(tb: &Testbed, args: &[&str]) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtpsweep"));
    c.args(args);
    let out = tb.scanner_command(&c).output().expect("running smtpsweep");
    assert!(
        out.status.success(),
        "smtpsweep {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn records(path: &Path) -> BTreeMap<(String, u64), Value> {
    let mut m = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let key = (
            v["ip"].as_str().unwrap().to_string(),
            v["port"].as_u64().unwrap(),
        );
        assert!(
            m.insert(key.clone(), v).is_none(),
            "two records for {key:?}"
        );
    }
    m
}

/// The parts of a record that must not depend on how the target arrived.
/// For timeouts only the status: what a slow server managed to send before
/// the deadline depends on timing.
fn essence(v: &Value) -> Value {
    if v["status"] == "io-timeout" {
        return serde_json::json!({"status": v["status"]});
    }
    // The EHLO's first line may echo our source port: compare the keyword lines.
    serde_json::json!({
        "status": v["status"], "banner": v["smtp"]["banner"],
        "ehlo": ehlo_keywords(&v["smtp"]["ehlo"]), "ehlo_tls": ehlo_keywords(&v["smtp"]["ehlo_tls"]),
        "help": v["smtp"]["help"], "tls_version": v["tls"]["version"],
        "sha256": v["tls"]["leaf"]["sha256"], "fingerprint": v["fingerprint"], "cves": v["cves"],
    })
}

fn ehlo_keywords(reply: &Value) -> Vec<String> {
    reply["text"]
        .as_str()
        .map(|t| t.split('\n').skip(1).map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn sweep_matches_personas_and_grab_reads_zmap_and_masscan_input() {
    if !need_root() {
        return;
    }
    let tb = Testbed::up(&TestbedConfig {
        name: format!("sw{}", std::process::id() % 100_000),
        prefix: "198.18.0.0/16".into(),
        seed: 1,
        density: 0.03,
    })
    .expect("testbed up");
    let dir = std::env::temp_dir().join(format!("ssw-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("sweep.jsonl");
    let meta = dir.join("sweep.meta.json");
    let mut args = vec![
        "sweep",
        "--allow-reserved",
        "198.18.0.0/16",
        "-r",
        "40000",
        "-c",
        "2",
        "-q",
        "-e",
        "5",
    ];
    args.extend(TIMEOUTS);
    args.extend(["-o", out.to_str().unwrap(), "-m", meta.to_str().unwrap()]);
    run_in(&tb, &args);
    let got = records(&out);

    // The metadata counts the grab stage too.
    let md: Value = serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(
        md["grab"]["submitted"].as_u64(),
        Some(got.len() as u64),
        "{md}"
    );
    assert_eq!(md["grab"]["done"].as_u64(), Some(got.len() as u64), "{md}");
    let by: u64 = md["grab"]["by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by, got.len() as u64);

    // Exactly one record per open (address, port) of the ground truth.
    let truth = serde_json::to_value(tb.truth()).unwrap();
    let open = truth["open"].as_array().unwrap();
    let want: BTreeMap<(String, u64), &Value> = open
        .iter()
        .map(|o| {
            (
                (
                    o["ip"].as_str().unwrap().to_string(),
                    o["port"].as_u64().unwrap(),
                ),
                o,
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "records and open ports differ"
    );

    // Each record against its persona.
    let schema: Value = serde_json::from_str(smtpsweep_grab::GRAB_RECORD_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked_tls = 0;
    let mut checked_fp = 0;
    for (key, t) in &want {
        let r = &got[key];
        let ctx = format!("{key:?} persona {}", t["persona"]);
        if let Err(e) = validator.validate(r) {
            panic!("{ctx}: record does not match the JSON Schema: {e}\n{r}");
        }
        assert_eq!(r["status"], t["expected_status"], "{ctx}: {r}");
        *by_status
            .entry(r["status"].as_str().unwrap().to_string())
            .or_default() += 1;
        let ms = r["duration_ms"].as_u64().unwrap();
        assert!(
            ms <= SESSION_MS + 1_500,
            "{ctx}: took {ms} ms, beyond the session deadline"
        );
        if let Some(g) = t["greeting"].as_str() {
            assert_eq!(r["smtp"]["banner"].as_str(), Some(g), "{ctx}");
        }
        if t["expected_status"] == "success" {
            let ext: Vec<String> = t["ehlo_extensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect();
            let reply = if r["smtp"]["helo"].is_object() {
                &Value::Null
            } else {
                &r["smtp"]["ehlo"]
            };
            if reply.is_object() {
                assert_eq!(ehlo_keywords(reply), ext, "{ctx}: EHLO extensions");
            }
        }
        if let Some(sha) = t["cert_sha256"].as_str()
            && t["expected_status"] == "success"
        {
            let tls = &r["tls"];
            assert_eq!(
                tls["leaf"]["sha256"].as_str(),
                Some(sha),
                "{ctx}: certificate"
            );
            assert_eq!(tls["self_signed"], t["self_signed"], "{ctx}: self-signed");
            assert_eq!(tls["expired"], t["expired"], "{ctx}: expired");
            assert_eq!(tls["version"], t["tls_version"], "{ctx}: TLS version");
            assert_eq!(tls["mode"], t["tls"], "{ctx}: TLS mode");
            checked_tls += 1;
        }
        if let Some(fam) = t["expected_family"].as_str()
            && t["expected_status"] == "success"
        {
            assert_eq!(
                r["fingerprint"]["family"].as_str(),
                Some(fam),
                "{ctx}: family\n{r}"
            );
            if let Some(v) = t["expected_version"].as_str() {
                assert_eq!(
                    r["fingerprint"]["version"].as_str(),
                    Some(v),
                    "{ctx}: version"
                );
            }
            checked_fp += 1;
        }
    }
    eprintln!(
        "sweep: {} records, by status {by_status:?}; {checked_tls} certificates and {checked_fp} fingerprints checked",
        got.len()
    );
    for hostile in [
        "io-timeout",
        "protocol-error",
        "application-error",
        "handshake-error",
        "connection-closed",
        "tls-version-unsupported",
    ] {
        assert!(
            by_status.contains_key(hostile),
            "no {hostile} persona was exercised: {by_status:?}"
        );
    }
    assert!(
        checked_tls > 100 && checked_fp > 1000,
        "{checked_tls} {checked_fp}"
    );

    // `grab` on a ZMap CSV (from `scan -O csv`) and on masscan -oL lines
    // gives the same records as `sweep`.
    let csv = dir.join("scan.csv");
    run_in(
        &tb,
        &[
            "scan",
            "--allow-reserved",
            "198.18.0.0/16",
            "-r",
            "40000",
            "-c",
            "2",
            "-q",
            "-O",
            "csv",
            "-o",
            csv.to_str().unwrap(),
        ],
    );
    let masscan = dir.join("masscan.txt");
    let mut ml = String::from("#masscan\n");
    for (ip, port) in got.keys() {
        ml.push_str(&format!("open tcp {port} {ip} 1764493200\n"));
    }
    ml.push_str("# end\n");
    std::fs::write(&masscan, ml).unwrap();
    for (name, input) in [("zmap csv", &csv), ("masscan -oL", &masscan)] {
        let o = dir.join(format!("grab-{}.jsonl", name.replace(' ', "_")));
        let mut args = vec![
            "grab",
            "-q",
            input.to_str().unwrap(),
            "-o",
            o.to_str().unwrap(),
        ];
        args.extend(TIMEOUTS);
        run_in(&tb, &args);
        let g = records(&o);
        assert_eq!(
            g.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>(),
            "{name}: targets"
        );
        for (k, v) in &g {
            assert_eq!(essence(v), essence(&got[k]), "{name}: {k:?}");
        }
    }
    tb.down().expect("testbed down");
    std::fs::remove_dir_all(&dir).unwrap();
}
