//! The prose of the reports: a `minijinja` Markdown template in `docs/measure/templates/` per
//! scenario, filled with the figures it computed, so that a writer edits the sentences without
//! touching Rust. A block tag takes its line's newline with it, so a template reads as the
//! Markdown it makes; partials, named `_*`, are included by the others.

use std::sync::OnceLock;

use harness::table;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// Templates by name: each a file of `templates/`, compiled in.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template.
const TEMPLATES: &[(&str, &str)] = templates![
    "_disturbed.md",
    "_repetitions.md",
    "costs.md",
    "granularity.md",
    "io-at-scale.md",
    "overhead.md",
    "policies.md",
    "same-job.md",
    "scaling.md",
    "sizing.md",
    "timelines.md",
];

/// Renders the template `name` with `figures`, made with `minijinja::context!`: each figure by
/// name, already formatted.
///
/// # Panics
///
/// Panics if the template does not parse, or uses a figure that `figures` lacks: a mistake in
/// the template, which every scenario's tests render.
pub fn render(name: &str, figures: Value) -> String {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    let environment = ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters");
        environment.set_syntax(syntax);
        // Counts as the tables show them: `1,000`.
        environment.add_filter("thousands", |n: u64| table::thousands(n));
        // A figure the template names but the scenario did not compute is an error, not "".
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        for &(name, source) in TEMPLATES {
            environment
                .add_template(name, source)
                .unwrap_or_else(|error| panic!("template {name}: {error:#}"));
        }
        environment
    });
    environment
        .get_template(name)
        .and_then(|template| template.render(figures))
        .unwrap_or_else(|error| panic!("template {name}: {error:#}"))
}
