//! The CI gate: whether a run's alarms fail the build.

use clap::ValueEnum;

use crate::engine::Severity;
use crate::render::Run;

/// The lowest alarm severity that fails the gate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Never fail on alarms (input errors still exit 2).
    Never,
    /// Fail on warning or critical alarms.
    Warning,
    /// Fail on critical alarms only.
    #[default]
    Critical,
}

impl FailOn {
    /// Its name, as written on the command line and in the config file.
    pub fn name(self) -> &'static str {
        match self {
            FailOn::Never => "never",
            FailOn::Warning => "warning",
            FailOn::Critical => "critical",
        }
    }

    /// Whether an alarm of `severity` fails the gate. An `unknown` report
    /// (nothing measured) fails unless the gate never fails.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Never => false,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Critical => severity >= Severity::Unknown,
        }
    }
}

/// How a command ended, and so its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was read and nothing reached the gate: exit 0.
    Pass,
    /// An alarm reached `--fail-on`: exit 1.
    GateFailed,
    /// An input could not be read or was invalid: exit 2.
    InputError,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::GateFailed => 1,
            Outcome::InputError => 2,
        }
    }

    /// The outcome of an assess run: input errors win over gate failures.
    pub fn of_run(run: &Run<'_>) -> Self {
        if run.errors().next().is_some() {
            Outcome::InputError
        } else if run.entries().any(|entry| {
            entry
                .assessment
                .alarms
                .iter()
                .any(|alarm| run.fails(entry, alarm))
        }) {
            Outcome::GateFailed
        } else {
            Outcome::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_thresholds() {
        assert!(!FailOn::Never.fails(Severity::Critical));
        assert!(FailOn::Warning.fails(Severity::Warning));
        assert!(FailOn::Warning.fails(Severity::Critical));
        assert!(!FailOn::Critical.fails(Severity::Warning));
        assert!(FailOn::Critical.fails(Severity::Critical));
        assert!(!FailOn::Warning.fails(Severity::Ok));
        assert!(FailOn::Critical.fails(Severity::Unknown));
        assert!(FailOn::Warning.fails(Severity::Unknown));
        assert!(!FailOn::Never.fails(Severity::Unknown));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Pass.code(), 0);
        assert_eq!(Outcome::GateFailed.code(), 1);
        assert_eq!(Outcome::InputError.code(), 2);
    }
}
