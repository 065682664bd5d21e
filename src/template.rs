//! The commented metrics-report template that `scalectl init` writes.

use std::fmt::Write as _;

use crate::checklist::{Answer, SECTIONS};

/// The file name the template's schema comment points to.
pub const SCHEMA_FILE: &str = "metrics.schema.json";

/// A metrics report template with every field, its unit and valid range, and
/// the checklist block. Invalid until `users` is filled in, so that an
/// untouched template never passes a gate; fill in what you measure.
pub fn metrics_template() -> String {
    let mut out = format!(
        "# yaml-language-server: $schema={SCHEMA_FILE}\n\
# A scalectl metrics report. Fill in what you measure; leave a field empty when\n\
# you do not measure it (it is then listed as not measured, never guessed).\n\
# For completion and typo checks in your editor, write the schema next to this\n\
# file with: scalectl schema metrics > {SCHEMA_FILE}\n\
# Check the file with `scalectl validate FILE`, assess it with `scalectl assess FILE`.\n\
\n\
# Name shown in reports (text).\n\
service: my-service\n\
\n\
# Active users (required): a whole number >= 0, or a string such as \"42K\", \"1.2M\", \"42_000\".\n\
# Left empty, the report is invalid until you fill it in; write 0 only if there really are none.\n\
users:\n\
\n\
# API p95 response time, in milliseconds (a number >= 0).\n\
api_p95_ms:\n\
\n\
# CPU of the busiest database node (the primary, or the hottest shard), in percent (0 to 100).\n\
db_cpu_pct:\n\
\n\
# Open database connections, and the server's limit (whole numbers; the limit > 0).\n\
# Connections are checked as a percentage of the limit when both are given.\n\
db_connections:\n\
db_max_connections:\n\
\n\
# Cache hit rate, in percent (0 to 100).\n\
cache_hit_rate_pct:\n\
\n\
# Worst replica lag, in milliseconds (a number >= 0).\n\
replication_lag_ms:\n\
\n\
# The ladder stage whose architecture runs today (`scalectl stages` lists them: 1 to 4 by default).\n\
current_stage:\n\
\n\
# Current infrastructure spend, in US dollars per month (a number >= 0).\n\
monthly_cost_usd:\n\
\n\
# When these numbers were observed: YYYY-MM-DD or an RFC 3339 date-time, quoted.\n\
# Needed when the report is one of a history for `scalectl forecast`.\n\
observed_at:\n\
\n\
# The scaling checklist, answered by hand: true when done, false when not;\n\
# leave an item commented out while you don't know. Measured items come from\n\
# the metrics above and cannot be answered here.\n\
checklist:\n"
    );
    for section in &SECTIONS {
        let _ = writeln!(out, "  # {}", section.title);
        for item in section.items {
            match item.answer {
                Answer::Manual | Answer::Collected => {
                    let _ = writeln!(out, "  # {}: true    # {}", item.id, item.text);
                }
                Answer::Measured(metric) => {
                    let _ = writeln!(
                        out,
                        "  #   ({} is measured from {})",
                        item.id,
                        metric.fields().join(" and ")
                    );
                }
            }
        }
    }
    out
}
