//! smtpsweep-receiver (being written).
