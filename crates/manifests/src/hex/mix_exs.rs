//! `mix.exs`: the dependency tuples of a Mix project.
//!
//! Dependencies are read from the body of `def deps`/`defp deps` and from a literal
//! `deps: [...]` in `project/0`, as tuples `{:app, "requirement", options}`; tuples
//! elsewhere in the file are not dependencies. Kinds from `only:`: naming `:prod` (or not
//! a literal) is runtime, else naming `:dev` development, else naming `:test` test (so
//! `only: [:dev, :test]` is development), else (`:docs`, `:bench`) development; without
//! `only:`, `optional: true` is optional and `runtime: false` (a compile-time
//! tool) is build; everything else runtime. `path:` and `in_umbrella: true` are local.
//! A `git:` or `github:` dependency without a version takes the repository URL as
//! requirement (`github: "o/r"` is `https://github.com/o/r.git`, as Mix expands it), with
//! `#ref` for a `ref:`, `tag:` or `branch:`. `hex: :package` names the package when the
//! app is renamed.

use super::elixir::{Term, Tok, matching_close, parse_term, tokenize};
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

/// The dependencies a mix.exs declares.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let toks = tokenize(text).map_err(|e| {
        let message = format!("string opened on line {} is never closed", e.line);
        ManifestError::syntax(Format::MixExs, message)
    })?;
    let mut deps = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match deps_region(&toks, i) {
            Some((start, end)) => {
                collect(&toks, start, end, &mut deps);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    Ok(deps)
}

/// The token range holding dependency tuples, when one starts at `i`: a `deps` function
/// body (`defp deps do … end`, `defp deps, do: […]`) or a `deps: […]` keyword.
fn deps_region(toks: &[Tok], i: usize) -> Option<(usize, usize)> {
    let tok = |at: usize| toks.get(at);
    if let (Some(Tok::Label(key)), Some(Tok::Punct("["))) = (tok(i), tok(i + 1)) {
        return (key == "deps").then(|| (i + 1, matching_close(toks, i + 2) + 1));
    }
    let is_def = matches!(tok(i), Some(Tok::Ident(w)) if w == "def" || w == "defp");
    if !is_def || !matches!(tok(i + 1), Some(Tok::Ident(w)) if w == "deps") {
        return None;
    }
    let mut at = i + 2;
    if tok(at) == Some(&Tok::Punct("(")) {
        at = matching_close(toks, at + 1) + 1;
    }
    match (tok(at), tok(at + 1)) {
        (Some(Tok::Ident(w)), _) if w == "do" => Some((at + 1, matching_end(toks, at + 1))),
        (Some(Tok::Punct(",")), Some(Tok::Label(w))) if w == "do" => {
            let (_, end) = parse_term(toks, at + 2, 0);
            Some((at + 2, end))
        }
        _ => None,
    }
}

/// Index of the `end` closing a `do` block whose body starts at `i`.
fn matching_end(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 1usize;
    while let Some(tok) = toks.get(i) {
        match tok {
            Tok::Ident(w) if w == "do" || w == "fn" => depth += 1,
            Tok::Ident(w) if w == "end" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

fn collect(toks: &[Tok], start: usize, end: usize, deps: &mut Vec<ParsedDependency>) {
    let mut i = start;
    while i < end {
        if toks.get(i) == Some(&Tok::Punct("{")) && matches!(toks.get(i + 1), Some(Tok::Atom(_))) {
            // Tuples that are not dependencies are stepped over whole too: re-reading
            // their nested tuples would make deeply nested input quadratic.
            let (term, next) = parse_term(toks, i, 0);
            if let Term::Tuple(items) = &term {
                deps.extend(dependency(items));
            }
            i = next.max(i + 1);
            continue;
        }
        i += 1;
    }
}

/// `{:app, "req", opts}` / `{:app, opts}` → a dependency.
fn dependency(items: &[Term]) -> Option<ParsedDependency> {
    let [Term::Atom(app), rest @ ..] = items else {
        return None;
    };
    let mut requirement = None;
    let mut options: Vec<(&str, &Term)> = Vec::new();
    for item in rest {
        match item {
            Term::Str(s) if requirement.is_none() && options.is_empty() => {
                requirement = Some(s.trim())
            }
            Term::Pair(key, value) => options.push((key, value)),
            Term::List(pairs) => options.extend(pairs.iter().filter_map(|p| match p {
                Term::Pair(key, value) => Some((key.as_str(), &**value)),
                _ => None,
            })),
            _ => {}
        }
    }
    if requirement.is_none() && options.is_empty() {
        return None;
    }
    let option = |key: &str| options.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let text = |key: &str| match option(key) {
        Some(Term::Str(s) | Term::Atom(s)) => Some(s.as_str()),
        _ => None,
    };
    let name = text("hex").unwrap_or(app);
    let local = option("path").is_some() || option("in_umbrella") == Some(&Term::Bool(true));
    let git = text("git")
        .map(str::to_owned)
        .or_else(|| text("github").map(|r| format!("https://github.com/{r}.git")));
    let requirement = match (requirement, git) {
        (Some(requirement), _) => requirement.to_owned(),
        (None, Some(url)) => match ["ref", "tag", "branch"].iter().find_map(|k| text(k)) {
            Some(reference) => format!("{url}#{reference}"),
            None => url,
        },
        (None, None) => String::new(),
    };
    let dep = ParsedDependency::new(Ecosystem::Hex, name, requirement, kind(&option));
    Some(if local { dep.local() } else { dep })
}

fn kind<'a>(option: &impl Fn(&str) -> Option<&'a Term>) -> DependencyKind {
    if let Some(only) = option("only") {
        let envs = only.atoms();
        return if envs.is_empty() || envs.contains(&"prod") {
            DependencyKind::Runtime
        } else if envs.contains(&"dev") {
            DependencyKind::Development
        } else if envs.contains(&"test") {
            DependencyKind::Test
        } else {
            // Other environments (`:docs`, `:bench`) are development tooling too.
            DependencyKind::Development
        };
    }
    if option("optional") == Some(&Term::Bool(true)) {
        DependencyKind::Optional
    } else if option("runtime") == Some(&Term::Bool(false)) {
        DependencyKind::Build
    } else {
        DependencyKind::Runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DependencyKind::*;

    fn deps(text: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn dep(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
    ) -> (String, String, DependencyKind, bool) {
        (name.into(), requirement.into(), kind, false)
    }

    const MIX: &str = r#"
defmodule MyApp.MixProject do
  use Mix.Project

  def project do
    [app: :my_app, version: "0.1.0", deps: deps(), docs: [extras: [{:"README.md", [title: "Intro"]}]]]
  end

  def application, do: [extra_applications: [:logger]]

  # {:commented, "~> 1.0"}
  defp deps do
    [
      {:phoenix, "~> 1.7"},
      {:ecto_sql, "~> 3.10", override: true},
      {:floki, ">= 0.30.0", only: :test},
      {:ex_doc, "~> 0.22", only: :docs},
      {:gettext, "~> 0.15.0", only: [:docs, :test]},
      {:logger_file_backend, "~> 0.0.13", only: [:dev, :prod]},
      {:credo, "~> 1.7", only: [:dev, :test], runtime: false},
      {:dialyxir, "~> 1.4", runtime: false},
      {:jason, "~> 1.0", optional: true},
      {:esbuild, "~> 0.8", runtime: Mix.env() == :dev},
      {:local_dep, path: "../local_dep"},
      {:sibling, in_umbrella: true},
      {:plug, git: "https://github.com/elixir-plug/plug.git", tag: "v1.15.0"},
      {:heroicons, github: "tailwindlabs/heroicons", sparse: "optimized", app: false},
      {:my_json, "~> 1.0", hex: :jason_fork}
    ] ++ extra_deps()
  end
end
"#;

    #[test]
    fn deps_function_tuples_with_kinds_and_sources() {
        assert_eq!(
            deps(MIX),
            [
                dep("phoenix", "~> 1.7", Runtime),
                dep("ecto_sql", "~> 3.10", Runtime),
                dep("floki", ">= 0.30.0", Test),
                dep("ex_doc", "~> 0.22", Development),
                dep("gettext", "~> 0.15.0", Test),
                dep("logger_file_backend", "~> 0.0.13", Runtime),
                dep("credo", "~> 1.7", Development),
                dep("dialyxir", "~> 1.4", Build),
                dep("jason", "~> 1.0", Optional),
                dep("esbuild", "~> 0.8", Runtime),
                ("local_dep".into(), "".into(), Runtime, true),
                ("sibling".into(), "".into(), Runtime, true),
                dep(
                    "plug",
                    "https://github.com/elixir-plug/plug.git#v1.15.0",
                    Runtime
                ),
                dep(
                    "heroicons",
                    "https://github.com/tailwindlabs/heroicons.git",
                    Runtime
                ),
                dep("jason_fork", "~> 1.0", Runtime),
            ]
        );
    }

    #[test]
    fn inline_deps_keyword_and_one_line_function() {
        let text = "def project, do: [app: :a, deps: [{:cowboy, \"~> 2.0\"}]]\ndefp deps(), do: [{:plug, \"~> 1.0\"}]\n";
        assert_eq!(
            deps(text),
            [
                dep("cowboy", "~> 2.0", Runtime),
                dep("plug", "~> 1.0", Runtime)
            ]
        );
    }

    #[test]
    fn deeply_nested_tuples_do_not_exhaust_the_stack() {
        let text = format!("defp deps do\n[{}]\nend\n", "{:a, ".repeat(200_000));
        assert!(parse(&text).unwrap().is_empty());
    }

    #[test]
    fn an_unclosed_string_is_an_error() {
        let err = parse("defp deps do\n  [{:a, \"~> 1.0}]\nend\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
