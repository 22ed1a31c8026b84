//! Criterion benchmarks live beside this file; see Cargo.toml.
