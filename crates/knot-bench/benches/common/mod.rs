//! Helpers the bench targets share: refusing the variables that would
//! change what a tool explores, medians, and milliseconds.

use std::env;
use std::time::Duration;

/// Stops the bench when one of `variables` is set to something, since each
/// would change what one of the tools runs.
#[allow(dead_code)] // live_races sets no tool's options
pub(crate) fn refuse_overrides(variables: &[&str]) {
    for variable in variables {
        if env::var_os(variable).is_some_and(|v| !v.is_empty()) {
            panic!("{variable} is set: unset it, it changes what the bench measures");
        }
    }
}

/// The median of `values`, which must not be empty: the middle value once
/// sorted, the upper of the two middle ones for an even count.
pub(crate) fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("the values are ordered"));
    values[values.len() / 2]
}

/// `d` in milliseconds.
#[allow(dead_code)] // executions reports rates, not times
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
