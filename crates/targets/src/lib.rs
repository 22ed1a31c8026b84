//! smtpsweep-targets (being written).
