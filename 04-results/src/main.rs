//! Stage 04 demo (work in progress).

fn main() {}
