//! Measures the stages from outside (work in progress).

fn main() {}
