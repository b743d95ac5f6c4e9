//! pip requirements files (`requirements*.txt`, `requirements/*.txt`, `.in`, `.frozen`).
//!
//! pip reads them line by line, so a line it could not read is skipped rather than failing
//! the whole file: one odd line should not hide the rest of the project's dependencies.

use super::{ParsedDependency, dep, has_word_starting, pep508};
use wump_core::DependencyKind;

/// Every requirement line of a requirements file; the kind comes from the file's name.
pub(super) fn parse(path: &str, text: &str) -> Vec<ParsedDependency> {
    let kind = kind_from_path(path);
    logical_lines(text)
        .filter_map(|line| requirement_line(&line, kind))
        .collect()
}

/// `requirements-dev.txt` holds development dependencies, `requirements/test.txt` test ones
/// (a word of the file name starting with `dev` or `test`: not `requirements-latest.txt`).
fn kind_from_path(path: &str) -> DependencyKind {
    let file = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    if has_word_starting(&file, "dev") {
        DependencyKind::Development
    } else if has_word_starting(&file, "test") {
        DependencyKind::Test
    } else {
        DependencyKind::Runtime
    }
}

/// Lines with `\` continuations joined and comments removed (pip: a `#` at the start of a
/// line or after whitespace starts a comment).
fn logical_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut physical = text.lines();
    std::iter::from_fn(move || {
        let mut line = String::new();
        loop {
            let next = physical.next()?;
            match next.strip_suffix('\\') {
                Some(continued) => line.push_str(continued),
                None => {
                    line.push_str(next);
                    return Some(strip_comment(&line).trim().to_owned());
                }
            }
        }
    })
    .filter(|line| !line.is_empty())
}

fn strip_comment(line: &str) -> &str {
    if line.starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(at) => line.get(..at).unwrap_or(line),
        None => line,
    }
}

/// One logical line: a requirement, an editable or URL requirement, a local path, or an
/// option (`-r`, `-c`, `--index-url`, …) that names no package.
fn requirement_line(line: &str, kind: DependencyKind) -> Option<ParsedDependency> {
    let line = strip_per_requirement_options(line);
    if let Some(target) = editable_target(line) {
        return reference(strip_per_requirement_options(target), kind, true);
    }
    if line.starts_with('-') {
        return None;
    }
    if is_url(line) || is_local_path(line) {
        return reference(line, kind, false);
    }
    pep508::dependency(line, kind)
}

/// `--hash=…` and similar options may follow a requirement on the same line.
fn strip_per_requirement_options(line: &str) -> &str {
    match line.find(" --").or_else(|| line.find("\t--")) {
        Some(at) if !line.starts_with('-') => line.get(..at).unwrap_or(line).trim_end(),
        _ => line,
    }
}

/// The target of `-e TARGET` / `--editable TARGET` / `--editable=TARGET`.
fn editable_target(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("--editable")
        .or_else(|| line.strip_prefix("-e"))?;
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    rest.starts_with(char::is_whitespace)
        .then_some(rest.trim())
        .or_else(|| line.starts_with("--editable=").then_some(rest.trim()))
        .filter(|target| !target.is_empty())
}

/// A VCS or archive URL, or a local path (any editable target that is not a URL). VCS and
/// remote archives name their package with `#egg=name`; a local path is the project itself
/// (`.`, maybe with extras) or a local package.
fn reference(target: &str, kind: DependencyKind, editable: bool) -> Option<ParsedDependency> {
    if pep508::parse(target).is_some_and(|spec| spec.url) {
        return pep508::dependency(target, kind);
    }
    let egg = egg_name(target);
    if is_url(target) && !target.starts_with("file:") {
        return egg.map(|name| dep(name, target, kind));
    }
    let path = target.strip_prefix("file:").unwrap_or(target);
    let path = path
        .split(['#', '['])
        .next()
        .unwrap_or(path)
        .trim_end_matches('/');
    if !(editable || is_local_path(path)) || matches!(path, "." | "") {
        return None;
    }
    let name = egg.or_else(|| name_from_path(path))?;
    Some(dep(name, "", kind).local())
}

fn is_url(target: &str) -> bool {
    target.contains("://")
        || ["git+", "hg+", "svn+", "bzr+"]
            .iter()
            .any(|scheme| target.starts_with(scheme))
}

fn is_local_path(path: &str) -> bool {
    path.starts_with(['.', '/', '~'])
        || path.ends_with(".whl")
        || path.ends_with(".tar.gz")
        || path.ends_with(".zip")
}

/// `#egg=name` (optionally `name[extras]`) in a URL fragment.
fn egg_name(target: &str) -> Option<&str> {
    let (_, fragment) = target.split_once('#')?;
    let egg = fragment
        .split('&')
        .find_map(|part| part.strip_prefix("egg="))?;
    let name = egg.split('[').next().unwrap_or(egg).trim();
    pep508::parse(name)
        .map(|spec| spec.name)
        .filter(|n| !n.is_empty())
}

/// A wheel's or sdist's distribution name, or a directory's last component.
fn name_from_path(path: &str) -> Option<&str> {
    let last = path.rsplit('/').next().unwrap_or(path);
    let archive = [".whl", ".tar.gz", ".zip"]
        .iter()
        .any(|ext| last.ends_with(ext));
    let name = if archive {
        last.split('-').next().unwrap_or(last)
    } else {
        last
    };
    pep508::parse(name)
        .map(|spec| spec.name)
        .filter(|n| !n.is_empty() && *n != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(path: &str, text: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(path, text)
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn runtime(name: &str, requirement: &str) -> (String, String, DependencyKind, bool) {
        (
            name.into(),
            requirement.into(),
            DependencyKind::Runtime,
            false,
        )
    }

    #[test]
    fn requirement_specifiers_keep_name_and_version() {
        let text = "requests>=2.8.1\nDjango == 2.0beta1\nzope.component==4.2.2\n";
        assert_eq!(
            parsed("requirements.txt", text),
            vec![
                runtime("requests", ">=2.8.1"),
                runtime("Django", "== 2.0beta1"),
                runtime("zope.component", "==4.2.2")
            ]
        );
    }

    #[test]
    fn names_are_pep_503_normalised() {
        let deps = parse("requirements.txt", "Friendly_Bard==1.0\n");
        assert_eq!(deps[0].name, "Friendly_Bard");
        assert_eq!(deps[0].normalized_name, "friendly-bard");
    }

    #[test]
    fn kind_comes_from_the_file_name() {
        let kind = |path| parse(path, "pytest\n")[0].kind;
        assert_eq!(kind("requirements.txt"), DependencyKind::Runtime);
        assert_eq!(kind("requirements-dev.txt"), DependencyKind::Development);
        assert_eq!(kind("requirements/dev.in"), DependencyKind::Development);
        assert_eq!(kind("requirements/test.txt"), DependencyKind::Test);
        assert_eq!(kind("requirements.frozen"), DependencyKind::Runtime);
        assert_eq!(kind("test-requirements.txt"), DependencyKind::Test);
        assert_eq!(kind("requirements-latest.txt"), DependencyKind::Runtime);
    }

    #[test]
    fn comments_options_and_includes_are_skipped() {
        let text = "# comment\n-r base.txt\n-c constraints.txt\n--index-url https://example.org\n\
                    -i https://example.org/simple\nFlask==0.8 # awful comment\n#Jinja2==2.6\n";
        assert_eq!(
            parsed("requirements.txt", text),
            vec![runtime("Flask", "==0.8")]
        );
    }

    #[test]
    fn extras_markers_and_hashes_are_not_part_of_the_requirement() {
        let text = "urllib3[secure]==1.0.0\n\
                    exceptiongroup==1.0.0rc8 ; python_version < \"3.11\"\n\
                    six==1.16.0 \\\n    --hash=sha256:1e61c3\n";
        assert_eq!(
            parsed("requirements.txt", text),
            vec![
                runtime("urllib3", "==1.0.0"),
                runtime("exceptiongroup", "==1.0.0rc8"),
                runtime("six", "==1.16.0")
            ]
        );
    }

    #[test]
    fn vcs_urls_are_named_by_their_egg_and_keep_the_url() {
        let url = "git+https://github.com/pygame/pygame@2.1.2#egg=pygame";
        assert_eq!(
            parsed("requirements.txt", url),
            vec![runtime("pygame", url)]
        );
        let editable = "-e git+https://github.com/org/lib.git@v1#egg=lib[extra]";
        assert_eq!(
            parsed("requirements.txt", editable),
            vec![runtime(
                "lib",
                "git+https://github.com/org/lib.git@v1#egg=lib[extra]"
            )]
        );
    }

    #[test]
    fn the_project_itself_is_skipped_and_local_paths_are_local() {
        let text = "-e .\n-e .[dev]\n-e ./libs/common\n-e libs/extra[cli]\n\
                    ./dist/tool-1.0-py3-none-any.whl\n";
        assert_eq!(
            parsed("requirements.txt", text),
            vec![
                ("common".into(), "".into(), DependencyKind::Runtime, true),
                ("extra".into(), "".into(), DependencyKind::Runtime, true),
                ("tool".into(), "".into(), DependencyKind::Runtime, true)
            ]
        );
    }

    #[test]
    fn pep_508_direct_references_are_read() {
        let text = "pip @ https://github.com/pypa/pip/archive/22.0.zip\n";
        assert_eq!(
            parsed("requirements.txt", text),
            vec![runtime(
                "pip",
                "https://github.com/pypa/pip/archive/22.0.zip"
            )]
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "git://what@::/:/:/\nnot a requirement\nok==1\n";
        assert_eq!(parsed("requirements.txt", text), vec![runtime("ok", "==1")]);
    }
}
