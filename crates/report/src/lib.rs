//! smtpsweep-report (being written).
