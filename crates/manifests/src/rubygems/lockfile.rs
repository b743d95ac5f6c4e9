//! `Gemfile.lock` / `gems.locked`: Bundler's resolved gems.
//!
//! Each source section (`GEM`, `GIT`, `PATH`) lists its resolved gems under `specs:` at a
//! 4-space indent (their own dependencies follow at 6 spaces). A gem resolved for several
//! platforms (`nokogiri (1.15.5-x86_64-linux)`, `nokogiri (1.15.5-arm64-darwin)`) is one
//! entry, `1.15.5`: Bundler itself splits the version at the first `-`. `DEPENDENCIES`
//! says which gems the Gemfile asks for (`direct`); a gem named there with no spec locked
//! (one limited to other platforms, such as `tzinfo-data` with `platforms: [:windows]`) is
//! still a dependency: it is reported with the requirement written there (`wdm (>= 0.1.0)`
//! → `>= 0.1.0`) and no resolved version. `PATH` gems are local, except that
//! `PATH` with `remote: .` is the project itself (a gem's `gemspec`) and is skipped.
//! `BUNDLED WITH` locks the bundler gem too: Bundler switches to that version before it loads
//! the application, which then runs with it (`require "bundler/setup"`), so it is reported at
//! that version, direct only when the Gemfile asks for it. `PLATFORMS`,
//! `RUBY VERSION`, `CHECKSUMS` and plugin sources declare nothing.

use std::collections::HashSet;

use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Gem,
    Git,
    Path,
    Dependencies,
    BundledWith,
    Other,
}

impl Section {
    fn from_header(line: &str) -> Section {
        match line {
            "GEM" => Section::Gem,
            "GIT" => Section::Git,
            "PATH" => Section::Path,
            "DEPENDENCIES" => Section::Dependencies,
            "BUNDLED WITH" => Section::BundledWith,
            _ => Section::Other,
        }
    }
}

/// One `name (version)` line of a `specs:` list.
struct Spec<'a> {
    name: &'a str,
    version: &'a str,
    local: bool,
}

#[derive(Default)]
struct Lockfile<'a> {
    specs: Vec<Spec<'a>>,
    direct: Option<HashSet<&'a str>>,
    /// `DEPENDENCIES` entries, `(name, requirement)`, in file order.
    declared: Vec<(&'a str, &'a str)>,
    /// Gems locked from `PATH remote: .`: the project itself.
    project: HashSet<&'a str>,
    bundled_with: Option<&'a str>,
    saw_section: bool,
}

/// The gems a lockfile resolved.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let lock = read(text);
    if !lock.saw_section {
        return Err(ManifestError::syntax(
            Format::GemfileLock,
            "expected Bundler sections such as GEM, PATH, GIT and DEPENDENCIES",
        ));
    }
    Ok(dependencies(&lock))
}

fn read(text: &str) -> Lockfile<'_> {
    let mut lock = Lockfile::default();
    let mut section = Section::Other;
    let mut in_specs = false;
    let mut project_itself = false;
    let mut seen = HashSet::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = Section::from_header(line);
            lock.saw_section |= section != Section::Other || line == "PLATFORMS";
            if section == Section::Dependencies {
                lock.direct.get_or_insert_with(HashSet::new);
            }
            in_specs = false;
            project_itself = false;
            continue;
        }
        match section {
            Section::Gem | Section::Git | Section::Path => {
                if is_indented(line, 2) {
                    in_specs = line.trim() == "specs:";
                    // `gemspec` in a gem's own Gemfile locks the gem itself from `PATH .`.
                    let remote = line.trim().strip_prefix("remote:").map(str::trim);
                    project_itself |= section == Section::Path
                        && remote.is_some_and(|r| matches!(r.trim_end_matches('/'), "." | ""));
                } else if in_specs && project_itself && is_indented(line, 4) {
                    let entry = line.trim();
                    lock.project
                        .insert(entry.split(' ').next().unwrap_or(entry));
                } else if in_specs && project_itself && is_indented(line, 6) {
                    // What the project's own gemspec asks for is as direct as the Gemfile.
                    let entry = line.trim();
                    let name = entry.split(' ').next().unwrap_or(entry);
                    lock.direct.get_or_insert_with(HashSet::new).insert(name);
                } else if in_specs
                    && !project_itself
                    && is_indented(line, 4)
                    && let Some((name, version)) = name_and_version(line.trim())
                {
                    let version = version.split('-').next().unwrap_or(version);
                    if seen.insert((name, version)) {
                        let local = section == Section::Path;
                        lock.specs.push(Spec {
                            name,
                            version,
                            local,
                        });
                    }
                }
            }
            Section::Dependencies if is_indented(line, 2) => {
                let entry = line.trim();
                let name = entry.split([' ', '!']).next().unwrap_or(entry);
                lock.direct.get_or_insert_with(HashSet::new).insert(name);
                lock.declared.push((name, declared_requirement(entry)));
            }
            Section::BundledWith => lock.bundled_with = Some(line.trim()),
            _ => {}
        }
    }
    lock
}

/// Whether `line` is indented by exactly `spaces` spaces.
fn is_indented(line: &str, spaces: usize) -> bool {
    line.len() > spaces
        && line.bytes().take(spaces).all(|b| b == b' ')
        && line.as_bytes().get(spaces) != Some(&b' ')
}

/// `rails (7.1.2)` → (`rails`, `7.1.2`).
fn name_and_version(entry: &str) -> Option<(&str, &str)> {
    let (name, rest) = entry.split_once(" (")?;
    let version = rest.strip_suffix(')')?;
    Some((name.trim(), version.trim()))
}

/// `wdm (>= 0.1.0)` → `>= 0.1.0`; `tzinfo-data` and `rails!` → `""`.
fn declared_requirement(entry: &str) -> &str {
    entry
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map_or("", |(requirement, _)| requirement.trim())
}

fn dependencies(lock: &Lockfile<'_>) -> Vec<ParsedDependency> {
    let direct = |name: &str| lock.direct.as_ref().map(|d| d.contains(name));
    let mut deps: Vec<ParsedDependency> = lock
        .specs
        .iter()
        .map(|spec| {
            let dep = ParsedDependency::new(
                Ecosystem::Rubygems,
                spec.name,
                spec.version,
                DependencyKind::Runtime,
            )
            .resolved(spec.version, direct(spec.name));
            if spec.local { dep.local() } else { dep }
        })
        .collect();
    let bundler_in_specs = lock.specs.iter().any(|s| s.name == "bundler");
    if let (false, Some(version)) = (bundler_in_specs, lock.bundled_with) {
        deps.push(
            ParsedDependency::new(
                Ecosystem::Rubygems,
                "bundler",
                version,
                DependencyKind::Runtime,
            )
            .resolved(version, direct("bundler")),
        );
    }
    deps.extend(unlocked(
        lock,
        bundler_in_specs || lock.bundled_with.is_some(),
    ));
    deps
}

/// `DEPENDENCIES` entries with no spec locked for the lockfile's platforms: the Gemfile
/// still asks for them, Bundler only installs them elsewhere.
fn unlocked(lock: &Lockfile<'_>, bundler_locked: bool) -> Vec<ParsedDependency> {
    let locked: HashSet<&str> = lock.specs.iter().map(|s| s.name).collect();
    let mut seen = HashSet::new();
    lock.declared
        .iter()
        .filter(|(name, _)| !locked.contains(name) && !lock.project.contains(name))
        .filter(|(name, _)| !(bundler_locked && *name == "bundler"))
        .filter(|(name, _)| !name.is_empty() && seen.insert(*name))
        .map(|(name, requirement)| {
            let mut dep = ParsedDependency::new(
                Ecosystem::Rubygems,
                *name,
                *requirement,
                DependencyKind::Runtime,
            );
            dep.direct = Some(true);
            dep
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
GIT
  remote: https://github.com/rails/rails.git
  revision: 0123456789abcdef
  branch: main
  specs:
    rails (7.2.0.alpha)
      actionpack (= 7.2.0.alpha)

PATH
  remote: engines/admin
  specs:
    admin (0.1.0)

GEM
  remote: https://rubygems.org/
  specs:
    actionpack (7.2.0.alpha)
    nokogiri (1.15.5-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.15.5-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  admin!
  nokogiri (~> 1.15)
  rails!

CHECKSUMS
  racc (1.7.3) sha256=abc

BUNDLED WITH
   2.5.3
";

    fn summary(text: &str) -> Vec<(String, String, Option<bool>, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| {
                assert_eq!(d.resolved_version.as_deref(), Some(d.requirement.as_str()));
                (d.name, d.requirement, d.direct, d.local)
            })
            .collect()
    }

    #[test]
    fn specs_from_every_source_with_direct_and_local_flags() {
        let expected = [
            ("rails", "7.2.0.alpha", Some(true), false),
            ("admin", "0.1.0", Some(true), true),
            ("actionpack", "7.2.0.alpha", Some(false), false),
            ("nokogiri", "1.15.5", Some(true), false),
            ("racc", "1.7.3", Some(false), false),
            ("bundler", "2.5.3", Some(false), false),
        ];
        assert_eq!(
            summary(LOCK),
            expected.map(|(n, v, d, l)| (n.into(), v.into(), d, l))
        );
    }

    #[test]
    fn the_project_itself_is_not_a_dependency_but_what_its_gemspec_asks_for_is_direct() {
        let lock = "PATH\n  remote: .\n  specs:\n    mygem (0.1.0)\n      rack (>= 2)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.8)\n\nDEPENDENCIES\n  mygem!\n";
        assert_eq!(
            summary(lock),
            [("rack".into(), "3.0.8".into(), Some(true), false)]
        );
    }

    #[test]
    fn gems_declared_for_other_platforms_are_direct_dependencies_without_a_version() {
        let lock = "PATH\n  remote: .\n  specs:\n    mygem (0.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  mygem!\n  rake\n  tzinfo-data\n  wdm (>= 0.1.0)\n  nio4r (~> 2.0, >= 2.5.8)\n";
        let got: Vec<_> = parse(lock)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.resolved_version, d.direct, d.kind))
            .collect();
        let row = |n: &str, r: &str, v: Option<&str>| {
            (
                n.to_owned(),
                r.to_owned(),
                v.map(str::to_owned),
                Some(true),
                DependencyKind::Runtime,
            )
        };
        assert_eq!(
            got,
            [
                row("rake", "13.0.6", Some("13.0.6")),
                row("tzinfo-data", "", None),
                row("wdm", ">= 0.1.0", None),
                row("nio4r", "~> 2.0, >= 2.5.8", None),
            ]
        );
    }

    #[test]
    fn crlf_line_endings_are_read() {
        let crlf = LOCK.replace('\n', "\r\n");
        assert_eq!(summary(&crlf), summary(LOCK));
    }

    #[test]
    fn bundler_is_locked_at_the_bundled_with_version() {
        let locked = summary(LOCK).into_iter().find(|d| d.0 == "bundler");
        assert_eq!(
            locked,
            Some(("bundler".into(), "2.5.3".into(), Some(false), false))
        );
        let asks = LOCK.replace("  rails!\n", "  bundler\n  rails!\n");
        let bundler = summary(&asks).into_iter().find(|d| d.0 == "bundler");
        assert_eq!(
            bundler,
            Some(("bundler".into(), "2.5.3".into(), Some(true), false))
        );
    }

    #[test]
    fn without_a_dependencies_section_directness_is_unknown() {
        let lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n";
        assert_eq!(
            summary(lock),
            [("rake".into(), "13.0.6".into(), None, false)]
        );
    }

    #[test]
    fn a_gemfile_is_not_a_lockfile() {
        let err = parse("source 'https://rubygems.org'\ngem 'rails'\n").unwrap_err();
        assert!(err.to_string().contains("GEM"), "{err}");
    }
}
