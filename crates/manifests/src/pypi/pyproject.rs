//! `pyproject.toml`: PEP 621 `[project]`, PEP 735 `[dependency-groups]`, PEP 518
//! `[build-system]`, and the tool tables of Poetry, PDM and uv.

use std::collections::HashSet;

use toml::{Table, Value};

use super::{
    Format, ManifestError, ParsedDependency, array, dep, git_requirement, group_kind, parse_toml,
    pep508_list, str_at, table, unpinned,
};
use wump_core::{DependencyKind, Ecosystem};

const FORMAT: Format = Format::Pyproject;

/// Every dependency the file declares, section by section.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let document = parse_toml(FORMAT, text)?;
    if matches!(document.get("package"), Some(Value::Array(_))) {
        let message = "top-level `[[package]]` entries: this is a lockfile, not pyproject.toml";
        return Err(ManifestError::syntax(FORMAT, message));
    }
    let mut deps = project(&document)?;
    deps.extend(dependency_groups(&document)?);
    deps.extend(build_system(&document)?);
    if let Some(tool) = table(FORMAT, &document, "tool", "tool")? {
        let declared: HashSet<String> = deps.iter().map(|d| d.normalized_name.clone()).collect();
        deps.extend(poetry(tool, &declared)?);
        deps.extend(pdm(tool)?);
        deps.extend(uv(tool)?);
        let local = uv_local_sources(tool)?;
        for dep in deps
            .iter_mut()
            .filter(|d| local.contains(&d.normalized_name))
        {
            dep.local = true;
        }
    }
    // `all = ["myproj[a,b]"]` selects the project's own extras: the project itself.
    if let Some(own) = own_name(&document) {
        deps.retain(|d| d.normalized_name != own);
    }
    Ok(deps)
}

/// The project's own name, normalized: PEP 621 `[project] name`, else Poetry's.
fn own_name(document: &Table) -> Option<String> {
    let project = document.get("project").and_then(Value::as_table);
    let poetry = document
        .get("tool")
        .and_then(|tool| tool.get("poetry"))
        .and_then(Value::as_table);
    let name = project
        .and_then(|p| str_at(p, "name"))
        .or_else(|| poetry.and_then(|p| str_at(p, "name")))?;
    Some(Ecosystem::Pypi.normalize_name(name.trim()))
}

/// Names `[tool.uv.sources]` points at a workspace member (`workspace = true`) or a
/// directory (`path = …`): part of the repository, like other path dependencies. A list of
/// sources (one per marker) is local only when every one is.
fn uv_local_sources(tool: &Table) -> Result<HashSet<String>, ManifestError> {
    let Some(uv) = tool.get("uv").and_then(Value::as_table) else {
        return Ok(HashSet::new());
    };
    let Some(sources) = table(FORMAT, uv, "sources", "tool.uv.sources")? else {
        return Ok(HashSet::new());
    };
    let is_local = |source: &Value| {
        source.as_table().is_some_and(|source| {
            source.get("workspace").and_then(Value::as_bool) == Some(true)
                || source.contains_key("path")
        })
    };
    Ok(sources
        .iter()
        .filter(|(_, source)| match source {
            Value::Array(list) => !list.is_empty() && list.iter().all(is_local),
            other => is_local(other),
        })
        .map(|(name, _)| Ecosystem::Pypi.normalize_name(name))
        .collect())
}

/// PEP 621: `dependencies` are runtime, every extra in `optional-dependencies` optional.
fn project(document: &Table) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Some(project) = table(FORMAT, document, "project", "project")? else {
        return Ok(Vec::new());
    };
    let mut deps = Vec::new();
    if let Some(list) = array(FORMAT, project, "dependencies", "project.dependencies")? {
        deps.extend(pep508_list(list, DependencyKind::Runtime));
    }
    let optional = "project.optional-dependencies";
    if let Some(extras) = table(FORMAT, project, "optional-dependencies", optional)? {
        deps.extend(groups_of_lists(extras, optional, |_| {
            DependencyKind::Optional
        })?);
    }
    Ok(deps)
}

/// PEP 735 groups; `{include-group = "…"}` entries point at another group, not a package.
fn dependency_groups(document: &Table) -> Result<Vec<ParsedDependency>, ManifestError> {
    match table(FORMAT, document, "dependency-groups", "dependency-groups")? {
        Some(groups) => groups_of_lists(groups, "dependency-groups", group_kind),
        None => Ok(Vec::new()),
    }
}

/// A table of named arrays of PEP 508 strings, each name giving the kind.
fn groups_of_lists(
    groups: &Table,
    path: &str,
    kind_of: impl Fn(&str) -> DependencyKind,
) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut deps = Vec::new();
    for (group, list) in groups {
        let Value::Array(list) = list else {
            let message = format!("expected an array at `{path}.{group}`");
            return Err(ManifestError::syntax(FORMAT, message));
        };
        deps.extend(pep508_list(list, kind_of(group)));
    }
    Ok(deps)
}

/// PEP 518: what the build backend needs.
fn build_system(document: &Table) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Some(build) = table(FORMAT, document, "build-system", "build-system")? else {
        return Ok(Vec::new());
    };
    let requires = array(FORMAT, build, "requires", "build-system.requires")?.unwrap_or_default();
    Ok(pep508_list(requires, DependencyKind::Build).collect())
}

/// Poetry: `dependencies` (without `python`, the interpreter), the pre-1.2
/// `dev-dependencies`, and `group.<name>.dependencies`. With a PEP 621 `[project]` (Poetry
/// 2), `tool.poetry.dependencies` only adds detail to packages declared there already.
fn poetry(
    tool: &Table,
    declared: &HashSet<String>,
) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Some(poetry) = table(FORMAT, tool, "poetry", "tool.poetry")? else {
        return Ok(Vec::new());
    };
    let mut deps = Vec::new();
    let main = "tool.poetry.dependencies";
    if let Some(table) = table(FORMAT, poetry, "dependencies", main)? {
        let entries = table.iter().filter(|(name, _)| {
            name.as_str() != "python" && !declared.contains(&Ecosystem::Pypi.normalize_name(name))
        });
        for (name, spec) in entries {
            deps.extend(poetry_entry(name, spec, DependencyKind::Runtime));
        }
    }
    let dev = "tool.poetry.dev-dependencies";
    if let Some(table) = table(FORMAT, poetry, "dev-dependencies", dev)? {
        deps.extend(poetry_table(table, DependencyKind::Development));
    }
    if let Some(groups) = table(FORMAT, poetry, "group", "tool.poetry.group")? {
        for (group, body) in groups {
            let Value::Table(body) = body else {
                let message = format!("expected a table at `tool.poetry.group.{group}`");
                return Err(ManifestError::syntax(FORMAT, message));
            };
            let path = format!("tool.poetry.group.{group}.dependencies");
            if let Some(table) = table(FORMAT, body, "dependencies", &path)? {
                deps.extend(poetry_table(table, group_kind(group)));
            }
        }
    }
    Ok(deps)
}

fn poetry_table(table: &Table, kind: DependencyKind) -> Vec<ParsedDependency> {
    let entries = table.iter().filter(|(name, _)| name.as_str() != "python");
    entries
        .flat_map(|(name, spec)| poetry_entry(name, spec, kind))
        .collect()
}

/// A string constraint, a table, or a list of tables ("multiple constraints", one per
/// Python version or platform): one entry per constraint.
fn poetry_entry(name: &str, spec: &Value, kind: DependencyKind) -> Vec<ParsedDependency> {
    match spec {
        Value::String(constraint) => vec![dep(name, unpinned(constraint), kind)],
        Value::Table(table) => vec![poetry_constraint(name, table, kind)],
        Value::Array(constraints) => constraints
            .iter()
            .filter_map(Value::as_table)
            .map(|table| poetry_constraint(name, table, kind))
            .collect(),
        _ => Vec::new(),
    }
}

/// `{ version = … }`, `{ git = …, tag|branch|rev = … }`, `{ path = … }` or `{ url = … }`;
/// `optional = true` in the main dependencies makes it an extra.
fn poetry_constraint(name: &str, table: &Table, kind: DependencyKind) -> ParsedDependency {
    let optional = table.get("optional").and_then(Value::as_bool) == Some(true);
    let kind = if optional && kind == DependencyKind::Runtime {
        DependencyKind::Optional
    } else {
        kind
    };
    if let Some(git) = str_at(table, "git") {
        let reference = ["tag", "branch", "rev"]
            .iter()
            .find_map(|key| str_at(table, key));
        return dep(name, &git_requirement(git, reference), kind);
    }
    if str_at(table, "path").is_some() || str_at(table, "url").is_some() {
        return dep(name, "", kind).local();
    }
    dep(
        name,
        unpinned(str_at(table, "version").unwrap_or_default()),
        kind,
    )
}

/// PDM's development groups, `[tool.pdm.dev-dependencies]` (before PEP 735).
fn pdm(tool: &Table) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Some(pdm) = table(FORMAT, tool, "pdm", "tool.pdm")? else {
        return Ok(Vec::new());
    };
    match table(FORMAT, pdm, "dev-dependencies", "tool.pdm.dev-dependencies")? {
        Some(groups) => groups_of_lists(groups, "tool.pdm.dev-dependencies", group_kind),
        None => Ok(Vec::new()),
    }
}

/// uv's `[tool.uv] dev-dependencies` list (before PEP 735).
fn uv(tool: &Table) -> Result<Vec<ParsedDependency>, ManifestError> {
    let Some(uv) = table(FORMAT, tool, "uv", "tool.uv")? else {
        return Ok(Vec::new());
    };
    let list = array(FORMAT, uv, "dev-dependencies", "tool.uv.dev-dependencies")?;
    Ok(pep508_list(list.unwrap_or_default(), DependencyKind::Development).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn entry(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
    ) -> (String, String, DependencyKind, bool) {
        (name.into(), requirement.into(), kind, false)
    }

    #[test]
    fn pep_621_dependencies_and_extras() {
        let text = r#"
[project]
name = "spam-eggs"
dependencies = ["httpx", "gidgethub[httpx]>4.0.0", "django>2.1; os_name != 'nt'"]
[project.optional-dependencies]
cli = ["rich", "click"]
"#;
        assert_eq!(
            summary(text),
            vec![
                entry("httpx", "", DependencyKind::Runtime),
                entry("gidgethub", ">4.0.0", DependencyKind::Runtime),
                entry("django", ">2.1", DependencyKind::Runtime),
                entry("rich", "", DependencyKind::Optional),
                entry("click", "", DependencyKind::Optional),
            ]
        );
    }

    #[test]
    fn the_project_listing_its_own_extras_is_not_a_dependency() {
        let text = r#"
[project]
name = "My_Proj"
dependencies = ["httpx"]
[project.optional-dependencies]
cli = ["rich"]
all = ["my-proj[cli]"]
[dependency-groups]
dev = ["my.proj[cli]", "pytest"]
"#;
        assert_eq!(
            summary(text),
            vec![
                entry("httpx", "", DependencyKind::Runtime),
                entry("rich", "", DependencyKind::Optional),
                entry("pytest", "", DependencyKind::Development),
            ]
        );
        let poetry = "[tool.poetry]\nname = \"tool\"\n[tool.poetry.group.dev.dependencies]\ntool = { path = \".\", extras = [\"x\"] }\nblack = \"*\"\n";
        assert_eq!(
            summary(poetry),
            vec![entry("black", "", DependencyKind::Development)]
        );
    }

    #[test]
    fn uv_workspace_and_path_sources_are_local() {
        let text = r#"
[project]
name = "app"
dependencies = ["core", "plugin>=1", "httpx", "torch"]
[tool.uv.sources]
core = { workspace = true }
plugin = { path = "../plugin", editable = true }
httpx = { git = "https://github.com/encode/httpx" }
torch = [{ path = "wheels/torch.whl", marker = "sys_platform == 'linux'" }, { index = "pytorch" }]
"#;
        let local: Vec<_> = summary(text).into_iter().map(|d| (d.0, d.3)).collect();
        assert_eq!(
            local,
            [
                ("core".to_owned(), true),
                ("plugin".to_owned(), true),
                ("httpx".to_owned(), false),
                ("torch".to_owned(), false),
            ]
        );
    }

    #[test]
    fn pep_735_groups_skip_includes() {
        let text = r#"
[dependency-groups]
coverage = ["coverage[toml]"]
test = ["pytest>7", {include-group = "coverage"}]
"#;
        assert_eq!(
            summary(text),
            vec![
                entry("coverage", "", DependencyKind::Development),
                entry("pytest", ">7", DependencyKind::Test),
            ]
        );
    }

    #[test]
    fn build_system_requires_are_build_dependencies() {
        let text = "[build-system]\nrequires = [\"setuptools>=61\", \"wheel\"]\n";
        assert_eq!(
            summary(text),
            vec![
                entry("setuptools", ">=61", DependencyKind::Build),
                entry("wheel", "", DependencyKind::Build)
            ]
        );
    }

    #[test]
    fn poetry_sections_and_python_is_not_a_package() {
        let text = r#"
[tool.poetry.dependencies]
python = "^3.8"
requests = "^2.13.0"
[tool.poetry.dev-dependencies]
pytest = "*"
[tool.poetry.group.docs.dependencies]
mkdocs = "*"
[tool.poetry.group.test.dependencies]
pytest-mock = "*"
"#;
        assert_eq!(
            summary(text),
            vec![
                entry("requests", "^2.13.0", DependencyKind::Runtime),
                entry("pytest", "", DependencyKind::Development),
                entry("mkdocs", "", DependencyKind::Development),
                entry("pytest-mock", "", DependencyKind::Test),
            ]
        );
    }

    #[test]
    fn poetry_multiple_constraints_give_one_entry_each() {
        let text = r#"
[tool.poetry.dependencies]
foo = [
    {version = "<=1.9", python = ">=3.6,<3.8"},
    {version = "^2.0", python = ">=3.8"},
    {git = "https://github.com/org/foo.git", tag = "v2.1"},
]
"#;
        assert_eq!(
            summary(text),
            vec![
                entry("foo", "<=1.9", DependencyKind::Runtime),
                entry("foo", "^2.0", DependencyKind::Runtime),
                entry(
                    "foo",
                    "https://github.com/org/foo.git#v2.1",
                    DependencyKind::Runtime
                ),
            ]
        );
    }

    #[test]
    fn poetry_path_deps_are_local_and_optional_ones_optional() {
        let text = r#"
[tool.poetry.dependencies]
my-package = { path = "../my-package/", develop = true }
mysqlclient = { version = "^1.3", optional = true }
"#;
        assert_eq!(
            summary(text),
            vec![
                (
                    "my-package".into(),
                    "".into(),
                    DependencyKind::Runtime,
                    true
                ),
                entry("mysqlclient", "^1.3", DependencyKind::Optional),
            ]
        );
    }

    #[test]
    fn poetry_2_details_do_not_duplicate_project_dependencies() {
        let text = r#"
[project]
dependencies = ["requests (>=2.32)"]
[tool.poetry.dependencies]
requests = { source = "private" }
"#;
        assert_eq!(
            summary(text),
            vec![entry("requests", ">=2.32", DependencyKind::Runtime)]
        );
    }

    #[test]
    fn a_pyproject_without_dependencies_declares_nothing() {
        assert_eq!(summary("[tool.black]\nline-length = 100\n"), vec![]);
    }

    #[test]
    fn wrong_types_and_lockfiles_are_errors() {
        let err = parse("[project]\ndependencies = \"requests\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an array at `project.dependencies`"),
            "{err}"
        );
        let err = parse("[[package]]\nname = \"requests\"\nversion = \"2.0\"\n").unwrap_err();
        assert!(err.to_string().contains("lockfile"), "{err}");
    }
}
