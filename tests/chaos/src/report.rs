//! `docs/reliability.md`: how to reproduce, where it ran (date, machine, commit, build
//! profile), and per scenario its setup, its numbers and each criterion with whether it held.

use std::{fmt::Write as _, path::Path, process::Command};

use crate::{Result, io, scenarios::ScenarioResult, workspace_root};

/// Where and on what the runs happened.
#[derive(Debug, Clone)]
pub struct Machine {
    /// UTC date and time of the run.
    pub date: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// The CPU model (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// Total memory (`/proc/meminfo`).
    pub memory: String,
    /// The commit (short hash, `+dirty` with uncommitted changes).
    pub commit: String,
    /// `release` or `debug`, from the binaries' directory.
    pub profile: String,
}

impl Machine {
    /// Reads the machine and the checkout; `profile` names the binaries' build.
    pub fn detect(profile: impl Into<String>) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, m)| m.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or_else(
                || "unknown".into(),
                |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
            );
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(workspace_root())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let mut commit =
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
            commit.push_str("+dirty");
        }
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory,
            commit,
            profile: profile.into(),
        }
    }
}

/// The report as Markdown.
pub fn render(
    machine: &Machine,
    short: bool,
    results: &[ScenarioResult],
    errors: &[(u8, String)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Reliability under faults\n\n\
         Written by `just chaos` (`wump-chaos run --report docs/reliability.md`, source in \
         `tests/chaos/`): scripted fault runs against the release binaries under load. Each run \
         starts its own PostgreSQL and Valkey (free ports, data under `target/chaos/`, never the \
         development servers), migrates, creates an API key, starts two `wump-api` and three \
         `wump-worker run` processes reached on their own ports, loads the demo tree through the \
         queues, warms a few pages into the response cache, and then applies load while it \
         breaks something. Load: keyed and anonymous callers asking for cached pages (warmed \
         before the fault) and uncached ones (a search nobody asked before); a request with no \
         answer in 10 s is a hang. A crash is a process that exited without being signalled. \
         Each criterion is the issue's (issue 11); the numbers come straight from the run, and \
         each run's logs stay in its directory under `target/chaos/`. Short versions of the same \
         scenarios (seconds instead of minutes) run inside `just test` \
         (`tests/chaos/tests/short.rs`).\n\n\
         To reproduce: `just chaos` (release build, then every scenario, about {} minutes), or \
         `cargo run --release -p wump-chaos -- run --only 1,5 --report /tmp/r.md`.\n",
        if short { 1 } else { 5 }
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| date | {} |", machine.date);
    let _ = writeln!(
        out,
        "| machine | {} CPUs ({}), {} memory |",
        machine.cpus, machine.cpu_model, machine.memory
    );
    let _ = writeln!(out, "| commit | `{}` |", machine.commit);
    let _ = writeln!(
        out,
        "| build | {} binaries{} |",
        machine.profile,
        if short { ", short versions" } else { "" }
    );
    let held = results.iter().filter(|r| r.passed()).count();
    let _ = writeln!(
        out,
        "| result | {held} of {} scenarios held every criterion{} |\n",
        results.len() + errors.len(),
        if errors.is_empty() {
            String::new()
        } else {
            format!("; {} could not run", errors.len())
        }
    );
    for result in results {
        let _ = writeln!(out, "## {}. {}\n", result.number, result.title);
        let _ = writeln!(out, "{}\n", result.setup);
        let _ = writeln!(out, "| criterion | measured | held |\n|---|---|---|");
        for c in &result.criteria {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape(&c.name),
                escape(&c.measured),
                if c.held { "yes" } else { "**no**" }
            );
        }
        let _ = writeln!(out, "\n| number | value |\n|---|---|");
        for (name, value) in &result.numbers {
            let _ = writeln!(out, "| {} | {} |", escape(name), escape(value));
        }
        let _ = writeln!(out);
    }
    for (number, error) in errors {
        let _ = writeln!(out, "## {number}. could not run\n\n```text\n{error}\n```\n");
    }
    out
}

/// Writes the report to `path`.
pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
