//! smtpsweep-smtp (being written).
