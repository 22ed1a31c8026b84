//! smtpsweep-mmdb (being written).
