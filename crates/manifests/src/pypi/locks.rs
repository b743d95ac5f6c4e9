//! TOML lockfiles: poetry.lock, uv.lock, pdm.lock and PEP 751 pylock.toml.

use std::collections::{HashMap, VecDeque};

use toml::{Table, Value};

use super::{
    Format, ManifestError, ParsedDependency, array, group_kind, locked, parse_toml, str_at, table,
};
use wump_core::{DependencyKind, Ecosystem};

/// The `[[key]]` array of package tables every one of these lockfiles has.
fn packages<'a>(
    format: Format,
    document: &'a Table,
    key: &str,
) -> Result<Vec<&'a Table>, ManifestError> {
    let list = array(format, document, key, key)?.unwrap_or_default();
    list.iter()
        .map(|package| {
            package
                .as_table()
                .filter(|p| str_at(p, "name").is_some())
                .ok_or_else(|| {
                    ManifestError::syntax(
                        format,
                        format!("expected a table with a `name` in `[[{key}]]`"),
                    )
                })
        })
        .collect()
}

/// Refuses a document that has none of the keys every file of `format` has (such as a
/// pyproject.toml given the lockfile's name).
fn expect_any_key(format: Format, document: &Table, keys: &[&str]) -> Result<(), ManifestError> {
    if keys.iter().any(|key| document.contains_key(*key)) {
        return Ok(());
    }
    let keys = keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(ManifestError::syntax(
        format,
        format!("no {keys}: not a {format}"),
    ))
}

/// The group names of a package (`groups = [...]`, or the older `category = "…"`).
fn group_names(package: &Table) -> Vec<&str> {
    match (package.get("groups"), str_at(package, "category")) {
        (Some(Value::Array(groups)), _) => groups.iter().filter_map(Value::as_str).collect(),
        (_, Some(category)) => vec![category],
        _ => Vec::new(),
    }
}

/// One entry per kind the package's groups map to (a package both in `main` and `dev` is
/// both a runtime and a development dependency); `main` when no group is recorded.
fn kinds_of_groups(groups: &[&str]) -> Vec<DependencyKind> {
    let mut kinds: Vec<DependencyKind> = Vec::new();
    for kind in groups.iter().map(|g| group_kind(g)) {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        kinds.push(DependencyKind::Runtime);
    }
    kinds
}

/// Poetry: `groups` (Poetry ≥ 1.2) or `category`; `optional = true` packages are only
/// installed for an extra; directory and file sources are local.
pub(super) fn parse_poetry(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let format = Format::PoetryLock;
    let document = parse_toml(format, text)?;
    expect_any_key(format, &document, &["package", "metadata"])?;
    let mut deps = Vec::new();
    for package in packages(format, &document, "package")? {
        let (name, version) = name_and_version(package);
        let optional = package.get("optional").and_then(Value::as_bool) == Some(true);
        let source = table(format, package, "source", "package.source")?;
        let local = source
            .and_then(|s| str_at(s, "type"))
            .is_some_and(|t| matches!(t, "directory" | "file"));
        for kind in kinds_of_groups(&group_names(package)) {
            let kind = if optional && kind == DependencyKind::Runtime {
                DependencyKind::Optional
            } else {
                kind
            };
            deps.push(mark_local(locked(name, version, kind), local));
        }
    }
    Ok(deps)
}

/// PDM: `groups`, with `path` (local) or `git` sources.
pub(super) fn parse_pdm(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let format = Format::PdmLock;
    let document = parse_toml(format, text)?;
    expect_any_key(format, &document, &["package", "metadata"])?;
    let mut deps = Vec::new();
    for package in packages(format, &document, "package")? {
        let (name, version) = name_and_version(package);
        let local = str_at(package, "path").is_some();
        for kind in kinds_of_groups(&group_names(package)) {
            deps.push(mark_local(locked(name, version, kind), local));
        }
    }
    Ok(deps)
}

/// PEP 751: packages with a version from an index, or a directory / local archive.
pub(super) fn parse_pylock(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let format = Format::Pylock;
    let document = parse_toml(format, text)?;
    expect_any_key(format, &document, &["lock-version"])?;
    let mut deps = Vec::new();
    for package in packages(format, &document, "packages")? {
        let (name, version) = name_and_version(package);
        let archive = package.get("archive").and_then(Value::as_table);
        let local_archive = archive.is_some_and(|a| {
            str_at(a, "path").is_some() || str_at(a, "url").is_some_and(|u| u.starts_with("file:"))
        });
        let local = package.contains_key("directory") || local_archive;
        let dependency = if version.is_empty() {
            super::dep(name, "", DependencyKind::Runtime)
        } else {
            locked(name, version, DependencyKind::Runtime)
        };
        deps.push(mark_local(dependency, local));
    }
    Ok(deps)
}

/// uv: registry, git, URL and path packages; `editable` and `virtual` sources are the
/// workspace's own members, which are the project itself. The members' dependency lists
/// say which packages are direct and, following the graph, which kind each one is.
pub(super) fn parse_uv(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let format = Format::UvLock;
    let document = parse_toml(format, text)?;
    expect_any_key(format, &document, &["package", "version"])?;
    let all = packages(format, &document, "package")?;
    let (members, others): (Vec<&Table>, Vec<&Table>) =
        all.into_iter().partition(|p| is_uv_member(p));
    let kinds = uv_kinds(&members, &others);
    let mut deps = Vec::new();
    for package in others {
        let (name, version) = name_and_version(package);
        let key = Ecosystem::Pypi.normalize_name(name);
        let found = kinds.get(&key).copied();
        let kind = found.map_or(DependencyKind::Runtime, |(kind, _)| kind);
        let direct = (!members.is_empty()).then(|| found.is_some_and(|(_, direct)| direct));
        let source = package.get("source").and_then(Value::as_table);
        let local = source.is_some_and(|s| s.contains_key("path") || s.contains_key("directory"));
        let dependency = locked(name, version, kind);
        let dependency = ParsedDependency {
            direct,
            ..dependency
        };
        deps.push(mark_local(dependency, local));
    }
    Ok(deps)
}

fn is_uv_member(package: &Table) -> bool {
    let source = package.get("source").and_then(Value::as_table);
    source.is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual"))
}

/// Kind and directness per normalized name: a package takes the highest-precedence kind of
/// the member lists that lead to it, so one reachable from a member's runtime dependencies
/// is runtime even if a dev group also lists it.
fn uv_kinds(members: &[&Table], others: &[&Table]) -> HashMap<String, (DependencyKind, bool)> {
    // Several versions of one name (forks by Python version) share its node.
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    for package in others {
        let name = Ecosystem::Pypi.normalize_name(name_and_version(package).0);
        let children = uv_dependency_names(package.get("dependencies"));
        edges.entry(name).or_default().extend(children);
    }
    let mut best: HashMap<String, (DependencyKind, bool)> = HashMap::new();
    for (name, kind) in members.iter().flat_map(|member| uv_member_roots(member)) {
        let entry = best.entry(name).or_insert((kind, true));
        if precedence(kind) < precedence(entry.0) {
            entry.0 = kind;
        }
    }
    // Breadth-first from the direct dependencies; a name is revisited only when its kind
    // improves, at most once per kind, so the walk stays linear.
    let mut queue: VecDeque<String> = best.keys().cloned().collect();
    while let Some(name) = queue.pop_front() {
        let Some(&(kind, _)) = best.get(&name) else {
            continue;
        };
        for child in edges.get(&name).into_iter().flatten() {
            let existing = best.get(child).copied();
            if existing.is_none_or(|(old, _)| precedence(kind) < precedence(old)) {
                let direct = existing.is_some_and(|(_, direct)| direct);
                best.insert(child.clone(), (kind, direct));
                queue.push_back(child.clone());
            }
        }
    }
    best
}

/// What a workspace member asks for itself: `dependencies` (runtime),
/// `optional-dependencies` (extras) and `dev-dependencies` (PEP 735 groups).
fn uv_member_roots(member: &Table) -> Vec<(String, DependencyKind)> {
    let runtime = uv_dependency_names(member.get("dependencies"));
    let mut roots: Vec<_> = runtime
        .into_iter()
        .map(|n| (n, DependencyKind::Runtime))
        .collect();
    let groups = |key: &str| {
        member
            .get(key)
            .and_then(Value::as_table)
            .into_iter()
            .flatten()
    };
    for (_, list) in groups("optional-dependencies") {
        let names = uv_dependency_names(Some(list));
        roots.extend(names.into_iter().map(|n| (n, DependencyKind::Optional)));
    }
    for (group, list) in groups("dev-dependencies") {
        let names = uv_dependency_names(Some(list));
        roots.extend(names.into_iter().map(|n| (n, group_kind(group))));
    }
    roots
}

/// Which kind wins when several paths lead to a package: what users get before what only
/// developers install.
fn precedence(kind: DependencyKind) -> u8 {
    match kind {
        DependencyKind::Runtime => 0,
        DependencyKind::Peer => 1,
        DependencyKind::Optional => 2,
        DependencyKind::Build => 3,
        DependencyKind::Test => 4,
        DependencyKind::Development => 5,
    }
}

/// Normalized names of a uv dependency list `[{ name = "…" }, …]`.
fn uv_dependency_names(list: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(list)) = list else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|d| d.as_table().and_then(|t| str_at(t, "name")))
        .map(|name| Ecosystem::Pypi.normalize_name(name))
        .collect()
}

fn name_and_version(package: &Table) -> (&str, &str) {
    (
        str_at(package, "name").unwrap_or_default(),
        str_at(package, "version").unwrap_or_default(),
    )
}

fn mark_local(dependency: ParsedDependency, local: bool) -> ParsedDependency {
    if local {
        dependency.local()
    } else {
        dependency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, Option<&str>, DependencyKind, bool)> {
        deps.iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.resolved_version.as_deref(),
                    d.kind,
                    d.local,
                )
            })
            .collect()
    }

    #[test]
    fn poetry_groups_and_categories_give_kinds() {
        let text = r#"
[[package]]
name = "django"
version = "3.2.25"
optional = false
groups = ["main"]

[[package]]
name = "typing-extensions"
version = "4.7.1"
groups = ["main", "dev"]

[[package]]
name = "pytest"
version = "5.4.3"
category = "dev"

[[package]]
name = "mysqlclient"
version = "2.2.0"
optional = true
groups = ["main"]

[[package]]
name = "mylib"
version = "0.1.0"
groups = ["main"]
[package.source]
type = "directory"
url = "../mylib"

[metadata]
lock-version = "2.0"
"#;
        let deps = parse_poetry(text).unwrap();
        assert_eq!(
            summary(&deps),
            vec![
                ("django", Some("3.2.25"), DependencyKind::Runtime, false),
                (
                    "typing-extensions",
                    Some("4.7.1"),
                    DependencyKind::Runtime,
                    false
                ),
                (
                    "typing-extensions",
                    Some("4.7.1"),
                    DependencyKind::Development,
                    false
                ),
                ("pytest", Some("5.4.3"), DependencyKind::Development, false),
                (
                    "mysqlclient",
                    Some("2.2.0"),
                    DependencyKind::Optional,
                    false
                ),
                ("mylib", Some("0.1.0"), DependencyKind::Runtime, true),
            ]
        );
        assert_eq!(deps[0].requirement, "3.2.25");
    }

    #[test]
    fn pdm_groups_give_kinds() {
        let text = r#"
[metadata]
groups = ["default", "dev"]
[[package]]
name = "requests"
version = "2.31.0"
groups = ["default"]
[[package]]
name = "pytest"
version = "8.0.0"
groups = ["dev"]
"#;
        assert_eq!(
            summary(&parse_pdm(text).unwrap()),
            vec![
                ("requests", Some("2.31.0"), DependencyKind::Runtime, false),
                ("pytest", Some("8.0.0"), DependencyKind::Development, false),
            ]
        );
    }

    #[test]
    fn pylock_packages_and_local_archives() {
        let text = r#"
lock-version = "1.0"
created-by = "pip"
[[packages]]
name = "blinker"
version = "1.9.0"
[[packages]]
name = "urllib3"
[packages.archive]
url = "file:///home/me/urllib3-2.5.0-py3-none-any.whl"
"#;
        assert_eq!(
            summary(&parse_pylock(text).unwrap()),
            vec![
                ("blinker", Some("1.9.0"), DependencyKind::Runtime, false),
                ("urllib3", None, DependencyKind::Runtime, true),
            ]
        );
    }

    #[test]
    fn uv_skips_the_project_and_follows_the_graph() {
        let text = r#"
version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]
[package.optional-dependencies]
cli = [{ name = "rich" }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "rich"
version = "13.9.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.3.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }, { name = "pluggy" }]

[[package]]
name = "pluggy"
version = "1.5.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "shared"
version = "0.2.0"
source = { directory = "../shared" }
"#;
        let deps = parse_uv(text).unwrap();
        let got: Vec<_> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.kind, d.direct, d.local))
            .collect();
        assert_eq!(
            got,
            vec![
                ("requests", DependencyKind::Runtime, Some(true), false),
                ("idna", DependencyKind::Runtime, Some(false), false),
                ("rich", DependencyKind::Optional, Some(true), false),
                ("pytest", DependencyKind::Development, Some(true), false),
                ("pluggy", DependencyKind::Development, Some(false), false),
                ("shared", DependencyKind::Runtime, Some(false), true),
            ]
        );
        assert_eq!(deps[0].resolved_version.as_deref(), Some("2.32.3"));
    }

    #[test]
    fn malformed_lockfiles_are_errors() {
        let err = parse_poetry("package = 3\n").unwrap_err();
        assert!(
            err.to_string().contains("expected an array at `package`"),
            "{err}"
        );
        let err = parse_uv("[[package]]\nversion = \"1\"\n").unwrap_err();
        assert!(err.to_string().contains("`name`"), "{err}");
        let err = parse_pylock("[project]\nname = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("not a pylock.toml"), "{err}");
        assert!(parse_poetry("[tool.poetry]\nname = \"x\"\n").is_err());
    }
}
