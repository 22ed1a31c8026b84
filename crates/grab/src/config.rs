//! Configuration of the grab stage.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use smtpsweep_smtp::{ConfigError, DEFAULT_EHLO_NAME, DEFAULT_MAX_REPLY};
use thiserror::Error;

/// Ports on which TLS starts with the first byte (SMTPS) unless configured otherwise.
pub const DEFAULT_SMTPS_PORTS: [u16; 1] = [465];

/// Default number of sessions in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 1000;

/// Largest accepted concurrency.
pub const MAX_CONCURRENCY: usize = 1_000_000;

/// Default limit on queued targets for [`GrabInput::send_wait`](crate::GrabInput::send_wait).
pub const DEFAULT_MAX_BACKLOG: usize = 65_536;

/// How the grab stage behaves. Build with [`GrabConfig::default`] and adjust fields.
#[derive(Debug, Clone)]
pub struct GrabConfig {
    /// Argument of `EHLO`/`HELO`.
    pub ehlo_name: String,
    /// Upgrade with `STARTTLS` when advertised (`--no-starttls` clears it).
    pub starttls: bool,
    /// Send `HELP` before `QUIT`.
    pub send_help: bool,
    /// Ports that get a TLS handshake right after connecting.
    pub smtps_ports: Vec<u16>,
    /// Keep the whole certificate chain (base64 DER) in the record.
    pub store_certs: bool,
    /// Limit on the TCP connect.
    pub connect_timeout: Duration,
    /// Limit on every single read (and on each TLS handshake and write).
    pub read_timeout: Duration,
    /// Limit on the whole session, from the start of the connect to the close.
    pub session_timeout: Duration,
    /// Cap on the size of one SMTP reply in bytes.
    pub max_reply: usize,
    /// Sessions in flight at once in a [`Grabber`](crate::Grabber).
    pub concurrency: usize,
    /// New connections per second in a [`Grabber`](crate::Grabber); 0 means unlimited.
    pub grab_rate: u64,
    /// Queued targets beyond which [`GrabInput::send_wait`](crate::GrabInput::send_wait) waits.
    pub max_backlog: usize,
    /// Trust anchors for the `trusted` fact; `None` means the Mozilla set from `webpki-roots`.
    pub trust_roots: Option<Arc<RootCertStore>>,
}

impl Default for GrabConfig {
    fn default() -> Self {
        Self {
            ehlo_name: DEFAULT_EHLO_NAME.to_string(),
            starttls: true,
            send_help: false,
            smtps_ports: DEFAULT_SMTPS_PORTS.to_vec(),
            store_certs: false,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(30),
            max_reply: DEFAULT_MAX_REPLY,
            concurrency: DEFAULT_CONCURRENCY,
            grab_rate: 0,
            max_backlog: DEFAULT_MAX_BACKLOG,
            trust_roots: None,
        }
    }
}

/// An invalid [`GrabConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrabConfigError {
    /// The SMTP conversation settings are invalid (EHLO name, reply cap).
    #[error("invalid SMTP settings: {0}")]
    Smtp(#[from] ConfigError),
    /// A timeout is zero.
    #[error("{0} timeout must be greater than zero")]
    ZeroTimeout(&'static str),
    /// Concurrency is zero.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
    /// Concurrency is larger than the semaphore can hold.
    #[error("concurrency {0} is too large")]
    ConcurrencyTooLarge(usize),
    /// The backlog limit is zero.
    #[error("maximum backlog must be at least 1")]
    ZeroBacklog,
}

impl GrabConfig {
    /// The per-session settings for the SMTP state machine of a connection to `port`.
    pub fn smtp_config(&self, port: u16) -> smtpsweep_smtp::Config {
        smtpsweep_smtp::Config {
            ehlo_name: self.ehlo_name.clone(),
            starttls: self.starttls,
            send_help: self.send_help,
            implicit_tls: self.smtps_ports.contains(&port),
            max_reply: self.max_reply,
        }
    }

    /// Check every setting.
    pub fn validate(&self) -> Result<(), GrabConfigError> {
        self.smtp_config(25).validate()?;
        for (name, d) in [
            ("connect", self.connect_timeout),
            ("read", self.read_timeout),
            ("session", self.session_timeout),
        ] {
            if d.is_zero() {
                return Err(GrabConfigError::ZeroTimeout(name));
            }
        }
        if self.concurrency == 0 {
            return Err(GrabConfigError::ZeroConcurrency);
        }
        if self.concurrency > MAX_CONCURRENCY {
            return Err(GrabConfigError::ConcurrencyTooLarge(self.concurrency));
        }
        if self.max_backlog == 0 {
            return Err(GrabConfigError::ZeroBacklog);
        }
        Ok(())
    }
}
