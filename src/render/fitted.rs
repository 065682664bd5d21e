//! The fleet table fitted to a width (a terminal, or `COLUMNS`), drawn as
//! comfy-table draws it with its dynamic arrangement, without handing
//! comfy-table every row at once.
//!
//! comfy-table chooses the columns' widths from every cell of a table, so a
//! table of 100,000 rows holds all of them, formatted, several times over.
//! Here the widths are worked out from the kept rows the way comfy-table's
//! dynamic arrangement works them out ([`content_widths`]); comfy-table then
//! draws the rows a batch at a time with those widths fixed
//! ([`draw_in_batches`]). The tests hold the result equal to comfy-table's
//! own layout of the whole table.

use std::fmt;
use std::ops::Range;

use comfy_table::Table as Grid;
use unicode_segmentation::UnicodeSegmentation as _;
use unicode_width::UnicodeWidthStr as _;

use super::table::CELL;

/// How many rows comfy-table draws at once.
pub(crate) const BATCH: usize = 512;

/// The columns that borders take in a table of `columns` columns drawn with
/// `UTF8_FULL_CONDENSED`: one on each side and one between columns.
fn border_columns(columns: usize) -> usize {
    2 + columns.saturating_sub(1)
}

/// Each cell's padding, left plus right.
const PADDING: usize = 2;

/// A wrapped line is finished once no more than this many of its columns
/// are left free.
const MIN_FREE: usize = 2;

/// The cells of column `index`: the header's, then each row's.
fn column<'a>(
    header: &'a [&'a str],
    rows: &'a [String],
    index: usize,
) -> impl Iterator<Item = &'a str> + 'a {
    let below = rows
        .iter()
        .filter_map(move |row| row.split(CELL).nth(index));
    header.get(index).copied().into_iter().chain(below)
}

/// The content widths (without padding) that comfy-table's dynamic
/// arrangement gives the columns of a `UTF8_FULL_CONDENSED` table with this
/// header and these rows (each one string of cells joined by [`CELL`]),
/// fitted to `width` columns.
pub(crate) fn content_widths(width: u16, header: &[&str], rows: &[String]) -> Vec<u16> {
    let columns = header.len();
    let mut widest = vec![0; columns];
    let cells = header.iter().copied().enumerate();
    let cells = cells.chain(rows.iter().flat_map(|row| row.split(CELL).enumerate()));
    for (index, cell) in cells {
        if let Some(widest) = widest.get_mut(index) {
            for line in cell.split('\n') {
                let width = u16::try_from(line.width()).unwrap_or(u16::MAX).max(1);
                *widest = width.max(*widest);
            }
        }
    }
    let mut state = Arrangement {
        widths: vec![None; columns],
        remaining_width: usize::from(width)
            .saturating_sub(border_columns(columns))
            .saturating_sub(PADDING * columns),
        remaining_columns: columns,
    };

    state.fix_those_within_the_average(&widest);
    if state.remaining_columns > 0 {
        state.fix_those_that_wrap_narrower(header, rows);
    }
    if state.remaining_columns > 0 {
        state.share_what_is_left();
    }
    state
        .widths
        .into_iter()
        .map(|width| width.unwrap_or(0).max(1))
        .collect()
}

/// The columns' widths as they are decided, and the room still to share.
struct Arrangement {
    /// Each column's content width, once decided.
    widths: Vec<Option<u16>>,
    /// The content width not yet given to a column.
    remaining_width: usize,
    /// How many columns are still undecided.
    remaining_columns: usize,
}

impl Arrangement {
    /// The room each undecided column would get if it were shared evenly.
    fn average(&self) -> usize {
        self.remaining_width
            .checked_div(self.remaining_columns)
            .unwrap_or(0)
    }

    /// Gives column `index` this width; whether any column is left undecided.
    fn fix(&mut self, index: usize, width: u16) -> bool {
        self.widths[index] = Some(width);
        self.remaining_width = self.remaining_width.saturating_sub(usize::from(width));
        self.remaining_columns -= 1;
        self.remaining_columns > 0
    }

    /// Columns whose widest line fits in the average room keep that width,
    /// which leaves more room for the others; repeated until none does.
    fn fix_those_within_the_average(&mut self, widest: &[u16]) {
        let mut fixed_one = true;
        while fixed_one {
            fixed_one = false;
            if self.remaining_columns == 0 || self.average() == 0 {
                break;
            }
            for (index, &width) in widest.iter().enumerate() {
                if self.widths[index].is_some() {
                    continue;
                }
                if usize::from(width) <= self.average() {
                    if !self.fix(index, width) {
                        break;
                    }
                    fixed_one = true;
                }
            }
        }
    }

    /// Columns that, wrapped at the average room, need at least three
    /// columns less get the width of their longest wrapped line.
    fn fix_those_that_wrap_narrower(&mut self, header: &[&str], rows: &[String]) {
        let mut fixed_one = true;
        while fixed_one {
            fixed_one = false;
            for index in 0..self.widths.len() {
                if self.widths[index].is_some() {
                    continue;
                }
                let average = self.average();
                let Some(longest) = longest_wrapped_line(column(header, rows, index), average)
                else {
                    continue;
                };
                if !self.fix(index, u16::try_from(longest).unwrap_or(u16::MAX)) {
                    break;
                }
                fixed_one = true;
            }
        }
    }

    /// What is left is shared evenly among the undecided columns, the first
    /// ones getting one more column each for any remainder; each gets at
    /// least one.
    fn share_what_is_left(&mut self) {
        let room = self.remaining_width.max(self.remaining_columns);
        let (each, extra) = (room / self.remaining_columns, room % self.remaining_columns);
        let undecided = self.widths.iter_mut().filter(|width| width.is_none());
        for (i, width) in undecided.enumerate() {
            let share = if i < extra { each + 1 } else { each };
            *width = Some(u16::try_from(share).unwrap_or(u16::MAX));
        }
    }
}

/// The width of the longest line of these cells once each line wider than
/// `average` is wrapped to it, if it leaves at least three columns of
/// `average` free; `None` as soon as a line shows that it does not.
fn longest_wrapped_line<'a>(cells: impl Iterator<Item = &'a str>, average: usize) -> Option<usize> {
    let limit = average.checked_sub(3)?;
    let mut longest = 0;
    let mut wrapped = Wrapped::default();
    for line in cells.flat_map(|cell| cell.split('\n')) {
        let width = line.width();
        let line_longest = if width > average {
            wrapped.longest(line, average.max(1))
        } else {
            width
        };
        if line_longest > limit {
            return None;
        }
        longest = longest.max(line_longest);
    }
    Some(longest)
}

/// Wraps lines as comfy-table does, keeping the buffers between lines.
#[derive(Default)]
struct Wrapped<'a> {
    /// The words still to place, last first.
    words: Vec<&'a str>,
    /// The line being filled.
    line: String,
}

impl<'a> Wrapped<'a> {
    /// The width of the longest line that `text` wraps into at `width`:
    /// words (split at spaces) fill a line while they fit; a line with no
    /// more than two columns free is finished; a word wider than `width`
    /// is cut to fill the current line (whole graphemes only); a word that
    /// does not fit on the current line starts the next one.
    fn longest(&mut self, text: &'a str, width: usize) -> usize {
        let mut longest = 0;
        let mut finish = |line: &mut String| {
            longest = longest.max(line.width());
            line.clear();
        };
        self.words.clear();
        self.words.extend(text.split(' ').rev());
        self.line.clear();
        let mut filled = 0;
        while let Some(word) = self.words.pop() {
            let word_width = word.width();
            let started = !self.line.is_empty();
            let free = (width - filled).saturating_sub(usize::from(started));
            if word_width + filled + usize::from(started) <= width {
                if started {
                    self.line.push(' ');
                    filled += 1;
                }
                self.line.push_str(word);
                filled += word_width;
                if filled > width.saturating_sub(MIN_FREE) {
                    finish(&mut self.line);
                    filled = 0;
                }
                continue;
            }
            if started && free <= MIN_FREE {
                self.words.push(word);
                finish(&mut self.line);
                filled = 0;
                continue;
            }
            if word_width > width {
                if started {
                    self.line.push(' ');
                }
                let (head, tail) = cut(word, free);
                if !started && head.is_empty() {
                    let first = tail.chars().next().map_or(0, char::len_utf8);
                    self.line.push_str(&tail[..first]);
                    self.words.push(&tail[first..]);
                } else {
                    self.line.push_str(head);
                    self.words.push(tail);
                }
                finish(&mut self.line);
                filled = 0;
                continue;
            }
            finish(&mut self.line);
            self.line.push_str(word);
            filled = word_width;
            if filled > width.saturating_sub(MIN_FREE) {
                finish(&mut self.line);
                filled = 0;
            }
        }
        if !self.line.is_empty() {
            finish(&mut self.line);
        }
        longest
    }
}

/// `word` cut after as many whole graphemes as fit in `width` columns
/// (bytes, for printable ASCII).
fn cut(word: &str, width: usize) -> (&str, &str) {
    if word.bytes().all(|byte| (0x20..0x7f).contains(&byte)) {
        return word.split_at(word.len().min(width));
    }
    let mut used = 0;
    for (at, grapheme) in word.grapheme_indices(true) {
        let grapheme_width = grapheme.width();
        if used + grapheme_width > width {
            return word.split_at(at);
        }
        used += grapheme_width;
    }
    (word, "")
}

/// Draws a table of `rows` rows, `batch` at a time: `grid(range, header)`
/// builds the comfy-table of those rows, with the header when asked, at
/// fixed widths. The first batch gives the top border and the header, every
/// batch its rows, the last the bottom border.
pub(crate) fn draw_in_batches(
    out: &mut dyn fmt::Write,
    rows: usize,
    batch: usize,
    mut grid: impl FnMut(Range<usize>, bool) -> Grid,
) -> fmt::Result {
    let mut start = 0;
    loop {
        let end = rows.min(start + batch.max(1));
        let first = start == 0;
        let last = end == rows;
        let lines: Vec<String> = grid(start..end, first).lines().collect();
        let from = usize::from(!first);
        let to = lines.len() - usize::from(!last);
        for line in &lines[from.min(to)..to] {
            out.write_str(line)?;
            out.write_char('\n')?;
        }
        if last {
            return Ok(());
        }
        start = end;
    }
}
