//! setuptools' `setup.cfg` (INI) and `setup.py` (Python source, read with a tokenizer: wump
//! never runs the project's code, so only literal lists of strings are understood).

use std::collections::HashSet;

use super::{ParsedDependency, pep508};
use wump_core::DependencyKind;

/// Which setuptools keyword declares dependencies of which kind; `extras_require` maps extra
/// names to lists and is handled apart.
fn keyword_kind(keyword: &str) -> Option<DependencyKind> {
    match keyword {
        "install_requires" => Some(DependencyKind::Runtime),
        "tests_require" => Some(DependencyKind::Test),
        "setup_requires" => Some(DependencyKind::Build),
        _ => None,
    }
}

const EXTRAS: &str = "extras_require";

/// Real setup.py files name each keyword once or twice.
const MAX_KEYWORDS: usize = 64;

/// `[options]` install_requires / tests_require / setup_requires and
/// `[options.extras_require]`. Values are "dangling lists", one requirement per line.
pub(super) fn parse_cfg(text: &str) -> Vec<ParsedDependency> {
    let mut deps = Vec::new();
    for entry in ini_entries(text) {
        let kind = match entry.section.as_str() {
            "options" => keyword_kind(&entry.key),
            "options.extras_require" => Some(DependencyKind::Optional),
            _ => None,
        };
        if let Some(kind) = kind {
            let lines = entry.value.lines().map(str::trim).filter(|l| !l.is_empty());
            deps.extend(lines.filter_map(|line| pep508::dependency(line, kind)));
        }
    }
    deps
}

/// One `key = value` of an INI file, with its continuation lines.
struct IniEntry {
    section: String,
    key: String,
    value: String,
}

/// configparser's rules: `[section]` headers, `key = value` or `key: value`, indented lines
/// continue the previous value, `#` and `;` start comment lines.
fn ini_entries(text: &str) -> Vec<IniEntry> {
    let mut entries: Vec<IniEntry> = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        let uncommented = trimmed.split(" #").next().unwrap_or(trimmed).trim();
        if line.starts_with([' ', '\t']) {
            if let Some(last) = entries.last_mut() {
                last.value.push('\n');
                last.value.push_str(uncommented);
            }
        } else if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = header.trim().to_owned();
        } else if let Some((key, value)) = uncommented.split_once(['=', ':']) {
            let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
            entries.push(IniEntry {
                section: section.clone(),
                key,
                value,
            });
        }
    }
    entries
}

/// `install_requires=[...]`, `tests_require=[...]`, `setup_requires=[...]` and
/// `extras_require={"extra": [...]}` in a call to `setup()`. A keyword bound to a variable
/// (`install_requires=requirements`) is followed to the variable's literal assignment.
pub(super) fn parse_py(text: &str) -> Vec<ParsedDependency> {
    let tokens = tokenize(text);
    let mut deps = Vec::new();
    let keywords = tokens
        .windows(2)
        .enumerate()
        .filter_map(|(at, window)| match window {
            [Token::Ident(keyword), Token::Punct(b'=' | b':')] => Some((at, *keyword)),
            _ => None,
        });
    let relevant = keywords.filter(|(_, k)| keyword_kind(k).is_some() || *k == EXTRAS);
    // `install_requires = [...]` and later `setup(install_requires=install_requires)` name
    // one list: read each literal once.
    let mut seen = HashSet::new();
    // Each occurrence scans forward (and maybe back) once; a cap keeps crafted files linear.
    for (at, keyword) in relevant.take(MAX_KEYWORDS) {
        let value = resolve_variable(&tokens, at + 2);
        if !seen.insert(value) {
            continue;
        }
        let (kind, strings) = match keyword_kind(keyword) {
            Some(kind) => (kind, list_strings(&tokens, value)),
            None => (DependencyKind::Optional, extras_strings(&tokens, value)),
        };
        deps.extend(strings.iter().filter_map(|s| pep508::dependency(s, kind)));
    }
    deps
}

/// The strings of the list or tuple literal at `at`.
fn list_strings<'a>(tokens: &'a [Token<'a>], at: usize) -> Vec<&'a str> {
    match tokens.get(at) {
        Some(Token::Punct(b'[' | b'(')) => literal_strings(tokens, at).0,
        _ => Vec::new(),
    }
}

/// When the value at `at` is a bare name, the position of the value last assigned to it
/// (`requirements = [...]`, `extras = dict(...)`) before it; otherwise `at` itself.
fn resolve_variable(tokens: &[Token], at: usize) -> usize {
    let Some(Token::Ident(name)) = tokens.get(at) else {
        return at;
    };
    let assignment = tokens.get(..at).and_then(|before| {
        before.windows(3).rposition(|w| {
            let literal = matches!(
                w.get(2),
                Some(Token::Punct(b'[' | b'(' | b'{') | Token::Ident("dict"))
            );
            matches!(w, [Token::Ident(n), Token::Punct(b'='), _] if n == name) && literal
        })
    });
    assignment.map_or(at, |start| start + 2)
}

/// The string tokens inside the bracketed literal opening at `open`, and the position after
/// its closing bracket. Nested brackets are included (a list of tuples still lists strings).
fn literal_strings<'a>(tokens: &'a [Token<'a>], open: usize) -> (Vec<&'a str>, usize) {
    let mut depth = 0usize;
    let mut strings = Vec::new();
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct(b'[' | b'(' | b'{') => depth += 1,
            Token::Punct(b']' | b')' | b'}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (strings, i + 1);
                }
            }
            Token::Str(s) => strings.push(*s),
            _ => {}
        }
    }
    (strings, tokens.len())
}

/// The requirement strings of `{"extra": [...], ...}` or `dict(extra=[...])`: every string
/// inside a value list, never the keys.
fn extras_strings<'a>(tokens: &'a [Token<'a>], at: usize) -> Vec<&'a str> {
    let open = match (tokens.get(at), tokens.get(at + 1)) {
        (Some(Token::Punct(b'{')), _) => at,
        (Some(Token::Ident("dict")), Some(Token::Punct(b'('))) => at + 1,
        _ => return Vec::new(),
    };
    let (_, end) = literal_strings(tokens, open);
    let mut strings = Vec::new();
    let mut i = open + 1;
    while i < end {
        match tokens.get(i) {
            Some(Token::Punct(b'[' | b'(')) => {
                let (list, after) = literal_strings(tokens, i);
                strings.extend(list);
                i = after;
            }
            _ => i += 1,
        }
    }
    strings
}

/// The Python tokens that matter here; numbers and operators other than brackets, `=`, `:`
/// and `,` become [`Token::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    /// A string literal's contents, escapes left as written.
    Str(&'a str),
    Punct(u8),
    Other,
}

/// A single pass over the source: every byte is looked at a bounded number of times.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => i = find_byte(bytes, i, b'\n'),
            b'\'' | b'"' => {
                let (contents, next) = string_literal(text, i);
                tokens.push(Token::Str(contents));
                i = next;
            }
            b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'=' | b':' | b',' => {
                let doubled = matches!(bytes.get(i + 1), Some(b'='));
                tokens.push(if doubled {
                    Token::Other
                } else {
                    Token::Punct(b)
                });
                i += if doubled { 2 } else { 1 };
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                let end = (i..bytes.len())
                    .find(|&j| {
                        bytes
                            .get(j)
                            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    })
                    .unwrap_or(bytes.len());
                let prefixed_string = end - i <= 2 && matches!(bytes.get(end), Some(b'\'' | b'"'));
                if !prefixed_string {
                    tokens.push(Token::Ident(text.get(i..end).unwrap_or_default()));
                }
                i = end;
            }
            _ if b.is_ascii_whitespace() => i += 1,
            _ => {
                tokens.push(Token::Other);
                i += 1;
            }
        }
    }
    tokens
}

/// The first position of `needle` at or after `from`, or the end.
fn find_byte(bytes: &[u8], from: usize, needle: u8) -> usize {
    (from..bytes.len())
        .find(|&j| bytes.get(j) == Some(&needle))
        .unwrap_or(bytes.len())
}

/// A string literal starting at `start` (single or triple quoted): its contents and the
/// position after it. An unterminated string runs to the end of its line (or file).
fn string_literal(text: &str, start: usize) -> (&str, usize) {
    let bytes = text.as_bytes();
    let Some(&quote) = bytes.get(start) else {
        return ("", start + 1);
    };
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let open = if triple { start + 3 } else { start + 1 };
    let mut i = open;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            i += 2;
        } else if b == b'\n' && !triple {
            break;
        } else if b == quote && (!triple || bytes.get(i..i + 3) == Some(&[quote, quote, quote][..]))
        {
            let next = if triple { i + 3 } else { i + 1 };
            return (text.get(open..i).unwrap_or_default(), next);
        } else {
            i += 1;
        }
    }
    let end = i.min(bytes.len());
    (text.get(open..end).unwrap_or_default(), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(deps: Vec<ParsedDependency>) -> Vec<(String, String, DependencyKind)> {
        deps.into_iter()
            .map(|d| (d.name, d.requirement, d.kind))
            .collect()
    }

    fn entry(
        name: &str,
        requirement: &str,
        kind: DependencyKind,
    ) -> (String, String, DependencyKind) {
        (name.into(), requirement.into(), kind)
    }

    #[test]
    fn setup_cfg_options_and_extras() {
        let text = "[metadata]\nname = example\n\n[options]\npython_requires = >=3.8\n\
                    install_requires =\n    requests>=2.0\n    importlib-metadata; python_version<\"3.8\"\n\
                    tests_require = pytest\nsetup_requires =\n    setuptools_scm\n\n\
                    [options.extras_require]\npdf = ReportLab>=1.2\n    RXP\n";
        assert_eq!(
            summary(parse_cfg(text)),
            vec![
                entry("requests", ">=2.0", DependencyKind::Runtime),
                entry("importlib-metadata", "", DependencyKind::Runtime),
                entry("pytest", "", DependencyKind::Test),
                entry("setuptools_scm", "", DependencyKind::Build),
                entry("ReportLab", ">=1.2", DependencyKind::Optional),
                entry("RXP", "", DependencyKind::Optional),
            ]
        );
    }

    #[test]
    fn setup_cfg_comments_are_not_requirements() {
        let text =
            "[options]\ninstall_requires =\n    # the web framework\n    flask  # pinned below\n";
        assert_eq!(
            summary(parse_cfg(text)),
            vec![entry("flask", "", DependencyKind::Runtime)]
        );
    }

    #[test]
    fn setup_py_keyword_lists() {
        let text = r#"
from setuptools import setup
setup(
    name="example",
    install_requires=[
        # -*- Install requires: -*-
        'django>=1.8,<1.9',
        "lesscpy",
    ],
    tests_require=("pytest",),
    setup_requires=['setuptools_scm'],
    extras_require={
        'testing': ['flake8', "pytest-cov>=2"],
        "docs": ["sphinx"],
    },
)
"#;
        assert_eq!(
            summary(parse_py(text)),
            vec![
                entry("django", ">=1.8,<1.9", DependencyKind::Runtime),
                entry("lesscpy", "", DependencyKind::Runtime),
                entry("pytest", "", DependencyKind::Test),
                entry("setuptools_scm", "", DependencyKind::Build),
                entry("flake8", "", DependencyKind::Optional),
                entry("pytest-cov", ">=2", DependencyKind::Optional),
                entry("sphinx", "", DependencyKind::Optional),
            ]
        );
    }

    #[test]
    fn setup_py_follows_a_variable_to_its_literal() {
        let text = "REQUIRES = ['click>=7', 'rich']\nEXTRAS = dict(dev=['black'])\n\
                    setup(install_requires=REQUIRES, extras_require=EXTRAS)\n";
        assert_eq!(
            summary(parse_py(text)),
            vec![
                entry("click", ">=7", DependencyKind::Runtime),
                entry("rich", "", DependencyKind::Runtime),
                entry("black", "", DependencyKind::Optional),
            ]
        );
    }

    #[test]
    fn setup_py_reads_a_list_named_like_the_keyword_once() {
        let text = "install_requires = ['click']\nsetup(install_requires=install_requires)\n";
        assert_eq!(
            summary(parse_py(text)),
            vec![entry("click", "", DependencyKind::Runtime)]
        );
    }

    #[test]
    fn setup_py_strings_elsewhere_are_ignored() {
        let text = "long_description = '''install_requires=['nope']'''\n\
                    setup(name='x', install_requires=[r'a==1', f\"b\"], description=\"c==2\")\n";
        assert_eq!(
            summary(parse_py(text)),
            vec![
                entry("a", "==1", DependencyKind::Runtime),
                entry("b", "", DependencyKind::Runtime)
            ]
        );
    }

    #[test]
    fn setup_py_unterminated_input_does_not_panic() {
        for text in [
            "install_requires=['a",
            "install_requires=[",
            "'''",
            "extras_require={'a': [",
            "\\",
        ] {
            let _ = parse_py(text);
        }
    }
}
