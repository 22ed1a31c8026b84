//! smtpsweep-sender (being written).
