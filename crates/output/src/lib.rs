//! smtpsweep-output (being written).
