//! The config file, `scalectl.toml`: defaults for `assess` that a team
//! commits once, found by walking up from the current directory, with
//! per-path overrides. Validated like every other input; the command line
//! always wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::cli::{OutputSpec, parse_output_spec};
use crate::error::{FileError, Problem};
use crate::escape::path_name;
use crate::gate::FailOn;
use crate::source::{Format, Source};

/// The config file's name.
pub const FILE_NAME: &str = "scalectl.toml";

/// The config file as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "scalectl config (scalectl.toml)")]
pub struct RawConfig {
    /// A ladder file, relative to the config file.
    #[serde(default)]
    pub ladder: Option<String>,
    /// The lowest alarm severity that fails the gate: never, warning or critical.
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Globs of files to skip in directories.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Days after which a report's observed_at is stale.
    #[serde(default)]
    pub max_age: Option<u32>,
    /// Let reports that measure nothing but users pass the gate.
    #[serde(default)]
    pub allow_unmeasured: Option<bool>,
    /// Outputs of `assess`: `FORMAT` or `FORMAT:PATH`, as `--output-format`.
    #[serde(default)]
    pub output_format: Vec<String>,
    /// Only these rules and findings alarm.
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules and findings suppressed everywhere: rule id -> reason.
    #[serde(default)]
    pub ignore: BTreeMap<String, String>,
    /// Settings for some paths only.
    #[serde(default, rename = "override")]
    pub overrides: Vec<RawOverride>,
}

/// One `[[override]]` table.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOverride {
    /// Globs of report paths this override applies to.
    pub paths: Vec<String>,
    /// Rules and findings suppressed for those reports: rule id -> reason.
    #[serde(default)]
    pub ignore: BTreeMap<String, String>,
}

/// The most `exclude` patterns a config file (or the command line) may give:
/// beyond it, compiling them takes more memory and time than any real
/// layout needs.
pub const MAX_PATTERNS: usize = 1_000;

/// Whether `dir` belongs to the user running scalectl (always, where
/// ownership cannot be told).
fn owned_by_us(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // The process's own user, as the kernel shows it (Linux).
        let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
            return true;
        };
        std::fs::metadata(dir).is_ok_and(|m| m.uid() == me)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        true
    }
}

/// A validated config file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Its text, for locating problems found later.
    source: Option<Source>,
    /// Where it was read from.
    pub path: Option<PathBuf>,
    /// The ladder file, resolved against the config file's directory.
    pub ladder: Option<PathBuf>,
    /// `fail-on`.
    pub fail_on: Option<FailOn>,
    /// `exclude`.
    pub exclude: Vec<String>,
    /// `max-age`.
    pub max_age: Option<u32>,
    /// `allow-unmeasured`.
    pub allow_unmeasured: Option<bool>,
    /// `output-format`.
    pub output_format: Vec<OutputSpec>,
    /// `select`.
    pub select: Vec<String>,
    /// `ignore`.
    pub ignore: Vec<(String, String)>,
    /// The overrides: the paths they match, and what they suppress.
    pub overrides: Vec<(GlobSet, Vec<(String, String)>)>,
}

impl Config {
    /// The config file for `cwd`: `explicit`, else `scalectl.toml` in `cwd`
    /// or the nearest directory above it; none with `disabled`.
    pub fn find(cwd: &Path, explicit: Option<&Path>, disabled: bool) -> Option<PathBuf> {
        if disabled {
            return None;
        }
        if let Some(path) = explicit {
            return Some(path.to_path_buf());
        }
        // Named relative to the current directory, as people would write it.
        // The walk stops at the repository's root (a `.git`), and at a
        // directory owned by someone else, as git does: a config file there
        // is not this project's to apply.
        for (up, dir) in cwd.ancestors().enumerate() {
            if !owned_by_us(dir) {
                return None;
            }
            if dir.join(FILE_NAME).is_file() {
                let mut relative: PathBuf = std::iter::repeat_n("..", up).collect();
                relative.push(FILE_NAME);
                return Some(relative);
            }
            if dir.join(".git").exists() {
                return None;
            }
        }
        None
    }

    /// Reads and validates a config file. Rule ids depend on the ladder, which
    /// the file may name: [`Config::check_rules`] checks them once it is loaded.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let source = Source::read(path)?;
        if source.format != Format::Toml {
            return Err(FileError::new(
                path_name(path),
                Problem::new("a config file is TOML (scalectl.toml)"),
            ));
        }
        Self::parse(source, path)
    }

    /// Validates a config file's text; `path` is where it was read from
    /// (relative paths in it are relative to its directory).
    pub fn parse(source: Source, path: &Path) -> Result<Self, FileError> {
        let raw: RawConfig = source
            .deserialize()
            .map_err(|problem| FileError::new(source.name.clone(), problem))?;
        let mut problems = Vec::new();
        let at = |key: &str| source.key_location(key);
        for (rule, reason) in raw
            .ignore
            .iter()
            .chain(raw.overrides.iter().flat_map(|o| o.ignore.iter()))
        {
            if reason.trim().is_empty() {
                problems.push(Problem::at(
                    at("ignore"),
                    format!("ignore: `{}` needs a reason", crate::escape::echo(rule)),
                ));
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut output_format = Vec::new();
        for spec in &raw.output_format {
            match parse_output_spec(spec) {
                // A config file writes only below its own directory: an
                // absolute path or one that climbs out of it is refused.
                Ok(OutputSpec {
                    path: Some(out), ..
                }) if out.as_os_str() != "-"
                    && (out.is_absolute()
                        || out.components().any(|c| {
                            !matches!(
                                c,
                                std::path::Component::Normal(_) | std::path::Component::CurDir
                            )
                        })) =>
                {
                    problems.push(Problem::at(
                        at("output-format"),
                        format!(
                            "output-format: `{}` is outside the config file's directory; a config file writes only below its own directory (name other paths on the command line)",
                            crate::escape::echo(spec)
                        ),
                    ));
                }
                Ok(mut spec) => {
                    // Relative to the config file, as the ladder is.
                    if let Some(out) = spec.path.as_mut().filter(|p| p.as_os_str() != "-") {
                        *out = dir.join(&*out);
                    }
                    output_format.push(spec);
                }
                Err(e) => problems.push(Problem::at(
                    at("output-format"),
                    format!("output-format: {e}"),
                )),
            }
        }
        let globs = |patterns: &[String], problems: &mut Vec<Problem>, key: &str| {
            let mut set = GlobSetBuilder::new();
            for pattern in patterns {
                match Glob::new(pattern) {
                    Ok(glob) => {
                        set.add(glob);
                    }
                    Err(e) => problems.push(Problem::at(at(key), format!("{key}: {e}"))),
                }
            }
            set.build().unwrap_or_else(|_| GlobSet::empty())
        };
        if raw.exclude.len() > MAX_PATTERNS {
            problems.push(Problem::at(
                at("exclude"),
                format!(
                    "exclude: {} patterns is more than the {MAX_PATTERNS} scalectl accepts; exclude directories rather than files",
                    raw.exclude.len()
                ),
            ));
        } else {
            let _ = globs(&raw.exclude, &mut problems, "exclude");
        }
        let mut overrides = Vec::new();
        for o in &raw.overrides {
            let set = globs(&o.paths, &mut problems, "paths");
            overrides.push((set, o.ignore.clone().into_iter().collect()));
        }
        if !problems.is_empty() {
            return Err(FileError {
                path: source.name,
                problems,
            });
        }
        Ok(Self {
            source: Some(source),
            path: Some(path.to_path_buf()),
            ladder: raw.ladder.map(|l| dir.join(l)),
            fail_on: raw.fail_on,
            exclude: raw.exclude,
            max_age: raw.max_age,
            allow_unmeasured: raw.allow_unmeasured,
            output_format,
            select: raw.select,
            ignore: raw.ignore.into_iter().collect(),
            overrides,
        })
    }

    /// Checks that every rule the file names is one of `known`.
    pub fn check_rules(&self, known: &[&str]) -> Result<(), FileError> {
        let Some(source) = &self.source else {
            return Ok(());
        };
        let named = self
            .select
            .iter()
            .map(|r| ("select", r))
            .chain(self.ignore.iter().map(|(r, _)| ("ignore", r)))
            .chain(
                self.overrides
                    .iter()
                    .flat_map(|(_, ignore)| ignore.iter().map(|(r, _)| ("ignore", r))),
            );
        // Each key located once, not once a problem: a file of 100,000
        // unknown rules is checked in one pass.
        let (select_at, ignore_at) = (source.key_location("select"), source.key_location("ignore"));
        // Suggestions only for the problems that are printed.
        let problems: Vec<Problem> = named
            .filter(|(_, rule)| !known.contains(&rule.as_str()))
            .enumerate()
            .map(|(index, (key, rule))| {
                let hint = (index < crate::error::MAX_PROBLEMS_SHOWN)
                    .then(|| crate::suggest::nearest(rule, known.iter().copied()))
                    .flatten()
                    .map_or_else(String::new, |n| format!("; did you mean `{n}`?"));
                Problem::at(
                    if key == "select" {
                        select_at
                    } else {
                        ignore_at
                    },
                    format!("{key}: unknown rule `{}`{hint}", crate::escape::echo(rule)),
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FileError {
                path: source.name.clone(),
                problems,
            })
        }
    }

    /// The effective settings of `assess` and where each comes from, as
    /// `scalectl config` prints them.
    pub fn describe(&self) -> String {
        let from = |given: bool| if given { "config file" } else { "default" };
        let mut out = match &self.path {
            Some(path) => format!("config file: {}\n", crate::escape::line(&path_name(path))),
            None => format!(
                "config file: none ({FILE_NAME} in this directory or above, up to the repository root, or --config PATH)\n"
            ),
        };
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|i| format!("{:?}", i)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut line = |key: &str, value: String, given: bool| {
            out.push_str(&format!("{key:<17} = {:<40} # {}\n", value, from(given)));
        };
        line(
            "ladder",
            self.ladder.as_deref().map_or_else(
                || "(built-in)".to_owned(),
                |p| format!("{:?}", path_name(p)),
            ),
            self.ladder.is_some(),
        );
        line(
            "fail-on",
            format!("{:?}", self.fail_on.unwrap_or_default().name()),
            self.fail_on.is_some(),
        );
        line(
            "max-age",
            self.max_age.unwrap_or(30).to_string(),
            self.max_age.is_some(),
        );
        line(
            "allow-unmeasured",
            self.allow_unmeasured.unwrap_or(false).to_string(),
            self.allow_unmeasured.is_some(),
        );
        line("exclude", list(&self.exclude), !self.exclude.is_empty());
        line("select", list(&self.select), !self.select.is_empty());
        let ignore: Vec<String> = self
            .ignore
            .iter()
            .map(|(rule, why)| format!("{rule} = {why:?}"))
            .collect();
        line(
            "ignore",
            format!("{{ {} }}", ignore.join(", ")),
            !ignore.is_empty(),
        );
        let outputs: Vec<String> = self
            .output_format
            .iter()
            .map(|spec| {
                let name = format!("{:?}", spec.format).to_lowercase();
                match &spec.path {
                    Some(path) => format!("{name}:{}", path_name(path)),
                    None => name,
                }
            })
            .collect();
        line(
            "output-format",
            if outputs.is_empty() {
                "[\"table\"]".to_owned()
            } else {
                list(&outputs)
            },
            !outputs.is_empty(),
        );
        line(
            "override",
            format!("{} tables", self.overrides.len()),
            !self.overrides.is_empty(),
        );
        out.push_str("The flags of `scalectl assess` override each of these.\n");
        out
    }

    /// What the overrides suppress for the report at `file` (relative to
    /// `cwd`); override paths are relative to the config file's directory.
    pub fn ignores_for(&self, cwd: &Path, file: &Path) -> Vec<(String, String)> {
        if self.overrides.is_empty() {
            return Vec::new();
        }
        let root = self
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(|dir| crate::baseline::report_key(cwd, &path_name(dir)))
            .unwrap_or_default();
        let absolute = crate::baseline::report_key(cwd, &path_name(file));
        let relative = absolute
            .strip_prefix(&root)
            .unwrap_or(&absolute)
            .trim_start_matches('/');
        self.overrides
            .iter()
            .filter(|(paths, _)| paths.is_match(relative))
            .flat_map(|(_, ignore)| ignore.iter().cloned())
            .collect()
    }
}
