//! Stage 05 (work in progress).
