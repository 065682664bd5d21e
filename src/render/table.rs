//! The human-readable report: a detailed view for one report, a one-row-per-
//! report table for a fleet.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table as Grid, Width, presets,
};

use super::{Entry, Renderer, Run, fitted};
use crate::baseline::{Change, ReportChange};
use crate::engine::{
    Assessment, Severity, cost_range_text, format_dollars, format_value, signed_dollars,
};
use crate::escape::line;
use crate::ladder::Stage;
use crate::metric::format_count;

/// Renders tables for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Whether to colour severities with ANSI escapes.
    pub color: bool,
    /// Print only the closing summary line (fleet runs).
    pub quiet: bool,
    /// The width to lay tables out in; a fleet table is fitted to it only
    /// when `fit` is set (a terminal, or `COLUMNS`), else it is never wrapped.
    pub width: u16,
    /// Whether the width is the reader's (a terminal, or `COLUMNS`).
    pub fit: bool,
}

/// The width tables are laid out in when nothing says otherwise, so that
/// output does not depend on where it goes.
pub const DEFAULT_WIDTH: u16 = 100;

impl Renderer for Table {
    fn render(&self, run: &Run<'_>, writer: &mut dyn Write) -> io::Result<()> {
        writer.write_all(self.text(run).as_bytes())
    }
}

impl Table {
    fn text(&self, run: &Run<'_>) -> String {
        let mut out = String::new();
        if let [Ok(entry)] = run.results.as_slice()
            && !self.quiet
        {
            self.detail(&mut out, entry);
            if let Some(policy) = run.policy_line() {
                let _ = writeln!(out, "\n{policy}");
            }
        } else {
            if !self.quiet {
                self.fleet(&mut out, run);
            }
            let _ = writeln!(out, "{}", run.summary());
        }
        if let Some(gone) = &run.gone
            && !gone.is_empty()
        {
            let _ = writeln!(
                out,
                "removed (in the baseline, not in this run): {}",
                line(&gone.join(", "))
            );
        }
        out
    }

    fn grid(&self) -> Grid {
        let mut grid = Grid::new();
        grid.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(self.width);
        if self.color {
            grid.enforce_styling();
        } else {
            grid.force_no_tty();
        }
        grid
    }

    fn severity_cell(&self, severity: Severity) -> Cell {
        self.colored(Cell::new(severity.name()), severity)
    }

    fn colored(&self, cell: Cell, severity: Severity) -> Cell {
        if !self.color {
            return cell;
        }
        match severity {
            Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
            Severity::Warning => cell.fg(Color::Yellow),
            Severity::Unknown => cell.fg(Color::Magenta).add_attribute(Attribute::Bold),
            Severity::Ok => cell.fg(Color::Green),
        }
    }

    fn paint(&self, text: &str, severity: Severity) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::Warning => "33",
            Severity::Unknown => "1;35",
            Severity::Ok => "32",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn detail(&self, out: &mut String, entry: &Entry<'_>) {
        let a = &entry.assessment;
        let title = match &a.service {
            Some(service) => format!("{} ({})", line(service), line(&entry.file)),
            None => line(&entry.file).into_owned(),
        };
        let status = self.paint(&a.status.name().to_uppercase(), a.status);
        let _ = writeln!(out, "{title}: {status}");

        let mut summary = self.grid();
        summary.add_row(vec!["users".to_owned(), format_count(a.users)]);
        summary.add_row(vec!["stage".to_owned(), stage_line(a.stage)]);
        if let Some(current) = a.current_stage {
            summary.add_row(vec!["architecture in use".to_owned(), stage_name(current)]);
        }
        summary.add_row(vec![
            "recommended".to_owned(),
            format!("{}: {}", stage_name(a.recommended_stage), a.reason),
        ]);
        let d = &a.decision;
        if !d.conditions.is_empty() {
            let conditions: Vec<String> = d
                .conditions
                .iter()
                .map(|check| {
                    format!(
                        "{} {}",
                        if check.held { "[x]" } else { "[ ]" },
                        crate::engine::condition_text(check, d.move_to)
                    )
                })
                .collect();
            summary.add_row(vec![
                format!("decision: {}", d.action.name()),
                crate::escape::text(&conditions.join("\n")).into_owned(),
            ]);
        }
        summary.add_row(vec![
            format!("stage {} runs", a.recommended_stage.id),
            a.recommended_stage.architecture.join("; "),
        ]);
        summary.add_row(vec![
            "database".to_owned(),
            a.recommended_stage.database.clone(),
        ]);
        summary.add_row(vec!["cost".to_owned(), cost_line(a)]);
        if let Some(next) = a.next_stage {
            summary.add_row(vec![
                "plan for next".to_owned(),
                format!("{} at {}/month", stage_name(next), cost_range_text(next)),
            ]);
        }
        if let Some(change) = &entry.change {
            summary.add_row(vec![
                "vs baseline".to_owned(),
                line(&change_summary(change)).into_owned(),
            ]);
        }
        if let Some(what_if) = &entry.what_if {
            let breaks: Vec<String> = what_if
                .first_to_break
                .iter()
                .map(|b| match b.users {
                    0 => format!("{} (already critical)", b.rule),
                    users => format!("{} at {} users", b.rule, format_count(users)),
                })
                .collect();
            summary.add_row(vec![
                "what if".to_owned(),
                format!(
                    "{} users instead of the {} observed, {}; first to break: {}",
                    format_count(what_if.users),
                    format_count(what_if.observed_users),
                    if what_if.load == "history" {
                        "load following the models fitted to the history"
                    } else {
                        "load growing in proportion to users"
                    },
                    if breaks.is_empty() {
                        "no measured load metric breaks".to_owned()
                    } else {
                        breaks.join(", ")
                    }
                ),
            ]);
        }
        if !a.missing_metrics.is_empty() {
            summary.add_row(vec![
                "not measured".to_owned(),
                a.missing_metrics.join(", "),
            ]);
        }
        let _ = writeln!(out, "{summary}");

        if a.alarms.is_empty() {
            let _ = writeln!(out, "\nNo alarms.");
        } else {
            let mut alarms = self.grid();
            alarms.set_header(vec!["severity", "rule", "observed", "threshold", "message"]);
            for alarm in &a.alarms {
                alarms.add_row(vec![
                    self.severity_cell(alarm.severity),
                    Cell::new(&alarm.rule),
                    Cell::new(format_value(alarm.metric, alarm.observed)),
                    Cell::new(format_value(alarm.metric, alarm.threshold)),
                    Cell::new(&alarm.message),
                ]);
            }
            let _ = writeln!(out, "\nAlarms\n{alarms}");
        }

        if !a.suppressed.is_empty() {
            let _ = writeln!(out, "\nSuppressed");
            for s in &a.suppressed {
                let _ = writeln!(
                    out,
                    "  {} ({}): {}",
                    s.alarm.rule,
                    s.alarm.severity,
                    line(&s.reason)
                );
            }
        }

        let _ = writeln!(out, "\nNext steps");
        for (i, step) in a.next_steps.iter().enumerate() {
            let _ = writeln!(out, "{:>3}. {step}", i + 1);
        }
    }

    fn fleet(&self, out: &mut String, run: &Run<'_>) {
        let baseline = run.gone.is_some();
        let (rows, severities): (Vec<String>, Vec<Severity>) = run
            .results
            .iter()
            .map(|result| fleet_row(result, baseline))
            .unzip();
        if self.fit {
            let _ = self.fleet_grid(out, baseline, &rows, &severities);
        } else {
            let colors = self.color.then_some(severities.as_slice());
            let _ = plain_grid(out, &fleet_header(baseline), &rows, colors);
        }
        let _ = writeln!(out, "{}", run.totals().line());
    }

    /// The fleet table fitted to the width, from rows made by
    /// [`fleet_row`] and their severities: comfy-table's layout of the whole
    /// table, drawn a batch of rows at a time (see [`fitted`]).
    pub(crate) fn fleet_grid(
        &self,
        out: &mut dyn std::fmt::Write,
        baseline: bool,
        rows: &[String],
        severities: &[Severity],
    ) -> std::fmt::Result {
        self.fleet_grid_in(out, baseline, rows, severities, fitted::BATCH)
    }

    fn fleet_grid_in(
        &self,
        out: &mut dyn std::fmt::Write,
        baseline: bool,
        rows: &[String],
        severities: &[Severity],
        batch: usize,
    ) -> std::fmt::Result {
        let header = fleet_header(baseline);
        let widths = fitted::content_widths(self.width, &header, rows);
        let fixed = widths
            .iter()
            .map(|&width| ColumnConstraint::Absolute(Width::Fixed(width.saturating_add(2))));
        fitted::draw_in_batches(out, rows.len(), batch, |range, with_header| {
            let mut grid = self.grid();
            grid.set_content_arrangement(ContentArrangement::Disabled);
            if with_header {
                grid.set_header(header.clone());
            }
            for (row, &severity) in rows[range.clone()].iter().zip(&severities[range]) {
                grid.add_row(self.fleet_cells(row, severity));
            }
            grid.set_constraints(fixed.clone());
            grid
        })
    }

    /// A kept fleet row as comfy-table cells, its worst alarm coloured.
    fn fleet_cells(&self, row: &str, severity: Severity) -> Vec<Cell> {
        row.split(CELL)
            .enumerate()
            .map(|(i, text)| {
                if i == WORST_COLUMN {
                    self.colored(Cell::new(text), severity)
                } else {
                    Cell::new(text)
                }
            })
            .collect()
    }
}

/// The column of a fleet row that carries the worst alarm, coloured by it.
const WORST_COLUMN: usize = 5;

/// The fleet table's header; `vs baseline` with a baseline.
pub(crate) fn fleet_header(baseline: bool) -> Vec<&'static str> {
    let mut header = vec![
        "report",
        "service",
        "users",
        "stage",
        "recommended",
        "worst alarm",
        "spend",
        "cost range",
    ];
    if baseline {
        header.push("vs baseline");
    }
    header
}

/// One row of the fleet table, its cells joined by [`CELL`], and the
/// severity its worst-alarm cell shows.
pub(crate) fn fleet_row(
    result: &Result<Entry<'_>, crate::error::FileError>,
    baseline: bool,
) -> (String, Severity) {
    let mut row = String::with_capacity(160);
    let entry = match result {
        Ok(entry) => entry,
        Err(error) => {
            row.push_str(&line(&error.path));
            for cell in ["-", "-", "-", "-", "error", "-", "-"] {
                row.push_str(CELL);
                row.push_str(cell);
            }
            if baseline {
                row.push_str(CELL);
                row.push('-');
            }
            return (row, Severity::Critical);
        }
    };
    let a = &entry.assessment;
    let _ = write!(
        row,
        "{}{CELL}{}{CELL}{}{CELL}{}{CELL}{}{CELL}",
        line(&entry.file),
        line(a.service.as_deref().unwrap_or("-")),
        format_count(a.users),
        line(&stage_name(a.stage)),
        line(&stage_name(a.recommended_stage)),
    );
    let severity = match a.alarms.first() {
        Some(alarm) => {
            let _ = write!(row, "{} {}", alarm.severity, line(&alarm.rule));
            alarm.severity
        }
        None => {
            row.push_str("ok");
            Severity::Ok
        }
    };
    row.push_str(CELL);
    match a.monthly_cost_usd {
        Some(spend) => {
            let _ = write!(row, "${}", format_dollars(spend));
        }
        None => row.push('-'),
    }
    let _ = write!(row, "{CELL}{}/month", cost_range_text(a.recommended_stage));
    if let Some(change) = &entry.change {
        row.push_str(CELL);
        row.push_str(&line(&change_summary(change)));
    }
    (row, severity)
}

/// What separates the cells of a row kept as one string: a control
/// character, which cell text never holds (it is escaped).
pub(crate) const CELL: &str = "\u{1f}";

/// A table without colour or wrapping, drawn as comfy-table draws its
/// `UTF8_FULL_CONDENSED` preset, from rows of plain text, each one string of
/// cells joined by [`CELL`]: what a fleet run that streams keeps is these
/// rows, not the assessments.
pub(crate) fn plain_grid(
    out: &mut dyn std::fmt::Write,
    header: &[&str],
    rows: &[String],
    colors: Option<&[Severity]>,
) -> std::fmt::Result {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (width_so_far, cell) in widths.iter_mut().zip(row.split(CELL)) {
            *width_so_far = (*width_so_far).max(width(cell));
        }
    }
    let mut line = String::new();
    let rule = |line: &mut String, [left, fill, join, right]: [char; 4]| {
        line.push(left);
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                line.push(join);
            }
            line.extend(std::iter::repeat_n(fill, w + 2));
        }
        line.push(right);
        line.push('\n');
    };
    let row_line =
        |line: &mut String, cells: &mut dyn Iterator<Item = &str>, color: Option<Severity>| {
            line.push('│');
            for (i, (w, cell)) in widths.iter().zip(cells).enumerate() {
                if i > 0 {
                    line.push('┆');
                }
                let (start, end) = match color {
                    Some(severity) if i == WORST_COLUMN => ansi(severity),
                    _ => ("", ""),
                };
                line.push_str(start);
                line.push(' ');
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - width(cell) + 1));
                line.push_str(end);
            }
            line.push_str("│\n");
        };
    rule(&mut line, ['┌', '─', '┬', '┐']);
    row_line(&mut line, &mut header.iter().copied(), None);
    rule(&mut line, ['╞', '═', '╪', '╡']);
    out.write_str(&line)?;
    for (i, row) in rows.iter().enumerate() {
        line.clear();
        let color = colors.and_then(|colors| colors.get(i).copied());
        row_line(&mut line, &mut row.split(CELL), color);
        out.write_str(&line)?;
    }
    line.clear();
    rule(&mut line, ['└', '─', '┴', '┘']);
    out.write_str(&line)
}

/// The escapes comfy-table writes around a cell coloured for `severity`
/// (see `Table::colored`), before and after it.
fn ansi(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Critical => ("\x1b[38;5;9m\x1b[1m", "\x1b[0m"),
        Severity::Warning => ("\x1b[38;5;11m", "\x1b[39m"),
        Severity::Unknown => ("\x1b[38;5;13m\x1b[1m", "\x1b[0m"),
        Severity::Ok => ("\x1b[38;5;10m", "\x1b[39m"),
    }
}

/// The columns a cell takes on a terminal.
fn width(cell: &str) -> usize {
    use unicode_width::UnicodeWidthStr as _;
    if cell.is_ascii() {
        cell.len()
    } else {
        cell.width()
    }
}

fn stage_name(stage: &Stage) -> String {
    format!("{} {}", stage.id, stage.name)
}

fn stage_line(stage: &Stage) -> String {
    let range = match stage.users_max {
        Some(max) => format!(
            "{} to {} users",
            format_count(stage.users_min),
            format_count(max)
        ),
        None => format!("{} users and more", format_count(stage.users_min)),
    };
    format!("{} ({range})", stage_name(stage))
}

/// "now $2,900 -> stage 3 $5,000-$20,000 (+$2,100 to +$17,100 a month)", like a cost diff.
fn cost_line(a: &Assessment<'_>) -> String {
    let stage = a.recommended_stage;
    match (a.monthly_cost_usd, a.cost_delta_usd_month) {
        (Some(spend), Some(delta)) => format!(
            "now ${} -> stage {} {} ({} to {} a month)",
            format_dollars(spend),
            stage.id,
            cost_range_text(stage),
            signed_dollars(delta.min),
            signed_dollars(delta.max)
        ),
        _ => format!("stage {} costs {}/month", stage.id, cost_range_text(stage)),
    }
}

/// "worse: new db-cpu; resolved cache-hit-rate".
pub fn change_summary(change: &ReportChange) -> String {
    let mut parts = vec![change.status.name().to_owned()];
    let listed = |wanted: Change| -> Vec<&str> {
        change
            .alarms
            .iter()
            .filter(|(_, c)| **c == wanted)
            .map(|(rule, _)| rule.as_str())
            .collect()
    };
    for (label, kind) in [("new", Change::New), ("worse", Change::Worse)] {
        let rules = listed(kind);
        if !rules.is_empty() && change.status != Change::New {
            parts.push(format!("{label} {}", rules.join(", ")));
        }
    }
    if !change.resolved.is_empty() {
        parts.push(format!("resolved {}", change.resolved.join(", ")));
    }
    for value in &change.values {
        let field = if value.field == "recommended_stage" {
            "stage"
        } else {
            value.field.as_str()
        };
        let show = |v: f64| {
            if field == "stage" {
                format_value("current_stage", v)
                    .trim_start_matches("stage ")
                    .to_owned()
            } else {
                format_value(field, v)
            }
        };
        parts.push(format!(
            "{field} {} -> {}",
            show(value.before),
            show(value.now)
        ));
    }
    parts.join("; ")
}

#[cfg(test)]
mod plain_tests {
    use super::*;

    /// The fleet table as comfy-table draws it given every row at once:
    /// what the plain grid and the fitted table are held equal to.
    pub(crate) fn whole_table(
        table: &Table,
        baseline: bool,
        rows: &[String],
        severities: &[Severity],
    ) -> String {
        let mut grid = table.grid();
        grid.set_header(fleet_header(baseline));
        if !table.fit {
            grid.set_content_arrangement(ContentArrangement::Disabled);
        }
        for (row, &severity) in rows.iter().zip(severities) {
            grid.add_row(table.fleet_cells(row, severity));
        }
        format!("{grid}\n")
    }

    /// The plain grid is comfy-table's, character for character, for wide,
    /// combining and narrow text alike.
    #[test]
    fn the_plain_grid_is_what_comfy_table_draws() {
        let header = ["report", "service", "users"];
        let cells = [
            ["a.yaml", "漢字のサービス", "1"],
            ["b/é.yaml", "-", "100,000"],
            ["c.yaml", "e\u{301}te\u{301}", "3"],
            ["d.yaml", "", "12"],
        ];
        let rows: Vec<String> = cells.iter().map(|r| r.join(CELL)).collect();
        let mut grid = Grid::new();
        grid.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .force_no_tty()
            .set_header(header);
        for row in &cells {
            grid.add_row(row.to_vec());
        }
        let mut plain = String::new();
        plain_grid(&mut plain, &header, &rows, None).unwrap();
        assert_eq!(plain, format!("{grid}\n"));
    }

    /// Coloured, the plain grid paints the worst-alarm cells as comfy-table
    /// does, for every severity.
    #[test]
    fn the_coloured_plain_grid_is_what_comfy_table_draws() {
        let severities = [
            Severity::Critical,
            Severity::Warning,
            Severity::Unknown,
            Severity::Ok,
        ];
        let rows: Vec<String> = severities
            .iter()
            .enumerate()
            .map(|(i, severity)| {
                let worst = format!("{severity} rule-{}", "x".repeat(i));
                let cells = [
                    "a.yaml",
                    "漢字",
                    "1",
                    "1 Startup",
                    "2 Growing",
                    &worst,
                    "-",
                    "$50/month",
                ];
                cells.join(CELL)
            })
            .collect();
        let table = Table {
            color: true,
            quiet: false,
            width: DEFAULT_WIDTH,
            fit: false,
        };
        let comfy = whole_table(&table, false, &rows, &severities);
        let mut plain = String::new();
        plain_grid(&mut plain, &fleet_header(false), &rows, Some(&severities)).unwrap();
        assert!(plain.contains("\x1b["));
        assert_eq!(plain, comfy);
    }
}

#[cfg(test)]
mod fitted_tests {
    use super::plain_tests::whole_table;
    use super::*;
    use proptest::prelude::*;

    const SEVERITIES: [Severity; 4] = [
        Severity::Critical,
        Severity::Warning,
        Severity::Unknown,
        Severity::Ok,
    ];

    fn fitted(
        table: &Table,
        baseline: bool,
        rows: &[String],
        severities: &[Severity],
        batch: usize,
    ) -> String {
        let mut out = String::new();
        table
            .fleet_grid_in(&mut out, baseline, rows, severities, batch)
            .unwrap();
        out
    }

    /// A fleet's worth of rows like real ones, more than a batch of them,
    /// fitted to common widths, is comfy-table's layout of the whole table.
    #[test]
    fn a_fitted_fleet_is_what_comfy_table_draws_from_every_row() {
        let rows: Vec<String> = (0..fitted::BATCH * 2 + 7)
            .map(|i| {
                let worst = if i % 3 == 0 {
                    "ok"
                } else {
                    "critical db-cpu-over-threshold"
                };
                let file = format!("fleet/team-{}/service-{i}.yaml", i % 17);
                let service = format!("checkout api {}", "x".repeat(i % 40));
                let users = format_count(i as u64 * 977);
                [
                    file.as_str(),
                    &service,
                    &users,
                    "2 Growing",
                    "3 Scaling out",
                    worst,
                    "$1,200",
                    "$500-$2,000/month",
                ]
                .join(CELL)
            })
            .collect();
        let severities: Vec<Severity> = (0..rows.len()).map(|i| SEVERITIES[i % 4]).collect();
        for (width, color) in [(60, false), (90, true), (120, false), (200, true)] {
            let table = Table {
                color,
                quiet: false,
                width,
                fit: true,
            };
            let drawn = fitted(&table, false, &rows, &severities, fitted::BATCH);
            assert_eq!(
                drawn,
                whole_table(&table, false, &rows, &severities),
                "width {width}"
            );
        }
    }

    /// Cell text that wraps: words, runs of spaces, long words, wide and
    /// combining characters, emoji joined into one grapheme, new lines.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{0,12}",
            "[a-z ./-]{0,40}",
            "[a-z漢é\u{301}🙂\u{200d}\u{200b} ]{0,30}",
            "[a-z \n]{0,20}",
        ]
    }

    proptest! {
        /// Whatever the cells, the width and the batch size, the table drawn
        /// a batch at a time is comfy-table's layout of the whole table.
        #[test]
        fn fitted_batches_are_what_comfy_table_draws_from_every_row(
            width in 1u16..220,
            baseline in any::<bool>(),
            color in any::<bool>(),
            batch in 1usize..5,
            rows in prop::collection::vec(
                (prop::collection::vec(cell(), 9), 0usize..4),
                0..12,
            ),
        ) {
            let columns = fleet_header(baseline).len();
            let (rows, severities): (Vec<String>, Vec<Severity>) = rows
                .iter()
                .map(|(cells, severity)| (cells[..columns].join(CELL), SEVERITIES[*severity]))
                .unzip();
            let table = Table { color, quiet: false, width, fit: true };
            prop_assert_eq!(
                fitted(&table, baseline, &rows, &severities, batch),
                whole_table(&table, baseline, &rows, &severities)
            );
        }
    }
}
