//! Criterion benchmarks for the vision pipeline (written with the pipeline).
fn main() {}
