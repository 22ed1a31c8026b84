//! smtpsweep-grab (being written).
