//! scalectl: place a running system on the scaling ladder from its measured
//! metrics, and say what to do next and what it costs.
//!
//! Data flows one way: a report is parsed and validated into a
//! [`metrics::Report`], a ladder file into a [`ladder::Ladder`], the pure
//! [`engine::assess`] turns both into an [`engine::Assessment`], and a
//! [`render::Renderer`] turns assessments into output.
//!
//! ```
//! use scalectl::engine::{Severity, assess};
//! use scalectl::ladder::Ladder;
//! use scalectl::metrics::Report;
//!
//! let ladder = Ladder::embedded()?;
//! let mut report = Report::with_users(42_000);
//! let assessment = assess(&report, &ladder);
//! assert_eq!(assessment.stage.name, "Traction");
//! assert_eq!(assessment.next_stage.map(|s| s.id), Some(3));
//! // Users alone measure nothing, so the report cannot pass.
//! assert_eq!(assessment.status, Severity::Unknown);
//! report.db_cpu_pct = Some(45.0);
//! assert_eq!(assess(&report, &ladder).status, Severity::Ok);
//! # Ok::<(), scalectl::error::FileError>(())
//! ```

pub mod app;
pub mod baseline;
pub mod checklist;
pub mod cli;
pub mod collect;
pub mod config;
pub mod date;
pub mod engine;
pub mod error;
pub mod escape;
pub mod fleet;
pub mod forecast;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod history;
pub mod ladder;
pub mod load;
pub mod metric;
pub mod metrics;
pub mod output;
pub mod parallel;

pub mod render;
pub mod schema;
pub mod source;
mod suggest;
pub mod template;
