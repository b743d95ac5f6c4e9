//! The sections `wump-bench` writes into `docs/benchmarks.md`, each between markers so a
//! run replaces its own section and leaves the others alone.

use std::{fmt::Write as _, path::Path};

use anyhow::Context as _;

use crate::data::Outcome;

/// The date, commit and machine a figure was measured on.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub date: String,
    pub commit: String,
    pub machine: String,
}

impl Provenance {
    /// Now, this checkout's commit, and this machine's cores, memory and load.
    pub fn detect() -> Provenance {
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let dirty = std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
            .unwrap_or_default();
        Provenance {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit: format!("{commit}{}", if dirty { "+dirty" } else { "" }),
            machine: format!(
                "{cores} cores, {memory_gib:.1} GiB memory, load average {load} at the end"
            ),
        }
    }
}

/// Replaces the section `name` of the report at `path` (appends it the first time);
/// `recipe` is the command that writes it, named in the marker.
pub fn write_section(path: &Path, name: &str, recipe: &str, body: &str) -> anyhow::Result<()> {
    let opening = format!("<!-- {name}:start");
    let end = format!("<!-- {name}:end -->");
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let section = format!("{opening} (written by `{recipe}`) -->\n{body}{end}");
    let updated = match (text.find(&opening), text.find(&end)) {
        (Some(from), Some(to)) if from < to => {
            format!("{}{section}{}", &text[..from], &text[to + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    };
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

/// The dataset section: what was generated, how long it took, whether the listings agree,
/// and the bytes on disk per million edges.
pub fn data_section(outcome: &Outcome, provenance: &Provenance) -> String {
    let loaded = &outcome.loaded;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Generated {} at commit `{}` (`just bench-data {}`, seed {}) into `{}`: {} in {:.0} s.\n",
        provenance.date,
        provenance.commit,
        outcome.size.name,
        outcome.seed,
        outcome.database,
        counts(loaded),
        outcome.seconds,
    );
    let _ = writeln!(
        out,
        "Most dependents of one package: {}; median over packages with any: {}.\n",
        group(outcome.top_dependents),
        outcome.median_dependents
    );
    out.push_str("| step | seconds |\n|---|---|\n");
    for (step, took) in &loaded.steps {
        let _ = writeln!(out, "| {step} | {:.1} |", took.as_secs_f64());
    }
    let agree = outcome.checked.iter().filter(|c| c.agrees()).count();
    let _ = writeln!(
        out,
        "\nListings walked page by page through the API's queries for {} sampled packages \
         (the most depended upon included): {agree} of {} agree with the stored counts.\n",
        outcome.checked.len(),
        outcome.checked.len()
    );
    out.push_str(
        "| package | dependents stored / listed | organizations stored / listed |\n|---|---|---|\n",
    );
    for c in &outcome.checked {
        let _ = writeln!(
            out,
            "| `{}` | {} / {} | {} / {} |",
            c.package,
            c.stored_dependents,
            c.listed_dependents,
            c.stored_organizations,
            c.listed_organizations
        );
    }
    let per_million = |bytes: i64| bytes as f64 / (loaded.edges as f64 / 1e6) / (1 << 20) as f64;
    out.push_str(
        "\nOn disk (after `VACUUM`), and per million edges:\n\n\
         | relation | size | MiB per million edges |\n|---|---|---|\n",
    );
    let mut total = 0;
    for r in &outcome.relations {
        total += r.bytes;
        let name = match &r.index {
            Some(index) => format!("`{}` index `{index}`", r.table),
            None => format!("`{}` (heap and TOAST)", r.table),
        };
        let _ = writeln!(
            out,
            "| {name} | {:.1} MiB | {:.1} |",
            r.bytes as f64 / (1 << 20) as f64,
            per_million(r.bytes)
        );
    }
    let _ = writeln!(
        out,
        "| **all five tables** | {:.1} MiB | {:.1} |",
        total as f64 / (1 << 20) as f64,
        per_million(total)
    );
    let _ = writeln!(out, "\nMachine: {}.", provenance.machine);
    out
}

fn counts(loaded: &crate::data::load::Loaded) -> String {
    format!(
        "{} packages, {} organizations, {} repositories, {} edges, {} roll-up rows",
        group(loaded.packages as i64),
        group(loaded.organizations as i64),
        group(loaded.repositories as i64),
        group(loaded.edges as i64),
        group(loaded.rollups as i64)
    )
}

/// 1234567 as `1,234,567`.
fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_replaced_and_the_rest_kept() {
        let dir = tempfile_dir();
        let path = dir.join("report.md");
        std::fs::write(&path, "# Benchmarks\n\nintro\n").unwrap();
        write_section(&path, "bench-data-small", "just a", "first\n").unwrap();
        write_section(&path, "bench-data-large", "just b", "other\n").unwrap();
        write_section(&path, "bench-data-small", "just c", "second\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Benchmarks\n\nintro\n"));
        assert!(text.contains("second\n") && !text.contains("first\n"));
        assert!(text.contains("other\n"));
        assert!(text.contains("<!-- bench-data-small:start (written by `just c`) -->\nsecond\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(10_234_567), "10,234,567");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wump-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
