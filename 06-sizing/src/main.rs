//! Stage 06 demo (work in progress).

fn main() {}
