//! A fleet written as it is assessed, so that memory is bounded by the
//! results in flight and not by the fleet: JSON, JSON Lines, GitHub
//! annotations, the concise lines, JUnit, SARIF, Markdown and the table,
//! byte for byte what their renderers write for the whole run.

use std::borrow::Cow;
use std::io::{self, Read, Seek, Write};

use super::{
    Counts, Entry, Renderer as _, Run, Totals, concise, github, json, junit, markdown, sarif, table,
};
use crate::engine::Severity;
use crate::error::FileError;
use crate::gate::Outcome;
use crate::output::Output;

/// Bytes held in memory before a [`Spill`] moves to a temporary file. Small:
/// fresh memory costs a page fault per 4 KiB, more than writing to a file
/// and reading it back (50 MB of JSON held in memory took 13 ms longer).
const SPILL_AFTER: usize = 4 << 20;

/// A buffer that holds up to a limit ([`SPILL_AFTER`] unless told) in
/// memory and the rest in an anonymous temporary file: what a stream must
/// hold back until its head, which depends on every report, is written.
#[derive(Debug)]
pub struct Spill {
    /// Chunks of [`CHUNK`] bytes: growing never copies what was written.
    memory: Vec<Vec<u8>>,
    held: usize,
    /// The bytes held in memory at most.
    limit: usize,
    file: Option<io::BufWriter<std::fs::File>>,
}

impl Default for Spill {
    fn default() -> Self {
        Self::with_limit(SPILL_AFTER)
    }
}

/// The size of one chunk of a [`Spill`] in memory.
const CHUNK: usize = 1 << 20;

impl Write for Spill {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.held + bytes.len() > self.limit {
            // What is in memory stays there: only the rest goes to disk.
            let file = tempfile::tempfile().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create a temporary file in {} to hold the output until its head is known: {}; set TMPDIR to a writable directory",
                        crate::escape::path_name(&std::env::temp_dir()),
                        crate::source::io_reason(&e)
                    ),
                )
            })?;
            self.file = Some(io::BufWriter::with_capacity(CHUNK, file));
        }
        if let Some(file) = &mut self.file {
            return file.write(bytes);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.memory.last().is_none_or(|c| c.len() == CHUNK) {
                self.memory.push(Vec::with_capacity(CHUNK));
            }
            let chunk = self.memory.last_mut().unwrap_or_else(|| unreachable!());
            let take = rest.len().min(CHUNK - chunk.len());
            chunk.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        self.held += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Spill {
    /// A spill that holds up to `limit` bytes in memory.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            memory: Vec::new(),
            held: 0,
            limit,
            file: None,
        }
    }

    /// Copies everything written to `out`.
    pub fn copy_to(self, out: &mut dyn Write) -> io::Result<()> {
        let mut replay = self.replay()?;
        while let Some(chunk) = replay.chunks.pop_front() {
            out.write_all(&chunk)?;
        }
        if let Some(file) = &mut replay.file {
            io::copy(file, out)?;
        }
        Ok(())
    }

    /// Everything written, read back in order, each piece of the given
    /// lengths at a time.
    pub fn pieces(
        self,
        lengths: impl IntoIterator<Item = usize>,
    ) -> io::Result<impl Iterator<Item = io::Result<Vec<u8>>>> {
        let mut replay = self.replay()?;
        Ok(lengths.into_iter().map(move |length| {
            let mut piece = vec![0; length];
            replay.read_exact(&mut piece)?;
            Ok(piece)
        }))
    }

    fn replay(self) -> io::Result<Replay> {
        let file = match self.file {
            Some(file) => {
                let mut file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                file.rewind()?;
                Some(io::BufReader::with_capacity(CHUNK, file))
            }
            None => None,
        };
        Ok(Replay {
            chunks: self.memory.into(),
            at: 0,
            file,
        })
    }
}

/// A [`Spill`] read back: its chunks in memory, freed as they are read,
/// then its file.
struct Replay {
    chunks: std::collections::VecDeque<Vec<u8>>,
    /// How far the first chunk has been read.
    at: usize,
    file: Option<io::BufReader<std::fs::File>>,
}

impl Read for Replay {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while let Some(chunk) = self.chunks.front() {
            if self.at < chunk.len() {
                let read = (chunk.len() - self.at).min(buffer.len());
                buffer[..read].copy_from_slice(&chunk[self.at..self.at + read]);
                self.at += read;
                return Ok(read);
            }
            self.chunks.pop_front();
            self.at = 0;
        }
        self.file.as_mut().map_or(Ok(0), |file| file.read(buffer))
    }
}

/// Text written straight to an output: the table is drawn without holding
/// all of it. Keeps the first I/O error, which `fmt::Error` cannot carry.
struct Text<'w> {
    out: &'w mut dyn Write,
    error: Option<io::Error>,
}

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.out.write_all(text.as_bytes()).map_err(|error| {
            self.error.get_or_insert(error);
            std::fmt::Error
        })
    }
}

/// Markdown's rows and sections as a [`Stream`] keeps them. The sections
/// of inputs that could not be read come first, so they wait apart.
struct Sections {
    rows: Kept,
    errors: Kept,
    reports: Kept,
}

impl Default for Sections {
    fn default() -> Self {
        // Three spills: a share of the limit each.
        Self {
            rows: Kept::with_limit(SPILL_AFTER / 4),
            errors: Kept::with_limit(SPILL_AFTER / 8),
            reports: Kept::with_limit(SPILL_AFTER / 2),
        }
    }
}

/// Pieces of text in a [`Spill`], with each one's `(passing, characters,
/// bytes)`.
struct Kept {
    spill: Spill,
    lengths: Vec<(bool, usize, usize)>,
}

impl Kept {
    fn with_limit(limit: usize) -> Self {
        Self {
            spill: Spill::with_limit(limit),
            lengths: Vec::new(),
        }
    }

    fn push(&mut self, passing: bool, chars: usize, text: &[u8]) -> io::Result<()> {
        self.spill.write_all(text)?;
        self.lengths.push((passing, chars, text.len()));
        Ok(())
    }

    /// Each piece's `(passing, characters)`.
    fn chars(&self) -> Vec<(bool, usize)> {
        self.lengths
            .iter()
            .map(|&(passing, chars, _)| (passing, chars))
            .collect()
    }

    /// The pieces, in order.
    fn pieces(self) -> io::Result<impl Iterator<Item = io::Result<Cow<'static, [u8]>>>> {
        let bytes = self.lengths.into_iter().map(|(_, _, bytes)| bytes);
        Ok(self.spill.pieces(bytes)?.map(|piece| piece.map(Cow::Owned)))
    }
}

/// The formats that can be written as the reports arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamed {
    /// The JSON report (`schema_version` 1).
    Json,
    /// JSON Lines.
    JsonLines,
    /// GitHub workflow commands.
    Github,
    /// One line per alarm.
    Concise,
    /// JUnit XML: its head counts every test, so the suites wait in a [`Spill`].
    Junit,
    /// SARIF: its head holds the inputs that could not be read, so the
    /// results wait in a [`Spill`].
    Sarif,
    /// Markdown: its head holds the counts, and what fits of the rest
    /// depends on every report, so the rows and sections wait in spills.
    Markdown,
    /// The table for people: the fleet's rows are kept as text (a few
    /// hundred bytes a report) and the table drawn at the end, as the
    /// renderer would draw it (coloured, fitted to a width, or plain).
    Table(super::Table),
}

impl Streamed {
    /// Whether the format points at the line of a report's field.
    pub fn shows_lines(self) -> bool {
        matches!(self, Self::Github | Self::Concise | Self::Sarif)
    }

    /// Whether the format shows the engine's sentences (alarm messages and
    /// remedies, the reason, the next steps), for a run of `reports`
    /// results: the table shows them only for one report.
    pub fn shows_text(self, reports: usize) -> bool {
        !matches!(self, Self::Table(_)) || reports == 1
    }
}

/// The JSON reports held before the head is guessed, and the rest written
/// straight to a file after room for that head (see [`Direct`]).
const GUESS_AFTER: usize = 1 << 20;

/// Whether a JSON stream writes its reports straight to its output, after
/// room left for its head; the head is known only at the end, from the
/// status of every report. Its length depends on the status alone, guessed
/// from the reports so far: when the guess is wrong, the file moves what
/// follows the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direct {
    /// Not tried yet: the reports wait in the body.
    Undecided,
    /// The output leaves no room (it is not a regular file).
    No,
    /// The reports go straight to the output.
    Yes,
}

/// A run being written: its settings, and what the reports so far add up to.
pub struct Stream<'a> {
    format: Streamed,
    /// The run's settings; its results stay empty.
    run: Run<'a>,
    body: Spill,
    worst: Severity,
    errors: Vec<FileError>,
    totals: Totals,
    counts: Counts,
    gate_failed: bool,
    /// JUnit's tests, failures and errors.
    junit: [usize; 3],
    /// Whether items of the JSON or SARIF array were written.
    any_item: bool,
    /// Whether JSON reports go straight to the output.
    direct: Direct,
    /// Markdown's rows and sections.
    markdown: Sections,
    /// With a baseline: the files of the reports so far.
    files: Vec<String>,
    /// For the table: each result's row and the severity its worst-alarm
    /// cell shows, and the result itself when the fleet is one report (it
    /// gets the detailed view).
    rows: Vec<String>,
    severities: Vec<Severity>,
    first: Option<Result<Entry<'a>, FileError>>,
}

/// One result as a [`Stream`] keeps it: its output and what it adds to the
/// run's counts. Made by [`Maker::piece`] on the thread that assessed the
/// result, so rendering runs on every core and the assessment is freed there.
pub struct Piece<'a> {
    /// The result in the stream's format (for the table, its row).
    text: Vec<u8>,
    tally: Result<Tally, FileError>,
    /// What the result adds to JUnit's head.
    junit: [usize; 3],
    /// Markdown: where the row ends and the section starts in `text`, and
    /// the characters of each.
    markdown: (usize, [usize; 2]),
    /// The result itself, when asked to keep it.
    whole: Option<Result<Entry<'a>, FileError>>,
}

/// What one report adds to a run.
struct Tally {
    /// With a baseline, the report's file.
    file: Option<String>,
    status: Severity,
    fails: bool,
    spend: Option<f64>,
    recommended: crate::ladder::CostRange,
}

/// Makes a [`Stream`]'s pieces: its format and the run's gate settings,
/// shared by the threads that assess.
pub struct Maker<'a> {
    format: Streamed,
    run: Run<'a>,
    /// The ladder's stages as JSON, serialized once.
    stages: json::Stages,
}

impl<'a> Maker<'a> {
    /// A result made ready for [`Stream::add`]; `keep` keeps the result
    /// itself, which the table needs when the fleet is one report.
    pub fn piece(&self, result: Result<Entry<'a>, FileError>, keep: bool) -> io::Result<Piece<'a>> {
        let one = std::slice::from_ref(&result);
        let mut text = Vec::new();
        let mut markdown = (0, [0; 2]);
        match self.format {
            Streamed::Json => {
                if let Ok(entry) = &result {
                    text = json::report(entry, &self.stages)?;
                }
            }
            Streamed::JsonLines => text = json::line(&result, &self.stages)?,
            Streamed::Github => github::lines(one, &mut text)?,
            Streamed::Concise => concise::lines(one, &mut text)?,
            Streamed::Junit => text = junit::suite_piece(&self.run, &result)?,
            Streamed::Markdown => {
                let parts = markdown::parts(&result, self.run.gone.is_some());
                markdown = (
                    parts.row.len(),
                    [parts.row.chars().count(), parts.section.chars().count()],
                );
                text = parts.row.into_bytes();
                text.extend_from_slice(parts.section.as_bytes());
            }
            Streamed::Sarif => {
                if let Ok(entry) = &result {
                    text = sarif::results_piece(self.run.ladder, entry)?;
                }
            }
            Streamed::Table(_) => {
                let baseline = self.run.gone.is_some();
                text = table::fleet_row(&result, baseline).0.into_bytes();
            }
        }
        let tally = match &result {
            Ok(entry) => {
                let a = &entry.assessment;
                Ok(Tally {
                    file: self.run.gone.is_some().then(|| entry.file.clone()),
                    status: a.status,
                    fails: a.alarms.iter().any(|alarm| self.run.fails(entry, alarm)),
                    spend: a.monthly_cost_usd,
                    recommended: a.recommended_stage.cost_usd_month,
                })
            }
            Err(error) => Err(error.clone()),
        };
        Ok(Piece {
            junit: junit::counts(&self.run, &result),
            markdown,
            text,
            tally,
            whole: keep.then_some(result),
        })
    }
}

impl<'a> Stream<'a> {
    /// Starts writing `format` for a run with `run`'s settings.
    pub fn new(format: Streamed, mut run: Run<'a>) -> Self {
        run.results.clear();
        Self {
            format,
            run,
            body: Spill::default(),
            worst: Severity::Ok,
            errors: Vec::new(),
            totals: Totals::default(),
            counts: Counts::default(),
            gate_failed: false,
            junit: [0; 3],
            any_item: false,
            direct: Direct::Undecided,
            markdown: Sections::default(),
            files: Vec::new(),
            rows: Vec::new(),
            severities: Vec::new(),
            first: None,
        }
    }

    /// What makes this stream's pieces, on any thread.
    pub fn maker(&self) -> io::Result<Maker<'a>> {
        Ok(Maker {
            format: self.format,
            run: self.run.clone(),
            stages: json::Stages::new(self.run.ladder)?,
        })
    }

    /// Writes one result, in input order.
    pub fn add(&mut self, piece: Piece<'a>, out: &mut dyn Output) -> io::Result<()> {
        let Piece {
            text,
            tally,
            junit,
            markdown,
            whole,
        } = piece;
        let passing = tally.as_ref().is_ok_and(|t| t.status == Severity::Ok);
        for (sum, count) in self.junit.iter_mut().zip(junit) {
            *sum += count;
        }
        let report = tally.is_ok();
        let severity = tally.as_ref().map_or(Severity::Critical, |t| t.status);
        match tally {
            Ok(tally) => {
                self.worst = self.worst.max(tally.status);
                self.gate_failed |= tally.fails;
                self.counts.add_status(Some(tally.status));
                self.totals.add_cost(tally.spend, tally.recommended);
                self.files.extend(tally.file);
            }
            Err(error) => {
                self.counts.add_status(None);
                self.errors.push(error);
            }
        }
        if self.first.is_none() {
            self.first = whole;
        }
        match self.format {
            Streamed::Json if self.direct == Direct::Yes => {
                super::write_items(out, &text, &mut self.any_item)
            }
            Streamed::Json => {
                super::write_items(&mut self.body, &text, &mut self.any_item)?;
                if self.direct == Direct::Undecided && self.body.held >= GUESS_AFTER {
                    self.go_direct(out)?;
                }
                Ok(())
            }
            Streamed::Sarif => super::write_items(&mut self.body, &text, &mut self.any_item),
            Streamed::Junit => self.body.write_all(&text),
            Streamed::Markdown => {
                let (cut, [row_chars, section_chars]) = markdown;
                let (row, section) = text.split_at(cut);
                self.markdown.rows.push(passing, row_chars, row)?;
                let sections = if report {
                    &mut self.markdown.reports
                } else {
                    &mut self.markdown.errors
                };
                sections.push(passing, section_chars, section)
            }
            Streamed::JsonLines | Streamed::Github | Streamed::Concise => out.write_all(&text),
            Streamed::Table(_) => {
                self.rows
                    .push(String::from_utf8(text).map_err(io::Error::other)?);
                self.severities.push(severity);
                Ok(())
            }
        }
    }

    /// The status of the results so far, as the JSON head names it.
    fn status(&self) -> &'static str {
        if self.errors.is_empty() {
            self.worst.name()
        } else {
            "error"
        }
    }

    /// The JSON head, for the run's status so far.
    fn json_head(&self) -> io::Result<Vec<u8>> {
        let mut head = Vec::new();
        json::write_head(&mut head, self.status(), self.run.root.as_deref())?;
        Ok(head)
    }

    /// Leaves room in `out` for the JSON head, as long as the reports so far
    /// make it, and writes the reports held so far after it.
    fn go_direct(&mut self, out: &mut dyn Output) -> io::Result<()> {
        let room = self.json_head()?.len() as u64;
        if !out.leave_room(room)? {
            self.direct = Direct::No;
            return Ok(());
        }
        self.direct = Direct::Yes;
        std::mem::take(&mut self.body).copy_to(out)
    }

    /// With a baseline, the files of the reports so far.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The baseline's reports that this run does not have.
    pub fn set_gone(&mut self, gone: Vec<String>) {
        self.run.gone = Some(gone);
    }

    /// The inputs that could not be read or were invalid, so far.
    pub fn errors(&self) -> &[FileError] {
        &self.errors
    }

    /// How many results there were, and how many could not be read.
    pub fn counted(&self) -> (usize, usize) {
        (self.counts.results(), self.errors.len())
    }

    /// The table, as [`super::Table`] draws it for the whole run.
    fn table(&self, table: super::Table, out: &mut dyn Write) -> io::Result<()> {
        let (one, quiet) = (self.counts.results() == 1, table.quiet);
        if let (true, false, Some(Ok(entry))) = (one, quiet, &self.first) {
            let mut run = self.run.clone();
            run.results = vec![Ok(entry.clone())];
            return table.render(&run, out);
        }
        let mut text = Text { out, error: None };
        let drawn = (|| -> std::fmt::Result {
            use std::fmt::Write as _;
            if !quiet {
                let baseline = self.run.gone.is_some();
                if table.fit {
                    table.fleet_grid(&mut text, baseline, &self.rows, &self.severities)?;
                } else {
                    let header = table::fleet_header(baseline);
                    let colors = table.color.then_some(self.severities.as_slice());
                    table::plain_grid(&mut text, &header, &self.rows, colors)?;
                }
                writeln!(text, "{}", self.totals.line())?;
            }
            writeln!(text, "{}", self.run.summary_lines(&self.counts.line()))?;
            if let Some(gone) = &self.run.gone
                && !gone.is_empty()
            {
                writeln!(
                    text,
                    "removed (in the baseline, not in this run): {}",
                    crate::escape::line(&gone.join(", "))
                )?;
            }
            Ok(())
        })();
        match (drawn, text.error) {
            (_, Some(error)) => Err(error),
            (Err(error), None) => Err(io::Error::other(error)),
            (Ok(()), None) => Ok(()),
        }
    }

    /// Writes the end of the output, and returns the gate's outcome.
    pub fn finish(self, out: &mut dyn Output) -> io::Result<Outcome> {
        let status = self.status();
        match self.format {
            Streamed::Json => {
                let head = self.json_head()?;
                if self.direct != Direct::Yes {
                    out.write_all(&head)?;
                }
                let any = self.totals.reports > 0;
                self.body.copy_to(out)?;
                let errors: Vec<&FileError> = self.errors.iter().collect();
                json::write_tail(
                    out,
                    any,
                    &errors,
                    &self.totals,
                    self.run.gone.as_deref(),
                    &json::JsonPolicy::new(&self.run),
                )?;
                if self.direct == Direct::Yes {
                    out.fill_room(&head)?;
                }
            }
            Streamed::JsonLines => {
                json::write_summary(
                    out,
                    status,
                    self.totals.reports,
                    self.errors.len(),
                    &self.totals,
                    &json::JsonPolicy::new(&self.run),
                )?;
            }
            Streamed::Github | Streamed::Concise => {
                writeln!(out, "{}", self.run.summary_lines(&self.counts.line()))?;
            }
            Streamed::Markdown => {
                let head = markdown::head(
                    status,
                    &self.run.summary_lines(&self.counts.line()),
                    &self.totals.line(),
                    self.run.gone.is_some(),
                );
                let Sections {
                    rows,
                    errors,
                    reports,
                } = self.markdown;
                let mut sections = errors.chars();
                sections.extend(reports.chars());
                let plan = markdown::plan(&rows.chars(), &sections, markdown::budget(&head));
                out.write_all(head.as_bytes())?;
                let mut rows = rows.pieces()?;
                let mut sections = errors.pieces()?.chain(reports.pieces()?);
                plan.write(out, &mut rows, &mut sections)?;
            }
            Streamed::Sarif => {
                let errors: Vec<&FileError> = self.errors.iter().collect();
                let (head, tail) =
                    sarif::frame(self.run.ladder, &errors, json::policy_value(&self.run)?)?;
                out.write_all(&head)?;
                self.body.copy_to(out)?;
                sarif::write_end(out, self.any_item, &tail)?;
            }
            Streamed::Junit => {
                junit::write_head(out, self.junit)?;
                self.body.copy_to(out)?;
                junit::write_tail(out)?;
            }
            Streamed::Table(table) => self.table(table, out)?,
        }
        Ok(if !self.errors.is_empty() {
            Outcome::InputError
        } else if self.gate_failed {
            Outcome::GateFailed
        } else {
            Outcome::Pass
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spill_gives_back_its_pieces_across_memory_and_file() {
        let mut spill = Spill::with_limit(100);
        let pieces: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i % 7) * 3]).collect();
        for piece in &pieces {
            spill.write_all(piece).unwrap();
        }
        assert!(spill.file.is_some() && !spill.memory.is_empty());
        let back: Vec<Vec<u8>> = spill
            .pieces(pieces.iter().map(Vec::len))
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(back, pieces);
    }

    #[test]
    fn a_spill_moves_to_a_file_past_its_limit_and_gives_back_every_byte() {
        let mut spill = Spill::default();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        for _ in 0..70 {
            spill.write_all(&chunk).unwrap();
        }
        assert!(spill.file.is_some());
        let mut out = Vec::new();
        spill.copy_to(&mut out).unwrap();
        assert_eq!(out.len(), 70 << 20);
        assert!(out.chunks(1 << 20).all(|c| c == chunk.as_slice()));
        let mut small = Spill::default();
        small.write_all(b"abc").unwrap();
        assert!(small.file.is_none());
        let mut out = Vec::new();
        small.copy_to(&mut out).unwrap();
        assert_eq!(out, b"abc");
    }
}
