//! Stage 04 (work in progress).
