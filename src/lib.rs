//! scalectl: place a running system on the scaling ladder from its measured
//! metrics, and say what to do next and what it costs.

pub mod app;
pub mod cli;
pub mod engine;
pub mod error;
pub mod gate;
pub mod ladder;
pub mod metric;
pub mod metrics;
pub mod render;
pub mod source;
mod suggest;
