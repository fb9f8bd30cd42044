//! Stage 01 (work in progress).
