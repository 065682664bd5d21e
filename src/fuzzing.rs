//! Helpers shared by the fuzz targets (`fuzz/`) and the property tests that
//! stand in for them in `cargo test`.

use std::io;

use crate::engine::assess;
use crate::gate::FailOn;
use crate::ladder::Ladder;
use crate::metrics::Report;
use crate::render::{Entry, Github, Json, Junit, Markdown, Renderer, Run, Sarif, Table};
use crate::source::Format;

/// The embedded ladder; it is valid, so an invalid one is a bug worth a panic here.
pub fn ladder() -> Ladder {
    Ladder::embedded().expect("the embedded ladder is valid")
}

/// A format chosen by a byte.
pub fn format_from(selector: u8) -> Format {
    match selector % 3 {
        0 => Format::Yaml,
        1 => Format::Json,
        _ => Format::Toml,
    }
}

/// Assesses a report and renders it in every output format, checking that
/// the JSON parses; returns the outputs.
pub fn render_all(report: &Report, ladder: &Ladder) -> Vec<Vec<u8>> {
    let mut run = Run::new(ladder, FailOn::Warning);
    run.results.push(Ok(Entry {
        file: "fuzz.yaml".into(),
        assessment: assess(report, ladder),
        lines: Vec::new(),
        change: None,
        what_if: None,
    }));
    let renderers: [&dyn Renderer; 6] = [
        &Table {
            color: true,
            quiet: false,
            width: crate::render::DEFAULT_WIDTH,
            fit: false,
        },
        &Json,
        &Markdown,
        &Github,
        &Junit,
        &Sarif,
    ];
    let outputs: Vec<Vec<u8>> = renderers
        .iter()
        .map(|renderer| {
            let mut out = Vec::new();
            renderer
                .render(&run, &mut out)
                .unwrap_or_else(|e: io::Error| panic!("rendering failed: {e}"));
            out
        })
        .collect();
    let json: serde_json::Value =
        serde_json::from_slice(&outputs[1]).expect("the JSON report parses");
    assert_eq!(json["schema_version"], 1);
    outputs
}
