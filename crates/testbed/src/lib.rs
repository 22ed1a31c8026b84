//! smtpsweep-testbed (being written).
