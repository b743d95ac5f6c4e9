//! Go modules: `go.mod` and `go.sum`.
//!
//! go.mod is line-oriented: a directive (`require`, `replace`, …) is followed by its
//! arguments on the same line, or by a parenthesised block with one entry per line.

use std::collections::{HashMap, HashSet};

use super::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Parses `text`, read from `path` inside a repository, as one of this module's formats.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let dependencies = match format {
        Format::GoMod => parse_mod(text)?,
        Format::GoSum => parse_sum(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// A `require` line: the module, its version as written (pseudo-versions and
/// `+incompatible` included) and whether the `// indirect` comment marks it.
struct Require<'a> {
    module: &'a str,
    version: &'a str,
    indirect: bool,
}

/// A `replace` line: `old [version] => new [version]`; a new path without a version is a
/// directory on disk.
struct Replace<'a> {
    old: &'a str,
    old_version: Option<&'a str>,
    new: &'a str,
    new_version: Option<&'a str>,
}

/// Every required module, direct unless marked `// indirect`, with `replace` applied.
/// `exclude`, `retract`, `tool` and the other directives name no dependency.
fn parse_mod(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut requires = Vec::new();
    let mut replaces: HashMap<(&str, Option<&str>), Replace> = HashMap::new();
    for entry in directive_entries(text)? {
        match entry.directive {
            "require" => requires.push(require(&entry)?),
            "replace" => {
                let replace = replace(&entry)?;
                // Go refuses duplicates; for a broken file, the first one counts.
                replaces
                    .entry((replace.old, replace.old_version))
                    .or_insert(replace);
            }
            _ => {}
        }
    }
    Ok(requires
        .iter()
        .map(|r| with_replacement(r, &replaces))
        .collect())
}

/// A replacement for a specific version wins over one for every version. A module replaced
/// by another is reported under the replacement (what gets built), `replaces` naming the
/// required one; replaced by a directory, it is a local reference.
fn with_replacement(
    require: &Require,
    replaces: &HashMap<(&str, Option<&str>), Replace>,
) -> ParsedDependency {
    let replacement = replaces
        .get(&(require.module, Some(require.version)))
        .or_else(|| replaces.get(&(require.module, None)));
    // go.mod says which requirements are direct, but resolves nothing.
    let required = |module, version| ParsedDependency {
        direct: Some(!require.indirect),
        ..go_dep(module, version)
    };
    match replacement {
        Some(Replace {
            new,
            new_version: Some(version),
            ..
        }) => required(new, version).replacing(require.module, require.version),
        Some(Replace {
            new_version: None, ..
        }) => required(require.module, require.version).local(),
        None => required(require.module, require.version),
    }
}

fn go_dep(module: &str, version: &str) -> ParsedDependency {
    ParsedDependency::new(Ecosystem::Go, module, version, DependencyKind::Runtime)
}

/// One entry of a directive, from a single line or a block.
struct Entry<'a> {
    line: usize,
    directive: &'a str,
    args: Vec<&'a str>,
    comment: &'a str,
}

/// The entries of every directive, with their line numbers for error messages.
fn directive_entries(text: &str) -> Result<Vec<Entry<'_>>, ManifestError> {
    let mut entries = Vec::new();
    let mut block: Option<(&str, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let (code, comment) = raw.split_once("//").unwrap_or((raw, ""));
        let mut words: Vec<&str> = code.split_whitespace().map(unquote).collect();
        if let Some((directive, _)) = block {
            if words.first() == Some(&")") {
                block = None;
            } else if !words.is_empty() {
                entries.push(Entry {
                    line,
                    directive,
                    args: words,
                    comment: comment.trim(),
                });
            }
            continue;
        }
        if words.is_empty() {
            continue;
        }
        let directive = words.remove(0);
        if words.first() == Some(&"(") {
            block = Some((directive, line));
        } else if let Some(directive) = directive.strip_suffix('(').filter(|_| words.is_empty()) {
            block = Some((directive, line));
        } else {
            entries.push(Entry {
                line,
                directive,
                args: words,
                comment: comment.trim(),
            });
        }
    }
    match block {
        Some((directive, line)) => Err(syntax(
            Format::GoMod,
            line,
            &format!("`{directive} (` block is never closed"),
        )),
        None => Ok(entries),
    }
}

/// Module paths may be quoted (`"example.com/m"`).
fn unquote(word: &str) -> &str {
    word.strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(word)
}

fn require<'a>(entry: &Entry<'a>) -> Result<Require<'a>, ManifestError> {
    let [module, version] = entry.args[..] else {
        return Err(syntax(
            Format::GoMod,
            entry.line,
            "expected `require MODULE VERSION`",
        ));
    };
    let indirect = entry.comment.split([';', ' ']).next() == Some("indirect");
    Ok(Require {
        module,
        version,
        indirect,
    })
}

fn replace<'a>(entry: &Entry<'a>) -> Result<Replace<'a>, ManifestError> {
    let arrow = entry.args.iter().position(|w| *w == "=>");
    let (old, new) = match arrow {
        Some(at) => (
            entry.args.get(..at).unwrap_or_default(),
            entry.args.get(at + 1..).unwrap_or_default(),
        ),
        None => (&[][..], &[][..]),
    };
    match (old, new) {
        (&[old, ref old_version @ ..], &[new, ref new_version @ ..])
            if old_version.len() <= 1 && new_version.len() <= 1 =>
        {
            Ok(Replace {
                old,
                old_version: old_version.first().copied(),
                new,
                new_version: new_version.first().copied(),
            })
        }
        _ => Err(syntax(
            Format::GoMod,
            entry.line,
            "expected `replace MODULE [VERSION] => TARGET [VERSION]`",
        )),
    }
}

fn syntax(format: Format, line: usize, message: &str) -> ManifestError {
    ManifestError::syntax(format, format!("line {line}: {message}"))
}

/// One entry per module version. Each version has a line for its `go.mod` file's hash
/// (`v1.0.0/go.mod`) and usually one for the module's content; modules only needed for
/// their go.mod (in the graph but never built) have just the first.
fn parse_sum(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut seen = HashSet::new();
    let mut deps = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (module, version) = match words[..] {
            [] => continue,
            [module, version, hash] if hash.contains(':') => (module, version),
            _ => {
                return Err(syntax(
                    Format::GoSum,
                    index + 1,
                    "expected `MODULE VERSION HASH`",
                ));
            }
        };
        let version = version.strip_suffix("/go.mod").unwrap_or(version);
        if seen.insert((module, version)) {
            deps.push(go_dep(module, version).resolved(version, None));
        }
    }
    Ok(deps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, Option<bool>, bool)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.direct, d.local))
            .collect()
    }

    #[test]
    fn require_blocks_and_single_lines() {
        let text = "module example.com/app\n\ngo 1.22\n\nrequire (\n\
                    \tgolang.org/x/text v0.14.0\n\
                    \tgithub.com/kr/pretty v0.1.0 // indirect\n)\n\n\
                    require rsc.io/quote v1.5.2\n";
        assert_eq!(
            summary(&parse_mod(text).unwrap()),
            vec![
                ("golang.org/x/text", "v0.14.0", Some(true), false),
                ("github.com/kr/pretty", "v0.1.0", Some(false), false),
                ("rsc.io/quote", "v1.5.2", Some(true), false),
            ]
        );
    }

    #[test]
    fn pseudo_versions_and_incompatible_are_kept() {
        let text = "require (\n\tgithub.com/go-check/check v0.0.0-20180628173108-788fd7840127\n\
                    \tgithub.com/gomodule/redigo v2.0.0+incompatible\n)\n";
        let deps = parse_mod(text).unwrap();
        assert_eq!(deps[0].requirement, "v0.0.0-20180628173108-788fd7840127");
        assert_eq!(deps[1].requirement, "v2.0.0+incompatible");
        assert_eq!(deps[0].resolved_version, None);
    }

    #[test]
    fn replace_reports_the_replacement() {
        let text = "require golang.org/x/net v1.2.3\n\
                    replace golang.org/x/net => example.com/other v9.9.9\n\
                    replace golang.org/x/net v1.2.3 => example.com/fork/net v1.4.5\n\
                    replace unused/module v1.0.0 => other/module v1.0.0\n";
        let deps = parse_mod(text).unwrap();
        assert_eq!(
            summary(&deps),
            vec![("example.com/fork/net", "v1.4.5", Some(true), false)]
        );
        assert_eq!(
            deps[0].replaces,
            Some(crate::Replaced {
                name: "golang.org/x/net".into(),
                requirement: "v1.2.3".into()
            })
        );
    }

    #[test]
    fn replace_with_a_directory_is_local() {
        let text = "require (\n\texample.com/lib v1.0.0 // indirect\n)\nreplace example.com/lib => ../lib\n";
        assert_eq!(
            summary(&parse_mod(text).unwrap()),
            vec![("example.com/lib", "v1.0.0", Some(false), true)]
        );
    }

    #[test]
    fn exclude_retract_and_tool_declare_nothing() {
        let text = "exclude old/thing v1.2.3\nexclude (\n\tolder/thing v4.5.6\n)\n\
                    retract v1.0.0\nretract [v2.0.0, v2.9.9]\ntool golang.org/x/tools/cmd/stringer\n";
        assert!(parse_mod(text).unwrap().is_empty());
    }

    #[test]
    fn malformed_go_mod_is_an_error() {
        let err = parse_mod("require (\n\texample.com/lib\n)\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_mod("require (\n\texample.com/lib v1.0.0\n").unwrap_err();
        assert!(err.to_string().contains("never closed"), "{err}");
    }

    #[test]
    fn go_sum_has_one_entry_per_module_version() {
        let text = "github.com/kr/pretty v0.1.0 h1:L/CwN0zerZDm=\n\
                    github.com/kr/pretty v0.1.0/go.mod h1:dAy3ld7l9f0=\n\
                    github.com/kr/pty v1.1.1/go.mod h1:pFQYn66WHrOp=\n";
        let deps = parse_sum(text).unwrap();
        assert_eq!(
            summary(&deps),
            vec![
                ("github.com/kr/pretty", "v0.1.0", None, false),
                ("github.com/kr/pty", "v1.1.1", None, false)
            ]
        );
        assert_eq!(deps[1].resolved_version.as_deref(), Some("v1.1.1"));
    }

    /// Fragments of go.mod and go.sum, so random inputs reach deep into the parsers.
    fn fragments() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "require",
            "replace",
            "exclude",
            " (",
            "(",
            ")",
            "\n",
            " ",
            "\t",
            "=>",
            "//",
            "indirect",
            "example.com/m",
            "v1.0.0",
            "./dir",
            "\"",
            "/go.mod",
            "h1:abc=",
            "é",
        ];
        prop::collection::vec(prop::sample::select(PIECES), 0..80).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_a_parser_panic(text in fragments()) {
            let _ = parse_mod(&text);
            let _ = parse_sum(&text);
        }
    }

    #[test]
    fn a_go_mod_is_not_a_go_sum() {
        let err = parse_sum("module example.com/app\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
