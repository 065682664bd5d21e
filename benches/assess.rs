//! Parse + assess of one report, in each input format, and the JSON renderer.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scalectl::engine::assess;
use scalectl::ladder::Ladder;
use scalectl::metrics::Report;
use scalectl::source::{Format, Source};

const YAML: &str = include_str!("../examples/trigger-db-cpu.yaml");
const JSON: &str = include_str!("../examples/stage3-growing.json");
const TOML: &str = include_str!("../examples/stage4-scale.toml");

fn parse_and_assess(c: &mut Criterion) {
    let ladder = Ladder::embedded().unwrap();
    let mut group = c.benchmark_group("parse+assess");
    for (name, text, format) in [
        ("yaml", YAML, Format::Yaml),
        ("json", JSON, Format::Json),
        ("toml", TOML, Format::Toml),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let source =
                    Source::from_bytes("bench".into(), black_box(text).as_bytes().to_vec(), format)
                        .unwrap();
                let report = Report::parse(&source, &ladder).unwrap();
                black_box(assess(&report, &ladder).status)
            })
        });
    }
    group.finish();

    let source =
        Source::from_bytes("bench".into(), YAML.as_bytes().to_vec(), Format::Yaml).unwrap();
    let report = Report::parse(&source, &ladder).unwrap();
    c.bench_function("assess only", |b| {
        b.iter(|| black_box(assess(black_box(&report), &ladder).status))
    });
    c.bench_function("load embedded ladder", |b| {
        b.iter(|| black_box(Ladder::embedded().unwrap()))
    });
}

criterion_group!(benches, parse_and_assess);
criterion_main!(benches);
