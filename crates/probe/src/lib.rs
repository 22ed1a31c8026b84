//! smtpsweep-probe (being written).
