//! The prose of the reports: a `minijinja` Markdown template per scenario in `templates/`, filled
//! with its figures, so that a writer edits sentences without touching Rust.

use std::sync::OnceLock;

use harness::table;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::scenario::DISTURBED;

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

/// Renders the template `name` with `figures` (`minijinja::context!`), each already formatted;
/// panics if the template does not parse or uses a figure that `figures` lacks.
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
        environment.add_filter("thousands", |n: u64| table::thousands(n));
        // The share of the machine above which a run counts as disturbed, for every template.
        environment.add_global("limit", table::percent(DISTURBED));
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
