//! Stage 01 demo (work in progress).

fn main() {}
