//! Ground truth: which hosts of a prefix are live and which SMTP ports they have open.
//!
//! Pure and deterministic: the same (prefix, seed, density) always gives the same hosts, ports and
//! personas, and whether an address is live depends only on (seed, address, density), not on the
//! prefix around it.

use std::collections::HashSet;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::persona;
use crate::prefix::Ipv4Prefix;

/// The ports every live host is simulated on.
pub const SMTP_PORTS: [u16; 3] = [25, 465, 587];

/// An open (address, port) and the persona that answers there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpenPort {
    /// Address of the live host.
    pub ip: Ipv4Addr,
    /// The open port.
    pub port: u16,
    /// Name of the persona (see [`persona::find`]).
    pub persona: String,
}

/// A closed port on a live host: the kernel answers a SYN with RST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClosedPort {
    /// Address of the live host.
    pub ip: Ipv4Addr,
    /// The closed port.
    pub port: u16,
}

/// The simulated internet: live hosts, open and closed ports, all sorted by (address, port).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The simulated prefix.
    pub prefix: Ipv4Prefix,
    /// Seed the truth was generated from.
    pub seed: u64,
    /// Probability that an address is live.
    pub density: f64,
    /// Live hosts (they answer every port in [`SMTP_PORTS`], with SYN-ACK or RST).
    pub live_hosts: Vec<Ipv4Addr>,
    /// Open (address, port) pairs with their persona.
    pub open: Vec<OpenPort>,
    /// Closed (address, port) pairs on live hosts.
    pub closed: Vec<ClosedPort>,
}

// Domain-separation constants for the per-address hashes.
const SALT_LIVE: u64 = 0x6c69_7665;
const SALT_PORTS: u64 = 0x706f_7274;
const SALT_PERSONA: u64 = 0x7065_7273;

/// SplitMix64's finaliser: a fast, well-mixed 64-bit bijection.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(seed: u64, salt: u64, value: u64) -> u64 {
    mix64(mix64(seed ^ mix64(salt)) ^ value)
}

/// A uniform number in [0, 1) from 53 bits of the hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether `ip` is live for this seed and density.
fn live(seed: u64, density: f64, ip: Ipv4Addr) -> bool {
    unit(hash(seed, SALT_LIVE, u64::from(u32::from(ip)))) < density
}

/// The non-empty subset of [`SMTP_PORTS`] open on a live host, as a 3-bit mask (1..=7).
fn open_mask(seed: u64, ip: Ipv4Addr) -> u8 {
    (hash(seed, SALT_PORTS, u64::from(u32::from(ip))) % 7) as u8 + 1
}

fn persona_for(seed: u64, ip: Ipv4Addr, port: u16) -> &'static str {
    let all = persona::all();
    let key = (u64::from(u32::from(ip)) << 16) | u64::from(port);
    all[(hash(seed, SALT_PERSONA, key) % all.len() as u64) as usize].name()
}

impl GroundTruth {
    /// Generates the truth for `prefix` (inside 198.18.0.0/15, clear of 198.19.255.0/24).
    ///
    /// Each address is live with probability `density`; each live host has a non-empty,
    /// uniformly chosen subset of {25, 465, 587} open, each open port with a persona.
    pub fn generate(prefix: Ipv4Prefix, seed: u64, density: f64) -> Result<Self> {
        prefix.check_testbed()?;
        if !(0.0..=1.0).contains(&density) {
            return Err(Error::InvalidDensity(density));
        }
        let mut truth = GroundTruth {
            prefix,
            seed,
            density,
            live_hosts: Vec::new(),
            open: Vec::new(),
            closed: Vec::new(),
        };
        for ip in prefix.addresses().filter(|&ip| live(seed, density, ip)) {
            truth.live_hosts.push(ip);
            let mask = open_mask(seed, ip);
            for (bit, &port) in SMTP_PORTS.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    let persona = persona_for(seed, ip, port).to_owned();
                    truth.open.push(OpenPort { ip, port, persona });
                } else {
                    truth.closed.push(ClosedPort { ip, port });
                }
            }
        }
        Ok(truth)
    }

    /// Whether `ip` is a live host.
    pub fn is_live(&self, ip: Ipv4Addr) -> bool {
        self.live_hosts.binary_search(&ip).is_ok()
    }

    /// The persona answering on (ip, port), if that pair is open.
    pub fn persona_at(&self, ip: Ipv4Addr, port: u16) -> Option<&str> {
        self.open
            .binary_search_by(|o| (o.ip, o.port).cmp(&(ip, port)))
            .ok()
            .map(|i| self.open[i].persona.as_str())
    }

    /// The open (address, port) pairs as a set.
    pub fn open_pairs(&self) -> HashSet<(Ipv4Addr, u16)> {
        self.open.iter().map(|o| (o.ip, o.port)).collect()
    }

    /// The closed (address, port) pairs on live hosts as a set.
    pub fn closed_pairs(&self) -> HashSet<(Ipv4Addr, u16)> {
        self.closed.iter().map(|c| (c.ip, c.port)).collect()
    }

    /// Addresses of the prefix that are not live (they never answer), ascending.
    pub fn dead_hosts(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.prefix.addresses().filter(|ip| !self.is_live(*ip))
    }

    /// Checks internal consistency: sorted, unique, inside the prefix, every live host with
    /// all three ports accounted for (at least one open), known personas.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::TruthInvalid(m));
        self.prefix.check_testbed()?;
        if !(0.0..=1.0).contains(&self.density) {
            return Err(Error::InvalidDensity(self.density));
        }
        if !self.live_hosts.windows(2).all(|w| w[0] < w[1]) {
            return bad("live_hosts is not sorted and unique".into());
        }
        if let Some(ip) = self
            .live_hosts
            .iter()
            .find(|ip| !self.prefix.contains(**ip))
        {
            return bad(format!("live host {ip} is outside {}", self.prefix));
        }
        if !self
            .open
            .windows(2)
            .all(|w| (w[0].ip, w[0].port) < (w[1].ip, w[1].port))
        {
            return bad("open is not sorted and unique".into());
        }
        if !self.closed.windows(2).all(|w| w[0] < w[1]) {
            return bad("closed is not sorted and unique".into());
        }
        let mut seen: HashSet<(Ipv4Addr, u16)> = HashSet::new();
        let mut hosts_with_open: HashSet<Ipv4Addr> = HashSet::new();
        let pairs = self
            .open
            .iter()
            .map(|o| (o.ip, o.port, true))
            .chain(self.closed.iter().map(|c| (c.ip, c.port, false)));
        for (ip, port, open) in pairs {
            if !self.is_live(ip) {
                return bad(format!("{ip}:{port} is listed but {ip} is not a live host"));
            }
            if !SMTP_PORTS.contains(&port) {
                return bad(format!("{ip}:{port}: port is not one of 25, 465, 587"));
            }
            if !seen.insert((ip, port)) {
                return bad(format!("{ip}:{port} is listed both open and closed"));
            }
            if open {
                hosts_with_open.insert(ip);
            }
        }
        if seen.len() != self.live_hosts.len() * SMTP_PORTS.len() {
            return bad("some live host does not list all of ports 25, 465, 587".into());
        }
        if hosts_with_open.len() != self.live_hosts.len() {
            return bad("some live host has no open port".into());
        }
        if let Some(o) = self
            .open
            .iter()
            .find(|o| persona::find(&o.persona).is_none())
        {
            return Err(Error::UnknownPersona(o.persona.clone()));
        }
        Ok(())
    }

    /// The truth as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ground truth always serialises")
    }

    /// Parses and validates JSON written by [`GroundTruth::to_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        let truth: GroundTruth = serde_json::from_str(text)
            .map_err(|e| Error::TruthInvalid(format!("not ground-truth JSON: {e}")))?;
        truth.validate()?;
        Ok(truth)
    }

    /// Writes the truth to `path` as JSON, creating parent directories.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io_err = |cause| Error::TruthIo {
            path: path.to_owned(),
            cause,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut text = self.to_json();
        text.push('\n');
        fs::write(path, text).map_err(io_err)
    }

    /// Reads and validates a truth file written by [`GroundTruth::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|cause| Error::TruthIo {
            path: path.to_owned(),
            cause,
        })?;
        let truth: GroundTruth = serde_json::from_str(&text).map_err(|cause| Error::TruthJson {
            path: path.to_owned(),
            cause,
        })?;
        truth.validate()?;
        Ok(truth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(s: &str) -> Ipv4Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn deterministic_for_same_inputs() {
        let a = GroundTruth::generate(prefix("198.18.0.0/16"), 7, 0.03).unwrap();
        let b = GroundTruth::generate(prefix("198.18.0.0/16"), 7, 0.03).unwrap();
        assert_eq!(a, b);
        let c = GroundTruth::generate(prefix("198.18.0.0/16"), 8, 0.03).unwrap();
        assert_ne!(a.live_hosts, c.live_hosts);
    }

    #[test]
    fn liveness_depends_only_on_address() {
        // A sub-prefix sees exactly the live hosts of the big prefix that fall inside it.
        let big = GroundTruth::generate(prefix("198.18.0.0/16"), 3, 0.1).unwrap();
        let small = GroundTruth::generate(prefix("198.18.77.0/24"), 3, 0.1).unwrap();
        let expected: Vec<_> = big
            .live_hosts
            .iter()
            .copied()
            .filter(|ip| small.prefix.contains(*ip))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(small.live_hosts, expected);
        let expected_open: Vec<_> = big
            .open
            .iter()
            .filter(|o| small.prefix.contains(o.ip))
            .cloned()
            .collect();
        assert_eq!(small.open, expected_open);
    }

    #[test]
    fn density_within_tolerance() {
        for (density, seed) in [(0.03, 1), (0.3, 2), (0.5, 99)] {
            let t = GroundTruth::generate(prefix("198.18.0.0/16"), seed, density).unwrap();
            let n = 65536.0;
            let got = t.live_hosts.len() as f64;
            let sd = (n * density * (1.0 - density)).sqrt();
            assert!(
                (got - n * density).abs() < 5.0 * sd,
                "density {density}: {got} live of {n}"
            );
        }
        let none = GroundTruth::generate(prefix("198.18.0.0/20"), 1, 0.0).unwrap();
        assert!(none.live_hosts.is_empty() && none.open.is_empty() && none.closed.is_empty());
        let all = GroundTruth::generate(prefix("198.18.0.0/24"), 1, 1.0).unwrap();
        assert_eq!(all.live_hosts.len(), 256);
    }

    #[test]
    fn ports_and_personas_are_consistent() {
        let t = GroundTruth::generate(prefix("198.18.0.0/16"), 1, 0.03).unwrap();
        t.validate().unwrap();
        assert_eq!(t.open.len() + t.closed.len(), 3 * t.live_hosts.len());
        // Every non-empty subset of the three ports shows up, and every persona is used.
        let mut masks = HashSet::new();
        for ip in &t.live_hosts {
            let m: Vec<u16> = SMTP_PORTS
                .iter()
                .copied()
                .filter(|p| t.persona_at(*ip, *p).is_some())
                .collect();
            assert!(!m.is_empty());
            masks.insert(m);
        }
        assert_eq!(masks.len(), 7);
        let used: HashSet<&str> = t.open.iter().map(|o| o.persona.as_str()).collect();
        assert_eq!(used.len(), persona::all().len());
        // Open and closed are disjoint and closed hosts are live.
        let open = t.open_pairs();
        assert!(t.closed_pairs().iter().all(|c| !open.contains(c)));
        let dead: Vec<_> = t.dead_hosts().take(100).collect();
        assert!(
            dead.iter()
                .all(|ip| !t.is_live(*ip) && t.prefix.contains(*ip))
        );
        assert_eq!(t.dead_hosts().count() + t.live_hosts.len(), 65536);
    }

    #[test]
    fn refuses_bad_prefixes_and_densities() {
        for p in [
            "198.20.0.0/16",
            "10.0.0.0/8",
            "192.0.2.0/24",
            "198.18.0.0/15",
        ] {
            assert!(GroundTruth::generate(prefix(p), 1, 0.03).is_err(), "{p}");
        }
        for d in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let err = GroundTruth::generate(prefix("198.18.0.0/24"), 1, d).unwrap_err();
            assert!(matches!(err, Error::InvalidDensity(_)), "{d}: {err}");
        }
    }

    #[test]
    fn json_round_trip() {
        let t = GroundTruth::generate(prefix("198.18.4.0/22"), 42, 0.25).unwrap();
        let text = t.to_json();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["prefix"], "198.18.4.0/22");
        assert_eq!(v["seed"], 42);
        assert_eq!(v["open"][0]["ip"], t.open[0].ip.to_string());
        assert_eq!(v["open"][0]["persona"], t.open[0].persona);
        assert!(v["closed"][0]["port"].is_u64());
        assert_eq!(GroundTruth::from_json(&text).unwrap(), t);

        let dir = std::env::temp_dir().join(format!("ssw-truth-{}", std::process::id()));
        let path = dir.join("sub/truth.json");
        t.save(&path).unwrap();
        assert_eq!(GroundTruth::load(&path).unwrap(), t);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_rejects_inconsistent_files() {
        let t = GroundTruth::generate(prefix("198.18.4.0/24"), 5, 0.3).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["open"][0]["persona"] = "no-such-mta".into();
        let err = GroundTruth::from_json(&v.to_string()).unwrap_err();
        assert!(matches!(err, Error::UnknownPersona(_)), "{err}");

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["prefix"] = "10.0.0.0/24".into();
        assert!(matches!(
            GroundTruth::from_json(&v.to_string()),
            Err(Error::PrefixOutsideRange(_))
        ));

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["closed"].as_array_mut().unwrap().pop();
        assert!(matches!(
            GroundTruth::from_json(&v.to_string()),
            Err(Error::TruthInvalid(_))
        ));

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["open"][0]["ip"] = "198.18.9.9".into();
        assert!(GroundTruth::from_json(&v.to_string()).is_err());

        let err = GroundTruth::from_json("{\"prefix\": 3}").unwrap_err();
        assert!(matches!(err, Error::TruthInvalid(_)), "{err}");
        let bad = std::env::temp_dir().join(format!("ssw-bad-truth-{}.json", std::process::id()));
        std::fs::write(&bad, "[1, 2").unwrap();
        let err = GroundTruth::load(&bad).unwrap_err();
        std::fs::remove_file(&bad).unwrap();
        assert!(matches!(err, Error::TruthJson { .. }), "{err}");
        let missing = Path::new("/nonexistent/ssw/truth.json");
        assert!(matches!(
            GroundTruth::load(missing),
            Err(Error::TruthIo { .. })
        ));
    }
}
