//! smtpsweep-pacing (being written).
