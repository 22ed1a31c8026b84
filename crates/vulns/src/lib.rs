//! smtpsweep-vulns (being written).
