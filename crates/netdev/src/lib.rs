//! smtpsweep-netdev (being written).
