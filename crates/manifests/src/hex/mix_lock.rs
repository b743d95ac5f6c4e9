//! `mix.lock`: a map from app name to how it was locked.
//!
//! `{:hex, :package, "version", …}` entries name the Hex package (which may differ from
//! the app key) and its version; `{:git, "url", "commit", opts}` entries are locked to the
//! commit, reported under the app name. The file records neither kinds nor which
//! dependencies are direct.

use super::elixir::{Term, Tok, parse_term, tokenize};
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

fn error(message: impl ToString) -> ManifestError {
    ManifestError::syntax(Format::MixLock, message)
}

/// The dependencies a mix.lock pins.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let toks = tokenize(text)
        .map_err(|e| error(format!("string opened on line {} is never closed", e.line)))?;
    if toks.first() != Some(&Tok::Punct("%{")) {
        return Err(error("expected a map `%{…}` of locked dependencies"));
    }
    let mut deps = Vec::new();
    let mut i = 1;
    loop {
        let (key, value_at) = match (toks.get(i), toks.get(i + 1)) {
            (Some(Tok::Punct("}")), _) | (None, _) => break,
            (Some(Tok::Label(key)), _) => (key, i + 1),
            (Some(Tok::Str(key)), Some(Tok::Punct("=>"))) => (key, i + 2),
            (Some(other), _) => {
                return Err(error(format!(
                    "expected `\"name\": {{…}}` entries, found {other:?}"
                )));
            }
        };
        let (term, next) = parse_term(&toks, value_at, 0);
        deps.extend(locked(key, &term));
        i = match toks.get(next) {
            Some(Tok::Punct(",")) => next + 1,
            _ => next,
        };
        if next == value_at {
            return Err(error(format!("the entry for `{key}` has no value")));
        }
    }
    Ok(deps)
}

fn locked(key: &str, term: &Term) -> Option<ParsedDependency> {
    let Term::Tuple(items) = term else {
        return None;
    };
    let (name, version) = match items.as_slice() {
        [
            Term::Atom(source),
            Term::Atom(package),
            Term::Str(version),
            ..,
        ] if source == "hex" => (package.as_str(), version),
        [Term::Atom(source), Term::Str(_url), Term::Str(commit), ..] if source == "git" => {
            (key, commit)
        }
        _ => return None,
    };
    Some(
        ParsedDependency::new(
            Ecosystem::Hex,
            name,
            version.clone(),
            DependencyKind::Runtime,
        )
        .resolved(version.clone(), None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_git_entries() {
        let text = r#"%{
  "cowboy": {:hex, :cowboy, "2.10.0", "ff9ffeff91dae4ae270dd975642997afe2a1179d94b1887863e43f681a203e26", [:make, :rebar3], [{:cowlib, "2.12.1", [hex: :cowlib, repo: "hexpm", optional: false]}], "hexpm", "3afdccb7183cc6f143cb14d3cf51fa00e53db9ec80cdcd525482f5e99bc41d6b"},
  "my_json": {:hex, :jason_fork, "1.4.1", "abc", [:mix], [], "hexpm", "def"},
  "plug": {:git, "https://github.com/elixir-plug/plug.git", "a1b2c3d4", [tag: "v1.15.0"]},
}
"#;
        let got: Vec<_> = parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.resolved_version.unwrap(), d.direct))
            .collect();
        assert_eq!(
            got,
            [
                ("cowboy".into(), "2.10.0".into(), None),
                ("jason_fork".into(), "1.4.1".into(), None),
                ("plug".into(), "a1b2c3d4".into(), None),
            ]
        );
    }

    #[test]
    fn arrow_keys_are_read_too() {
        let text = "%{\"ranch\" => {:hex, :ranch, \"1.8.0\", \"x\", [:make], [], \"hexpm\"}}";
        assert_eq!(parse(text).unwrap()[0].requirement, "1.8.0");
    }

    #[test]
    fn malformed_locks_say_what_is_wrong() {
        assert!(parse("[1, 2]").unwrap_err().to_string().contains("%{"));
        assert!(parse("%{:a}").unwrap_err().to_string().contains("entries"));
        assert!(
            parse("%{\"a\": }")
                .unwrap_err()
                .to_string()
                .contains("no value")
        );
    }
}
