//! A local "internet" for testing smtpsweep, built from network namespaces on this machine.
//!
//! Two namespaces joined by a veth pair: `ssw-<name>-scan` (the scanner host, 198.19.255.1/30,
//! with a route for the simulated prefix only) and `ssw-<name>-inet` (198.19.255.2/30, the
//! gateway). In the internet namespace every live host of the [`GroundTruth`] is a `local`
//! route on `lo`, so the kernel's own TCP stack answers SYNs: SYN-ACK where a persona listens,
//! RST on the other ports. Dead hosts are not local and, with forwarding off and no default
//! route, are dropped silently. Nothing links to the root namespace, so nothing can leave.
//!
//! * [`GroundTruth`]: pure and deterministic; what a perfect scan and banner grab must find.
//! * [`persona`]: the realistic and hostile SMTP servers answering on the open ports.
//! * [`tls`]: the certificates (made with rcgen when a testbed comes up) and TLS oddities.
//! * [`Testbed`]: brings everything up for an integration test and tears it down on drop.
//! * [`serve_in_netns`] and [`Topology`]: the pieces, for a daemonised testbed (`cargo xtask`).

pub mod date;
pub mod error;
pub mod geo;
mod mix;
pub mod netns;
pub mod persona;
pub mod prefix;
pub mod server;
pub mod testbed;
pub mod tls;
pub mod truth;

pub use error::{Error, Result};
pub use netns::{TestbedNames, Topology, run_in_netns};
pub use persona::{ExpectedStatus, FingerprintSource, Hostile, Persona, TlsVersion};
pub use prefix::{GATEWAY_IP, Ipv4Prefix, SCANNER_IP, TESTBED_RANGE};
pub use server::{ServeOptions, StopSignal, StopTrigger, serve, serve_in_netns, stop_pair};
pub use testbed::{Testbed, TestbedConfig, TestbedOptions};
pub use tls::{CertKind, Provisioned, provision};
pub use truth::{ClosedPort, GroundTruth, OpenPort, SMTP_PORTS, TlsMode};
