//! GitHub Actions: `uses:` references in workflows (`.github/workflows/*.yml`) and in
//! composite actions (`action.yml`).
//!
//! `owner/repo@ref` and `owner/repo/path@ref` name the action's repository and the ref it
//! is pinned to; a job's `uses:` calls a reusable workflow the same way. `./path` refers to
//! the repository itself (reported as local); `docker://` images are not actions.

use serde_norway::{Mapping, Value};

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as a workflow or an action.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let syntax = |message: &str| ManifestError::syntax(format, message);
    let root: Value = super::yaml::parse(format, text)?;
    let root = match root {
        Value::Mapping(root) => root,
        Value::Null => return Ok(ParsedManifest::default()),
        _ => return Err(syntax("expected a mapping at the top level")),
    };
    let mut dependencies = Vec::new();
    match format {
        Format::GithubWorkflow => workflow(format, &root, &mut dependencies)?,
        Format::GithubAction => action(format, &root, &mut dependencies)?,
        _ => return Err(ManifestError::Unsupported { format }),
    }
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// `jobs.<id>.uses` (a reusable workflow) and `jobs.<id>.steps[].uses`.
fn workflow(
    format: Format,
    root: &Mapping,
    out: &mut Vec<ParsedDependency>,
) -> Result<(), ManifestError> {
    for (id, job) in mapping_at(format, root, "jobs", "jobs")?
        .into_iter()
        .flatten()
    {
        let here = format!("jobs.{}", id.as_str().unwrap_or("?"));
        let Value::Mapping(job) = job else {
            return Err(ManifestError::syntax(
                format,
                format!("expected a mapping at `{here}`"),
            ));
        };
        if let Some(uses) = uses_at(format, job, &here)? {
            out.extend(reference(uses));
        }
        steps(format, job, &format!("{here}.steps"), out)?;
    }
    Ok(())
}

/// A composite action's `runs.steps[].uses`; JavaScript and Docker actions have no steps.
fn action(
    format: Format,
    root: &Mapping,
    out: &mut Vec<ParsedDependency>,
) -> Result<(), ManifestError> {
    match mapping_at(format, root, "runs", "runs")? {
        Some(runs) => steps(format, runs, "runs.steps", out),
        None => Ok(()),
    }
}

fn steps(
    format: Format,
    parent: &Mapping,
    what: &str,
    out: &mut Vec<ParsedDependency>,
) -> Result<(), ManifestError> {
    let steps = match parent.get("steps") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Sequence(steps)) => steps,
        Some(_) => {
            return Err(ManifestError::syntax(
                format,
                format!("expected a list at `{what}`"),
            ));
        }
    };
    for (index, step) in steps.iter().enumerate() {
        let here = format!("{what}[{index}]");
        let Value::Mapping(step) = step else {
            return Err(ManifestError::syntax(
                format,
                format!("expected a mapping at `{here}`"),
            ));
        };
        if let Some(uses) = uses_at(format, step, &here)? {
            out.extend(reference(uses));
        }
    }
    Ok(())
}

fn mapping_at<'a>(
    format: Format,
    parent: &'a Mapping,
    key: &str,
    what: &str,
) -> Result<Option<&'a Mapping>, ManifestError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(_) => Err(ManifestError::syntax(
            format,
            format!("expected a mapping at `{what}`"),
        )),
    }
}

fn uses_at<'a>(
    format: Format,
    parent: &'a Mapping,
    what: &str,
) -> Result<Option<&'a str>, ManifestError> {
    match parent.get("uses") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(uses)) => Ok(Some(uses.trim())),
        Some(_) => Err(ManifestError::syntax(
            format,
            format!("expected a string at `{what}.uses`"),
        )),
    }
}

/// One `uses:` value as a dependency; `None` for Docker images, expressions and values
/// that name no repository.
fn reference(uses: &str) -> Option<ParsedDependency> {
    if uses.starts_with("./") || uses.starts_with("../") || uses == "." {
        return Some(
            ParsedDependency::new(Ecosystem::Actions, uses, "", DependencyKind::Runtime).local(),
        );
    }
    if uses.starts_with("docker://") || uses.contains("${{") {
        return None;
    }
    let (path, git_ref) = uses.split_once('@').unwrap_or((uses, ""));
    let mut segments = path.split('/');
    let (owner, repo) = (segments.next()?.trim(), segments.next()?.trim());
    let valid = |part: &str| !part.is_empty() && !part.contains(char::is_whitespace);
    if !valid(owner) || !valid(repo) {
        return None;
    }
    let name = format!("{owner}/{repo}");
    Some(ParsedDependency::new(
        Ecosystem::Actions,
        name,
        git_ref.trim(),
        DependencyKind::Runtime,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(format: Format, text: &str) -> Vec<(String, String, bool)> {
        parse(format, "", text)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.requirement, d.local))
            .collect()
    }

    fn row(name: &str, requirement: &str, local: bool) -> (String, String, bool) {
        (name.into(), requirement.into(), local)
    }

    #[test]
    fn workflow_steps_and_reusable_workflows_name_the_repository() {
        let text = "
name: CI
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo hi
      - name: Lint
        uses: github/codeql-action/init@a1b2c3d4e5f6 # v3
      - uses: ./.github/actions/setup
      - uses: docker://alpine:3.19
      - uses: ${{ matrix.action }}
  call:
    uses: octo-org/shared/.github/workflows/deploy.yml@main
";
        assert_eq!(
            rows(Format::GithubWorkflow, text),
            [
                row("actions/checkout", "v4", false),
                row("github/codeql-action", "a1b2c3d4e5f6", false),
                row("./.github/actions/setup", "", true),
                row("octo-org/shared", "main", false),
            ]
        );
    }

    #[test]
    fn local_reusable_workflows_are_local() {
        let text = "jobs:\n  call:\n    uses: ./.github/workflows/build.yml\n";
        assert_eq!(
            rows(Format::GithubWorkflow, text),
            [row("./.github/workflows/build.yml", "", true)]
        );
    }

    #[test]
    fn composite_actions_read_runs_steps() {
        let text = "
name: Setup
runs:
  using: composite
  steps:
    - uses: actions/setup-node@v4
      with:
        node-version: 20
    - run: npm ci
      shell: bash
";
        assert_eq!(
            rows(Format::GithubAction, text),
            [row("actions/setup-node", "v4", false)]
        );
        let docker = "runs:\n  using: docker\n  image: docker://debian:stable\n";
        assert!(rows(Format::GithubAction, docker).is_empty());
    }

    #[test]
    fn names_are_normalised_to_lower_case() {
        let deps = parse(
            Format::GithubWorkflow,
            "",
            "jobs:\n  a:\n    steps:\n      - uses: Actions/Checkout@v4\n",
        )
        .unwrap()
        .dependencies;
        assert_eq!(
            (deps[0].name.as_str(), deps[0].normalized_name.as_str()),
            ("Actions/Checkout", "actions/checkout")
        );
    }

    #[test]
    fn malformed_shapes_are_named() {
        let err = parse(Format::GithubWorkflow, "", "jobs:\n  a:\n    steps: {}\n").unwrap_err();
        assert!(err.to_string().contains("`jobs.a.steps`"), "{err}");
        let err = parse(
            Format::GithubWorkflow,
            "",
            "jobs:\n  a:\n    steps:\n      - uses: [1]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("`jobs.a.steps[0].uses`"), "{err}");
        assert!(parse(Format::GithubWorkflow, "", "- a\n").is_err());
        assert!(parse(Format::GithubAction, "", "runs: [\n").is_err());
    }
}
