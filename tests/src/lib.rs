//! Whole-program tests of knot live in `tests/`.
