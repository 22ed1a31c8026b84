//! The final status of a session (ZGrab2-style vocabulary).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a session ended. Exactly one per (address, port) record.
///
/// The serialized names are the strings in [`Status::as_str`]; see the crate
/// documentation for when each one is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The conversation gathered everything it set out to.
    Success,
    /// The TCP connection could not be established (other than by timeout).
    ConnectionRefused,
    /// The TCP connection attempt timed out.
    ConnectionTimeout,
    /// A read, a TLS handshake or the whole session ran out of time after connecting.
    IoTimeout,
    /// The server closed or reset the connection before the facts were gathered.
    ConnectionClosed,
    /// The server does not speak SMTP (or broke the reply syntax).
    ProtocolError,
    /// The server speaks SMTP but refused the conversation (e.g. 421/554 greeting).
    ApplicationError,
    /// The TLS handshake failed.
    HandshakeError,
    /// The TLS handshake failed because the server offers no protocol version we speak.
    TlsVersionUnsupported,
    /// STARTTLS succeeded but the conversation inside TLS failed.
    PostTlsApplicationError,
    /// Not ZGrab2's: the run was stopped (a second Ctrl-C) before this
    /// session finished or started; the record keeps what was known.
    Interrupted,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 11] = [
        Status::Success,
        Status::ConnectionRefused,
        Status::ConnectionTimeout,
        Status::IoTimeout,
        Status::ConnectionClosed,
        Status::ProtocolError,
        Status::ApplicationError,
        Status::HandshakeError,
        Status::TlsVersionUnsupported,
        Status::PostTlsApplicationError,
        Status::Interrupted,
    ];

    /// The serialized name, e.g. `"io-timeout"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::ConnectionRefused => "connection-refused",
            Status::ConnectionTimeout => "connection-timeout",
            Status::IoTimeout => "io-timeout",
            Status::ConnectionClosed => "connection-closed",
            Status::ProtocolError => "protocol-error",
            Status::ApplicationError => "application-error",
            Status::HandshakeError => "handshake-error",
            Status::TlsVersionUnsupported => "tls-version-unsupported",
            Status::PostTlsApplicationError => "post-tls-application-error",
            Status::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the status names.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str_and_parse_back() {
        for st in Status::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), st);
        }
        let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "success",
                "connection-refused",
                "connection-timeout",
                "io-timeout",
                "connection-closed",
                "protocol-error",
                "application-error",
                "handshake-error",
                "tls-version-unsupported",
                "post-tls-application-error",
                "interrupted"
            ]
        );
        assert!("timeout".parse::<Status>().is_err());
    }
}
