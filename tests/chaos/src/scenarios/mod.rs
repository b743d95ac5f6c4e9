//! The fault scenarios of issue 11. Each takes a [`RunConfig`] and returns a
//! [`ScenarioResult`]: the numbers it measured and, per criterion of the issue, whether it
//! held. Setup failures are errors; a criterion that does not hold is a result.

use std::{path::PathBuf, time::Duration};

use crate::{Result, processes::Bins, workspace_root};

pub mod github_misbehaves;
pub mod pg_black_hole;
pub mod pg_outage;
pub mod valkey_outage;
pub mod worker_kills;

/// How the scenarios run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The binaries under test.
    pub bins: Bins,
    /// Where run directories go (default `target/chaos`).
    pub work: PathBuf,
    /// The short version (seconds, for `just test`) instead of the full one (minutes).
    pub short: bool,
}

impl RunConfig {
    /// Runs from `bins`, under `target/chaos`.
    pub fn new(bins: Bins, short: bool) -> Self {
        Self {
            bins,
            work: workspace_root().join("target/chaos"),
            short,
        }
    }

    /// `full` in the full run, `short` in the short one.
    pub fn pick(&self, full: Duration, short: Duration) -> Duration {
        if self.short { short } else { full }
    }
}

/// One criterion of the issue and whether it held.
#[derive(Debug, Clone)]
pub struct Criterion {
    /// The criterion as the issue states it.
    pub name: String,
    /// What was measured.
    pub measured: String,
    /// It held.
    pub held: bool,
}

/// What a scenario measured.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The number for it (1–5).
    pub number: u8,
    /// A title.
    pub title: String,
    /// What was done, in a sentence or two (durations, load).
    pub setup: String,
    /// `(name, value)` pairs, in order.
    pub numbers: Vec<(String, String)>,
    /// The criteria.
    pub criteria: Vec<Criterion>,
    /// The run's directory (logs).
    pub run_dir: PathBuf,
}

impl ScenarioResult {
    /// A result with no numbers yet.
    pub fn new(number: u8, title: impl Into<String>, run_dir: PathBuf) -> Self {
        Self {
            number,
            title: title.into(),
            setup: String::new(),
            numbers: Vec::new(),
            criteria: Vec::new(),
            run_dir,
        }
    }

    /// Adds a number.
    pub fn number(&mut self, name: impl Into<String>, value: impl ToString) {
        self.numbers.push((name.into(), value.to_string()));
    }

    /// Adds a criterion.
    pub fn criterion(&mut self, name: impl Into<String>, measured: impl Into<String>, held: bool) {
        self.criteria.push(Criterion {
            name: name.into(),
            measured: measured.into(),
            held,
        });
    }

    /// Every criterion held.
    pub fn passed(&self) -> bool {
        self.criteria.iter().all(|c| c.held)
    }

    /// The criteria that did not hold, one per line (for test failures).
    pub fn failures(&self) -> String {
        self.criteria
            .iter()
            .filter(|c| !c.held)
            .map(|c| format!("  - {}: {}", c.name, c.measured))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The scenarios this crate knows, by number and title.
pub const ALL: &[(u8, &str)] = &[
    (1, pg_outage::TITLE),
    (2, valkey_outage::TITLE),
    (3, worker_kills::TITLE),
    (4, github_misbehaves::TITLE),
    (5, pg_black_hole::TITLE),
];

/// Runs scenario `number`.
pub async fn run(number: u8, config: &RunConfig) -> Result<ScenarioResult> {
    match number {
        1 => pg_outage::run(config).await,
        2 => valkey_outage::run(config).await,
        3 => worker_kills::run(config).await,
        4 => github_misbehaves::run(config).await,
        5 => pg_black_hole::run(config).await,
        other => Err(crate::Error::Setup(format!("no scenario {other}"))),
    }
}

/// Milliseconds with one decimal.
pub fn ms(value: f64) -> String {
    format!("{value:.1} ms")
}

/// Seconds with one decimal.
pub fn secs(value: Duration) -> String {
    format!("{:.1} s", value.as_secs_f64())
}

/// A share as a percentage with two decimals.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0 %".into()
    } else {
        format!("{:.2} %", part as f64 * 100.0 / whole as f64)
    }
}
