//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while generating ground truth or running a testbed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CIDR string that does not parse.
    #[error("invalid prefix {input:?}: {reason}")]
    InvalidPrefix {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A prefix that is not inside 198.18.0.0/15.
    #[error("prefix {0} is outside the testbed range 198.18.0.0/15")]
    PrefixOutsideRange(String),
    /// A prefix that overlaps the addresses used for the veth link.
    #[error("prefix {0} overlaps 198.19.255.0/24, which the testbed reserves for its own link")]
    PrefixOverlapsLink(String),
    /// A density that is not a probability.
    #[error("density {0} is not a number between 0 and 1")]
    InvalidDensity(f64),
    /// A testbed name that cannot be used in namespace and interface names.
    #[error("invalid testbed name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Reading or writing a ground-truth file failed.
    #[error("ground truth file {}: {cause}", path.display())]
    TruthIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: io::Error,
    },
    /// A ground-truth file that is not valid JSON of the expected shape.
    #[error("ground truth file {}: {cause}", path.display())]
    TruthJson {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        cause: serde_json::Error,
    },
    /// Ground truth that parses but is inconsistent.
    #[error("invalid ground truth: {0}")]
    TruthInvalid(String),
    /// A persona name that this build does not know.
    #[error("unknown persona {0:?}")]
    UnknownPersona(String),
    /// The caller is not root.
    #[error("the testbed needs root to create network namespaces (effective uid is {0})")]
    NotRoot(u32),
    /// iproute2 is not installed.
    #[error(
        "the `ip` command (iproute2) was not found; install it with `apt-get install iproute2`"
    )]
    IpMissing,
    /// An external command failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and stderr.
        detail: String,
    },
    /// A namespace with the testbed's name already exists.
    #[error(
        "network namespace {0} already exists (is this testbed already up? `cargo xtask testbed down` removes it)"
    )]
    NamespaceExists(String),
    /// Entering a network namespace failed.
    #[error("cannot enter network namespace {ns}: {cause}")]
    Netns {
        /// The namespace.
        ns: String,
        /// The OS error.
        cause: io::Error,
    },
    /// Any other I/O failure, with what was being done.
    #[error("{context}: {cause}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        cause: io::Error,
    },
    /// Making, writing or loading certificates, or configuring TLS, failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server thread failed or ended unexpectedly.
    #[error("testbed servers: {0}")]
    Server(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, cause: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            cause,
        }
    }
}
