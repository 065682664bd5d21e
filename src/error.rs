//! Typed errors of the library.

use std::fmt;

use crate::escape;
use std::io;

/// A position in a text file, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of the byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Self { line, column }
    }
}

/// One thing wrong with an input, with where it is when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file the problem is.
    pub location: Option<Location>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl Problem {
    /// A problem with no known location.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            location: None,
            message: message.into(),
        }
    }

    /// A problem at a known location.
    pub fn at(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
        }
    }
}

/// An input file that could not be read or is not valid; holds every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file as the user named it (`<stdin>` for standard input).
    pub path: String,
    /// The problems, at least one, in the order they were found.
    pub problems: Vec<Problem>,
}

impl FileError {
    /// A file with a single problem.
    pub fn new(path: impl Into<String>, problem: Problem) -> Self {
        Self {
            path: path.into(),
            problems: vec![problem],
        }
    }
}

/// One line per problem, `path:line:column: message`; the path and the
/// message are escaped and cut (they echo input), so a problem never spans
/// or starts a line of its own.
/// The most problems of one file printed; the rest are counted.
pub const MAX_PROBLEMS_SHOWN: usize = 100;

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = escape::line(&self.path);
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if i == MAX_PROBLEMS_SHOWN {
                let more = self.problems.len() - i;
                let noun = if more == 1 { "problem" } else { "problems" };
                return write!(f, "{path}: and {more} more {noun}");
            }
            let message = escape::echo(&problem.message);
            match problem.location {
                Some(Location { line, column }) => write!(f, "{path}:{line}:{column}: {message}")?,
                None => write!(f, "{path}: {message}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// Everything that can go wrong in a scalectl command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is unreadable or invalid.
    #[error(transparent)]
    File(#[from] FileError),
    /// Several inputs were bad; each was already reported on its own.
    #[error("{count} of {total} inputs could not be read")]
    Inputs {
        /// How many inputs failed.
        count: usize,
        /// How many inputs were given.
        total: usize,
    },
    /// The output could not be written.
    #[error("cannot write {target}")]
    Write {
        /// The file written to, or `standard output`.
        target: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// An output file could not be written.
    #[error("{}: {}", escape::line(path), escape::echo(message))]
    Output {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An output could not be produced.

    #[error("cannot produce the output: {0}")]
    Render(String),
    /// Prometheus could not be reached, or its answer was unusable.
    #[error(transparent)]
    Prometheus(#[from] crate::collect::prometheus::QueryError),
    /// A database or cache could not be reached or read.
    #[error(transparent)]
    Source(#[from] crate::collect::SourceError),
    /// A command-line value is not valid.
    #[error("{}", escape::echo(.0))]
    Usage(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_of_offset_counts_lines_and_characters() {
        let text = "ab\ncé\nxyz";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 3),
            Location { line: 2, column: 1 }
        );
        // "é" is two bytes but one column.
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 3 }
        );
        assert_eq!(
            Location::of_offset(text, 8),
            Location { line: 3, column: 2 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 4 }
        );
    }

    #[test]
    fn file_error_lists_every_problem_with_its_location() {
        let error = FileError {
            path: "m.yaml".into(),
            problems: vec![
                Problem::at(Some(Location { line: 2, column: 5 }), "bad"),
                Problem::new("worse"),
            ],
        };
        assert_eq!(error.to_string(), "m.yaml:2:5: bad\nm.yaml: worse");
    }
}
