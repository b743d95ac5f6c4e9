//! `bun.lock`: JSON with trailing commas (bun calls it JSONC).
//!
//! `workspaces` holds each project's declared dependencies; `packages` maps an install path
//! (`a`, or `a/b` for a copy nested under `a`) to `["name@version", registry, {deps}, integrity]`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    expect_object, is_local_spec, locked, locked_local, optional_object, parse_json, split_name,
};
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::DependencyKind;

const FORMAT: Format = Format::BunLock;

/// A workspace's sections, with the kind each gives the names it declares.
const SECTIONS: [(&str, DependencyKind); 4] = [
    ("dependencies", DependencyKind::Runtime),
    ("optionalDependencies", DependencyKind::Optional),
    ("peerDependencies", DependencyKind::Peer),
    ("devDependencies", DependencyKind::Development),
];

/// Parses a `bun.lock`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let root = parse_json(&strip_jsonc(text), FORMAT)?;
    let root = expect_object(&root, FORMAT, "the top level")?;
    let declared = declared_kinds(root)?;
    let mut dependencies = Vec::new();
    for (path, entry) in optional_object(root, "packages", FORMAT, "packages")?
        .into_iter()
        .flatten()
    {
        dependencies.extend(package(path, entry, &declared)?);
    }
    Ok(ParsedManifest {
        dependencies,
        funding: Vec::new(),
    })
}

/// Every kind the workspaces declare a name with (the install name, before any alias), in
/// the order first seen: a name declared twice with two kinds keeps both.
fn declared_kinds(
    root: &Map<String, Value>,
) -> Result<HashMap<String, Vec<DependencyKind>>, ManifestError> {
    let mut kinds: HashMap<String, Vec<DependencyKind>> = HashMap::new();
    for (path, workspace) in optional_object(root, "workspaces", FORMAT, "workspaces")?
        .into_iter()
        .flatten()
    {
        let workspace = expect_object(workspace, FORMAT, &format!("workspaces.{path}"))?;
        for (section, kind) in SECTIONS {
            let what = format!("workspaces.{path}.{section}");
            for name in optional_object(workspace, section, FORMAT, &what)?
                .into_iter()
                .flatten()
                .map(|(n, _)| n)
            {
                let at = kinds.entry(name.clone()).or_default();
                if !at.contains(&kind) {
                    at.push(kind);
                }
            }
        }
    }
    Ok(kinds)
}

/// One `packages` entry, once per kind the workspaces declare it with. Only top-level
/// installs can be direct; other entries are runtime because bun does not record which
/// are only needed for development.
fn package(
    path: &str,
    entry: &Value,
    declared: &HashMap<String, Vec<DependencyKind>>,
) -> Result<Vec<ParsedDependency>, ManifestError> {
    let descriptor = entry
        .as_array()
        .and_then(|fields| fields.first())
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ManifestError::syntax(
                FORMAT,
                format!("expected `[\"name@version\", …]` at `packages.{path}`"),
            )
        })?;
    let Some((name, spec)) = split_name(descriptor) else {
        return Err(ManifestError::syntax(
            FORMAT,
            format!("`{descriptor}` at `packages.{path}` is not `name@version`"),
        ));
    };
    let kinds = declared.get(path);
    let direct = Some(kinds.is_some());
    let kinds = kinds.map_or(&[DependencyKind::Runtime][..], Vec::as_slice);
    Ok(kinds
        .iter()
        .map(|&kind| {
            if is_local_spec(spec) {
                locked_local(name, spec, kind, direct)
            } else {
                locked(name, spec, kind, direct)
            }
        })
        .collect())
}

/// Makes bun's JSONC plain JSON: drops `//` and `/* */` comments and trailing commas,
/// in one pass that leaves strings untouched.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut pending_comma = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush_comma(&mut out, &mut pending_comma, c);
                out.push(c);
                copy_string(&mut chars, &mut out);
            }
            '/' if chars.peek() == Some(&'/') => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = '\0';
                for next in chars.by_ref() {
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
            }
            ',' => {
                flush_comma(&mut out, &mut pending_comma, c);
                pending_comma = true;
            }
            c if c.is_whitespace() => out.push(c),
            c => {
                flush_comma(&mut out, &mut pending_comma, c);
                out.push(c);
            }
        }
    }
    if pending_comma {
        out.push(',');
    }
    out
}

/// Writes a held-back comma unless `next` closes the object or array it trails in.
fn flush_comma(out: &mut String, pending: &mut bool, next: char) {
    if std::mem::take(pending) && next != '}' && next != ']' {
        out.push(',');
    }
}

/// Copies the rest of a string literal (after its opening quote), escapes included.
fn copy_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (String, String, DependencyKind, Option<bool>, bool);

    fn rows(text: &str) -> Vec<Row> {
        parse(text)
            .unwrap()
            .dependencies
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.direct, d.local))
            .collect()
    }

    fn row(name: &str, req: &str, kind: DependencyKind, direct: bool, local: bool) -> Row {
        (name.into(), req.into(), kind, Some(direct), local)
    }

    #[test]
    fn trailing_commas_and_comments_are_accepted_but_strings_are_untouched() {
        let json: Value = serde_json::from_str(&strip_jsonc(
            "{\"a\": [1, 2,], \"b\": \"x,}//y\", // c\n /* d */ }",
        ))
        .unwrap();
        assert_eq!(json, serde_json::json!({"a": [1, 2], "b": "x,}//y"}));
        assert_eq!(strip_jsonc(r#"{"s": "a\"b,]",}"#), r#"{"s": "a\"b,]"}"#);
    }

    #[test]
    fn packages_take_kind_and_directness_from_workspaces() {
        let text = r#"{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "app",
      "dependencies": { "my-zod": "npm:zod", "left": "file:../left", "shared": "workspace:*", },
      "devDependencies": { "@types/bun": "latest", },
      "optionalDependencies": { "lodash": "^4.17.21", },
      "peerDependencies": { "typescript": "^5.8.2", },
    },
  },
  "packages": {
    "@types/bun": ["@types/bun@1.2.5", "", { "dependencies": { "bun-types": "1.2.5" } }, "sha512-x"],
    "bun-types": ["bun-types@1.2.5", "", {}, "sha512-y"],
    "my-zod": ["zod@3.24.2", "", {}, "sha512-z"],
    "left": ["left@file:../left", {}],
    "shared": ["shared@workspace:packages/shared"],
    "lodash": ["lodash@4.17.21", "", {}, "sha512-w"],
    "typescript": ["typescript@5.8.2", "", {}, "sha512-v"],
    "lodash/dep": ["dep@github:o/dep#35bb1d9", {}, "o-dep-35bb1d9"],
  }
}"#;
        assert_eq!(
            rows(text),
            [
                row(
                    "@types/bun",
                    "1.2.5",
                    DependencyKind::Development,
                    true,
                    false
                ),
                row("bun-types", "1.2.5", DependencyKind::Runtime, false, false),
                row("left", "file:../left", DependencyKind::Runtime, true, true),
                row("lodash", "4.17.21", DependencyKind::Optional, true, false),
                row(
                    "dep",
                    "github:o/dep#35bb1d9",
                    DependencyKind::Runtime,
                    false,
                    false
                ),
                row("zod", "3.24.2", DependencyKind::Runtime, true, false),
                row(
                    "shared",
                    "workspace:packages/shared",
                    DependencyKind::Runtime,
                    true,
                    true
                ),
                row("typescript", "5.8.2", DependencyKind::Peer, true, false),
            ]
        );
    }

    #[test]
    fn a_name_declared_with_two_kinds_is_reported_with_both() {
        let text = r#"{"workspaces": {"": {"devDependencies": {"a": "1"}}, "pkg": {"dependencies": {"a": "1"}}},
                       "packages": {"a": ["a@1.0.0", "", {}, "sha"]}}"#;
        assert_eq!(
            rows(text),
            [
                row("a", "1.0.0", DependencyKind::Development, true, false),
                row("a", "1.0.0", DependencyKind::Runtime, true, false),
            ]
        );
    }

    #[test]
    fn malformed_entries_are_named() {
        let err = parse(r#"{"packages": {"a": "a@1.0.0"}}"#).unwrap_err();
        assert!(err.to_string().contains("`packages.a`"), "{err}");
        let err = parse(r#"{"packages": {"a": ["nope"]}}"#).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        assert!(parse("{").is_err());
    }
}
