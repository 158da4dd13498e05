//! Benchmarks of knot; see `benches/`.
