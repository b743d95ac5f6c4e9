//! The `bench-reads` section of `docs/benchmarks.md`.

use std::fmt::Write as _;

use super::{Measured, SizeOutcome, SizeRun, cases::Group, execution_ms};
use crate::report::Provenance;

/// The api's peak resident memory goal, bytes.
pub const RSS_GOAL: u64 = 64 << 20;
/// The most p99 at 10 M edges may be of p99 at 1 M.
pub const RATIO_GOAL: f64 = 1.5;

/// The whole section.
pub fn render(outcomes: &[SizeOutcome], provenance: &Provenance, samples: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} at commit `{}` (`just bench-reads`): the release `wump-api` with its \
         response cache off (`WUMP__API__CACHE__ENABLED=false`), one HTTP worker, started \
         once per dataset; {samples} sequential requests per case after a warm-up, over one \
         kept-alive connection (a case far over its goal stops after {} s once it has {} \
         requests); each request also looks the package up by name. Goals: \
         dependents p99 < 20 ms, organizations and search p99 < 50 ms, p99 at 10 M ÷ p99 at \
         1 M ≤ {RATIO_GOAL}, api peak RSS (`VmHWM`) < {} MiB. \"plan ms\" is the statement's \
         own `Execution Time` under `EXPLAIN (ANALYZE, BUFFERS)` (details below).\n",
        provenance.date,
        provenance.commit,
        super::measure::BUDGET.as_secs(),
        super::measure::MIN_SAMPLES,
        RSS_GOAL >> 20
    );
    let runs: Vec<&SizeRun> = outcomes
        .iter()
        .filter_map(|o| match o {
            SizeOutcome::Measured(run) => Some(&**run),
            SizeOutcome::Missing { .. } => None,
        })
        .collect();
    for outcome in outcomes {
        match outcome {
            SizeOutcome::Missing { size, database } => {
                let _ = writeln!(
                    out,
                    "**{}**: database `{database}` is missing (`just bench-data {}` to generate it).\n",
                    size.name, size.name
                );
            }
            SizeOutcome::Measured(run) => size_table(&mut out, run),
        }
    }
    if let [small, large] = runs[..] {
        ratios(&mut out, small, large);
    }
    offsets(&mut out, &runs);
    plans(&mut out, &runs);
    let _ = writeln!(out, "Machine: {}.", provenance.machine);
    out
}

fn size_table(out: &mut String, run: &SizeRun) {
    let _ = writeln!(
        out,
        "**{}** (`{}`, ~{:.1} M edges): api peak RSS {:.1} MiB {}.\n",
        run.size.name,
        run.database,
        run.edges as f64 / 1e6,
        run.peak_rss as f64 / f64::from(1 << 20),
        mark(run.peak_rss < RSS_GOAL)
    );
    for s in &run.subjects {
        let _ = writeln!(
            out,
            "- {} package: `{}/{}`, {} dependents",
            s.role, s.ecosystem, s.name, s.dependents
        );
    }
    out.push_str(
        "\n| package | listing | case | requests | p50 ms | p99 ms | goal | plan ms |\n|---|---|---|---|---|---|---|---|\n",
    );
    for m in &run.cases {
        let plan_ms = m.execution_ms().map_or("–".into(), |ms| format!("{ms:.2}"));
        let _ = match &m.latency {
            Ok(l) => writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {:.2} | {} | {plan_ms} |",
                m.case.subject,
                group(m.case.group),
                m.case.name,
                l.samples,
                l.p50,
                l.p99,
                mark(l.p99 < m.case.group.goal_ms()),
            ),
            Err(err) => writeln!(
                out,
                "| {} | {} | {} | – | failed: {} | – | {} | {plan_ms} |",
                m.case.subject,
                group(m.case.group),
                m.case.name,
                err.replace('|', "\\|")
                    .chars()
                    .take(160)
                    .collect::<String>(),
                mark(false),
            ),
        };
    }
    out.push('\n');
}

fn ratios(out: &mut String, small: &SizeRun, large: &SizeRun) {
    out.push_str(
        "p99 at 10 M edges ÷ p99 at 1 M (the same case; the packages are the top and median \
         of each dataset):\n\n| package | listing | case | p99 1 M | p99 10 M | ratio | goal |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for l in &large.cases {
        let Some(s) = small.cases.iter().find(|s| same_case(s, l)) else {
            continue;
        };
        let p99 = |m: &Measured| m.latency.as_ref().map(|l| l.p99).ok();
        let shown = |p: Option<f64>| p.map_or("failed".into(), |p| format!("{p:.2}"));
        let ratio = p99(l).zip(p99(s)).map(|(l, s)| l / s);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            l.case.subject,
            group(l.case.group),
            l.case.name,
            shown(p99(s)),
            shown(p99(l)),
            ratio.map_or("–".into(), |r| format!("{r:.2}")),
            mark(ratio.is_some_and(|r| r <= RATIO_GOAL))
        );
    }
    out.push('\n');
}

/// Cases match by what they ask, not by the package's name (the top package may differ).
fn same_case(a: &Measured, b: &Measured) -> bool {
    a.case.group == b.case.group && a.case.subject == b.case.subject && a.case.name == b.case.name
}

fn offsets(out: &mut String, runs: &[&SizeRun]) {
    let deep: Vec<(&SizeRun, &Measured)> = runs
        .iter()
        .flat_map(|r| {
            r.cases
                .iter()
                .filter(|m| m.offset_plan.is_some())
                .map(move |m| (*r, m))
        })
        .collect();
    if deep.is_empty() {
        return;
    }
    out.push_str(
        "The deep page by the API's keyset cursor against the same page by OFFSET (the \
         statement's `Execution Time`):\n\n| size | package | case | cursor ms | OFFSET ms |\n\
         |---|---|---|---|---|\n",
    );
    for (run, m) in deep {
        let offset = m.offset_plan.as_deref().and_then(execution_ms);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            run.size.name,
            m.case.subject,
            m.case.name,
            m.execution_ms().map_or("–".into(), |ms| format!("{ms:.2}")),
            offset.map_or("–".into(), |ms| format!("{ms:.2}"))
        );
    }
    out.push('\n');
}

fn plans(out: &mut String, runs: &[&SizeRun]) {
    for run in runs {
        let _ = writeln!(
            out,
            "<details><summary>EXPLAIN (ANALYZE, BUFFERS), {} — the statements the API runs \
             (from diesel, binds as it sends them)</summary>\n",
            run.size.name
        );
        for m in &run.cases {
            let _ = writeln!(
                out,
                "{} · {} · {}\n\n```sql\n{}\n```\n\n```\n{}\n```\n",
                m.case.subject,
                group(m.case.group),
                m.case.name,
                m.sql,
                m.plan
            );
            if let Some(offset) = &m.offset_plan {
                let _ = writeln!(out, "The same page by OFFSET:\n\n```\n{offset}\n```\n");
            }
        }
        out.push_str("</details>\n\n");
    }
}

fn group(group: Group) -> &'static str {
    match group {
        Group::Dependents => "dependents",
        Group::Organizations => "organizations",
        Group::Search => "search",
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Size;

    #[test]
    fn a_missing_dataset_is_one_line_naming_the_recipe() {
        let provenance = Provenance {
            date: "2026-12-06 09:00 UTC".into(),
            commit: "abc".into(),
            machine: "2 cores".into(),
        };
        let outcomes = [SizeOutcome::Missing {
            size: Size::LARGE,
            database: "wump_bench_large".into(),
        }];
        let text = render(&outcomes, &provenance, 200);
        let missing: Vec<_> = text.lines().filter(|l| l.contains("missing")).collect();
        assert_eq!(
            missing,
            [
                "**large**: database `wump_bench_large` is missing (`just bench-data large` to generate it)."
            ]
        );
        assert!(
            !text.contains("| package |"),
            "no table without a run: {text}"
        );
    }
}
