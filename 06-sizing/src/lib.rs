//! Stage 06 (work in progress).
