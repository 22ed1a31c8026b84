//! The error type shared by every fallible operation in this crate.

/// Everything that can go wrong while building a target space.
///
/// Every variant displays as a single line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A target (address, CIDR block or range) is malformed.
    #[error("{what}: '{text}'")]
    Target {
        /// What is wrong, e.g. `invalid address (octet 256 > 255)`.
        what: String,
        /// The offending text.
        text: String,
    },
    /// A line of an allowlist or blocklist file is malformed.
    #[error("{origin}:{line}: {what}: '{text}'")]
    Line {
        /// Where the text came from (usually a file name).
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
        /// The offending text (the line without its comment, trimmed).
        text: String,
    },
    /// A port list (`-p`) is malformed.
    #[error("invalid port list: {what}: '{text}'")]
    Ports {
        /// What is wrong, e.g. `port 0 is not allowed`.
        what: String,
        /// The offending item (or the whole list when it is empty).
        text: String,
    },
    /// A shard/thread split is impossible (e.g. shard index not below the shard count).
    #[error("invalid sharding: {0}")]
    Sharding(String),
    /// The space handed to [`crate::Permutation`] is larger than supported.
    #[error("target space of {n} elements exceeds the supported maximum of {max}")]
    SpaceTooLarge {
        /// Requested size.
        n: u64,
        /// Largest supported size.
        max: u64,
    },
}

impl TargetError {
    pub(crate) fn target(what: impl Into<String>, text: &str) -> Self {
        TargetError::Target {
            what: what.into(),
            text: one_line(text),
        }
    }

    pub(crate) fn ports(what: impl Into<String>, text: &str) -> Self {
        TargetError::Ports {
            what: what.into(),
            text: one_line(text),
        }
    }
}

/// Escape control characters (newlines, tabs, ...) so an error stays on one line.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
