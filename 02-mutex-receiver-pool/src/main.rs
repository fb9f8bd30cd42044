//! Stage 02 demo (work in progress).

fn main() {}
