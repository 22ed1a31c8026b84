//! smtpsweep-fingerprint (being written).
