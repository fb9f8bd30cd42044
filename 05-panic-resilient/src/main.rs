//! Stage 05 demo (work in progress).

fn main() {}
