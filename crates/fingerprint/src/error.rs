//! Load errors: one line each, naming the file (origin) and, where there is
//! one, the fingerprint.

use std::fmt;

/// Why a fingerprint database could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The document is not well-formed XML or not a `<fingerprints>` document.
    Xml {
        /// File name or other origin given by the caller.
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// One fingerprint is unusable (bad regex, bad param, bad example...).
    Fingerprint {
        /// File name or other origin given by the caller.
        origin: String,
        /// 1-based line of the `<fingerprint>` element.
        line: usize,
        /// The fingerprint's description, or its pattern if it has none.
        fingerprint: String,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read.
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
}

impl LoadError {
    pub(crate) fn xml(origin: &str, line: usize, message: impl Into<String>) -> Self {
        LoadError::Xml {
            origin: origin.to_string(),
            line,
            message: one_line(&message.into()),
        }
    }

    pub(crate) fn fp(
        origin: &str,
        line: usize,
        fingerprint: &str,
        message: impl Into<String>,
    ) -> Self {
        LoadError::Fingerprint {
            origin: origin.to_string(),
            line,
            fingerprint: one_line(fingerprint),
            message: one_line(&message.into()),
        }
    }
}

/// Collapse any line breaks so every error stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r']) {
        s.split(['\n', '\r'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s.to_string()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Xml {
                origin,
                line,
                message,
            } => write!(f, "{origin}:{line}: invalid XML: {message}"),
            LoadError::Fingerprint {
                origin,
                line,
                fingerprint,
                message,
            } => write!(f, "{origin}:{line}: fingerprint {fingerprint:?}: {message}"),
            LoadError::Io { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for LoadError {}
