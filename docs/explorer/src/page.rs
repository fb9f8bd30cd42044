//! The page, built into the binary: it needs nothing but this server, and nothing from the
//! internet.

/// The page's HTML.
pub const INDEX: &str = include_str!("page/index.html");

/// The page's script: the form, the stream of a run, and the drawing.
pub const SCRIPT: &str = include_str!("page/explorer.js");

/// The page's style.
pub const STYLE: &str = include_str!("page/explorer.css");
