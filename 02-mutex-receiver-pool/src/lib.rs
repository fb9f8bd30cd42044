//! Stage 02 (work in progress).
