//! The banner-grab stage of smtpsweep.
//!
//! A tokio task per target drives the sans-I/O SMTP conversation of
//! [`smtpsweep_smtp::Session`] over TCP, with rustls for implicit TLS (SMTPS) and
//! STARTTLS, and turns the outcome into a [`GrabRecord`]: the replies, the parsed
//! EHLO extensions, TLS facts and certificate facts, and exactly one [`Status`].
//!
//! - [`grab`]: one target, from async code.
//! - [`Grabber::start`]: the engine for sync callers: a background thread with its
//!   own two-worker tokio runtime, up to `concurrency` sessions at once, optional
//!   `grab_rate` pacing, fed through [`GrabInput`], records out on a crossbeam
//!   channel, live [`GrabStats`].
//! - [`input`]: target lines in the formats `smtpsweep grab` reads.
//! - [`to_zgrab2`]: ZGrab2's SMTP module layout of a record.
//!
//! # TLS
//! The client offers TLS 1.3 and 1.2 (rustls, ring provider), no SNI (targets are
//! addresses), no ALPN, no resumption, and accepts every certificate and handshake
//! signature: trust is judged after the fact against `webpki-roots` (or
//! [`GrabConfig::trust_roots`]) for the host name the greeting announces. A server
//! that answers with a protocol version below TLS 1.2 or a `protocol_version` alert
//! ends as `tls-version-unsupported`; any other handshake failure as `handshake-error`.

mod cert;
mod config;
mod engine;
mod grab;
pub mod input;
mod record;
mod tls;
mod zgrab2;

pub use cert::{CertParseError, dns_name_matches, greeting_host, name_matches};
pub use config::{
    DEFAULT_CONCURRENCY, DEFAULT_MAX_BACKLOG, DEFAULT_SMTPS_PORTS, GrabConfig, GrabConfigError,
    MAX_CONCURRENCY,
};
pub use engine::{
    AbortHandle, GrabHandles, GrabInput, GrabStartError, GrabStats, GrabStatsSnapshot, GrabStopped,
    Grabber, raise_nofile_limit,
};
pub use grab::grab;
pub use record::{CertFacts, GrabRecord, ReplySummary, SmtpData, TlsData};
pub use smtpsweep_smtp::{Extensions, Status, TlsMode};
pub use tls::{classify_handshake_error, default_roots, trust_check};
pub use zgrab2::to_zgrab2;

/// The JSON Schema (draft 2020-12) of a [`GrabRecord`] as written by serde_json.
pub const GRAB_RECORD_SCHEMA: &str = include_str!("../schema/grab-record.schema.json");
