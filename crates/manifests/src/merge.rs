//! From what a repository's files declare to one edge per package: the pure step between
//! reading manifests (the parse job's provider I/O) and storing edges (the database).

use std::collections::{BTreeMap, BTreeSet};

use crate::{Format, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

/// One dependency as one file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The file's path inside the repository.
    pub path: String,
    /// The file's format (a manifest or a lockfile).
    pub format: Format,
    /// What the file says about the package.
    pub dependency: ParsedDependency,
}

/// Everything a repository's files say about one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedDependency {
    /// The package's ecosystem.
    pub ecosystem: Ecosystem,
    /// As the most significant declaration spells it.
    pub name: String,
    /// The registry's canonical spelling: the merge key, with the ecosystem.
    pub normalized_name: String,
    /// Every kind any declaration gives it.
    pub kinds: BTreeSet<DependencyKind>,
    /// The most significant declaration's requirement.
    pub requirement: String,
    /// The version the most significant declaration that has one resolved.
    pub resolved_version: Option<String>,
    /// `Some(true)` when any lockfile says the project asks for it itself.
    pub direct: Option<bool>,
    /// Sorted, each once.
    pub manifest_paths: Vec<String>,
}

/// Merges declarations into one entry per (ecosystem, normalized name), sorted by that key;
/// local (path, workspace, link) references are left out, they are no registry packages.
/// A replaced requirement counts for the replacement and for the module required.
/// A catalog's declaration ([`Format::is_catalog`]) gives neither kind nor requirement to a
/// package another file declares: the build script that picks it says how it is used.
///
/// The most significant declaration is the one of the most significant kind (runtime >
/// peer > optional > build > development > test), then one that states a requirement, then
/// a manifest over a lockfile, then the shallowest path: it gives the name and requirement.
/// The resolved version comes from the most significant declaration that has one; the
/// package is direct when any lockfile says so. The result does not depend on the order of
/// the declarations.
pub fn merge_dependencies(
    declarations: impl IntoIterator<Item = Declaration>,
) -> Vec<MergedDependency> {
    let mut by_package: BTreeMap<(Ecosystem, String), Vec<Declaration>> = BTreeMap::new();
    for declaration in declarations.into_iter().flat_map(with_replaced) {
        if declaration.dependency.local || declaration.dependency.normalized_name.is_empty() {
            continue;
        }
        let key = (
            declaration.dependency.ecosystem,
            declaration.dependency.normalized_name.clone(),
        );
        by_package.entry(key).or_default().push(declaration);
    }
    by_package
        .into_iter()
        .map(|((ecosystem, normalized_name), mut all)| {
            let manifest_paths: Vec<String> = all
                .iter()
                .map(|d| d.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if all.iter().any(|d| !d.format.is_catalog()) {
                all.retain(|d| !d.format.is_catalog());
            }
            all.sort_by(|a, b| significance(a).cmp(&significance(b)));
            let primary = &all[0];
            let kinds: BTreeSet<DependencyKind> = all.iter().map(|d| d.dependency.kind).collect();
            let resolved_version = all
                .iter()
                .find_map(|d| d.dependency.resolved_version.clone());
            let direct = if all.iter().any(|d| d.dependency.direct == Some(true)) {
                Some(true)
            } else if all.iter().any(|d| d.dependency.direct == Some(false)) {
                Some(false)
            } else {
                None
            };
            MergedDependency {
                ecosystem,
                name: primary.dependency.name.clone(),
                normalized_name,
                kinds,
                requirement: primary.dependency.requirement.clone(),
                resolved_version,
                direct,
                manifest_paths,
            }
        })
        .collect()
}

/// The declaration, and for a replaced requirement (go.mod `replace`) one of the module
/// the project requires: the code imports that module and runs the replacement, so the
/// repository uses both, and the maintainers of either find it among their dependents.
fn with_replaced(declaration: Declaration) -> impl Iterator<Item = Declaration> {
    let required = declaration.dependency.replaces.as_ref().map(|replaced| {
        let dependency = &declaration.dependency;
        Declaration {
            path: declaration.path.clone(),
            format: declaration.format,
            dependency: ParsedDependency {
                name: replaced.name.clone(),
                normalized_name: dependency.ecosystem.normalize_name(&replaced.name),
                requirement: replaced.requirement.clone(),
                replaces: None,
                ..dependency.clone()
            },
        }
    });
    std::iter::once(declaration).chain(required)
}

/// Smaller is more significant; every field takes part so equal keys mean equal
/// declarations and the merge is order-independent.
fn significance(d: &Declaration) -> (usize, bool, bool, usize, &str, &str, &str, &Option<String>) {
    let kind_rank = [
        DependencyKind::Runtime,
        DependencyKind::Peer,
        DependencyKind::Optional,
        DependencyKind::Build,
        DependencyKind::Development,
        DependencyKind::Test,
    ]
    .iter()
    .position(|k| *k == d.dependency.kind)
    .unwrap_or(usize::MAX);
    (
        kind_rank,
        d.dependency.requirement.is_empty(),
        d.format.is_lockfile(),
        d.path.matches('/').count(),
        d.path.as_str(),
        d.dependency.name.as_str(),
        d.dependency.requirement.as_str(),
        &d.dependency.resolved_version,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn declared(path: &str, dependency: ParsedDependency) -> Declaration {
        Declaration {
            path: path.into(),
            format: Format::from_path(path).unwrap(),
            dependency,
        }
    }

    #[test]
    fn declarations_of_one_package_merge_whatever_their_order() {
        let manifest = declared(
            "package.json",
            ParsedDependency::new(Ecosystem::Npm, "Lodash", "^4.17.0", DependencyKind::Runtime),
        );
        let dev = declared(
            "web/package.json",
            ParsedDependency::new(Ecosystem::Npm, "lodash", "^3", DependencyKind::Development),
        );
        let lock = declared(
            "package-lock.json",
            ParsedDependency::new(Ecosystem::Npm, "lodash", "", DependencyKind::Runtime)
                .resolved("4.17.21", Some(true)),
        );
        let local = declared(
            "package.json",
            ParsedDependency::new(
                Ecosystem::Npm,
                "mine",
                "file:../mine",
                DependencyKind::Runtime,
            )
            .local(),
        );
        let forward = merge_dependencies(vec![
            manifest.clone(),
            dev.clone(),
            lock.clone(),
            local.clone(),
        ]);
        let backward = merge_dependencies(vec![local, lock, dev, manifest]);
        assert_eq!(forward, backward);
        assert_eq!(
            forward,
            vec![MergedDependency {
                ecosystem: Ecosystem::Npm,
                name: "Lodash".into(),
                normalized_name: "lodash".into(),
                kinds: [DependencyKind::Runtime, DependencyKind::Development].into(),
                requirement: "^4.17.0".into(),
                resolved_version: Some("4.17.21".into()),
                direct: Some(true),
                manifest_paths: vec![
                    "package-lock.json".into(),
                    "package.json".into(),
                    "web/package.json".into()
                ],
            }]
        );
    }

    #[test]
    fn one_name_in_two_ecosystems_is_two_packages_sorted_by_ecosystem_then_name() {
        let merged = merge_dependencies(vec![
            declared(
                "requirements.txt",
                ParsedDependency::new(Ecosystem::Pypi, "six", ">=1", DependencyKind::Runtime),
            ),
            declared(
                "package.json",
                ParsedDependency::new(Ecosystem::Npm, "six", "^1", DependencyKind::Runtime),
            ),
            declared(
                "package.json",
                ParsedDependency::new(Ecosystem::Npm, "abc", "^2", DependencyKind::Runtime),
            ),
        ]);
        let keys: Vec<(Ecosystem, &str)> = merged
            .iter()
            .map(|m| (m.ecosystem, m.normalized_name.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (Ecosystem::Npm, "abc"),
                (Ecosystem::Npm, "six"),
                (Ecosystem::Pypi, "six")
            ]
        );
    }

    #[test]
    fn a_stated_requirement_beats_an_empty_one_and_a_manifest_beats_a_lockfile() {
        // Same kind: the lockfile states no requirement, the nested manifest does.
        let merged = merge_dependencies(vec![
            declared(
                "package-lock.json",
                ParsedDependency::new(Ecosystem::Npm, "react", "", DependencyKind::Runtime)
                    .resolved("18.2.0", Some(false)),
            ),
            declared(
                "apps/web/package.json",
                ParsedDependency::new(Ecosystem::Npm, "react", "^18", DependencyKind::Runtime),
            ),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].requirement, "^18");
        assert_eq!(merged[0].resolved_version.as_deref(), Some("18.2.0"));
        // Only a lockfile saying "not direct": not direct.
        assert_eq!(merged[0].direct, Some(false));

        // Both state one: the manifest's wins over the lockfile's.
        let merged = merge_dependencies(vec![
            declared(
                "Cargo.lock",
                ParsedDependency::new(
                    Ecosystem::Cargo,
                    "serde",
                    "1.0.200",
                    DependencyKind::Runtime,
                )
                .resolved("1.0.200", None),
            ),
            declared(
                "Cargo.toml",
                ParsedDependency::new(Ecosystem::Cargo, "serde", "1", DependencyKind::Runtime),
            ),
        ]);
        assert_eq!(merged[0].requirement, "1");
        assert_eq!(merged[0].direct, None, "no file said whether it is direct");
    }

    #[test]
    fn a_replaced_requirement_counts_for_the_replacement_and_the_module_required() {
        let fork = ParsedDependency::new(
            Ecosystem::Go,
            "example.com/fork/net",
            "v1.4.5",
            DependencyKind::Runtime,
        )
        .replacing("golang.org/x/net", "v1.2.3");
        let merged = merge_dependencies([declared("go.mod", fork)]);
        let summary: Vec<_> = merged
            .iter()
            .map(|m| (m.name.as_str(), m.requirement.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("example.com/fork/net", "v1.4.5"),
                ("golang.org/x/net", "v1.2.3")
            ]
        );
    }

    #[test]
    fn a_catalog_gives_kinds_only_to_packages_no_build_script_picks() {
        let maven = |name: &str, kind| ParsedDependency::new(Ecosystem::Maven, name, "1.0", kind);
        let merged = merge_dependencies([
            declared(
                "gradle/libs.versions.toml",
                maven("junit:junit", DependencyKind::Runtime),
            ),
            declared(
                "gradle/libs.versions.toml",
                maven("unused:unused", DependencyKind::Runtime),
            ),
            declared(
                "app/build.gradle.kts",
                maven("junit:junit", DependencyKind::Test),
            ),
        ]);
        let summary: Vec<_> = merged
            .iter()
            .map(|m| (m.name.as_str(), &m.kinds, m.manifest_paths.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("junit:junit", &BTreeSet::from([DependencyKind::Test]), 2),
                (
                    "unused:unused",
                    &BTreeSet::from([DependencyKind::Runtime]),
                    1
                ),
            ]
        );
    }

    #[test]
    fn local_references_and_nameless_declarations_are_no_packages() {
        let mut nameless = ParsedDependency::new(Ecosystem::Npm, "x", "1", DependencyKind::Runtime);
        nameless.normalized_name.clear();
        let merged = merge_dependencies(vec![
            declared("package.json", nameless),
            declared(
                "Cargo.toml",
                ParsedDependency::new(Ecosystem::Cargo, "mine", "", DependencyKind::Runtime)
                    .local(),
            ),
        ]);
        assert!(merged.is_empty(), "{merged:?}");
    }

    /// Declarations drawn from a small pool, so that names, paths and kinds collide often.
    fn declaration() -> impl Strategy<Value = Declaration> {
        let paths = prop::sample::select(vec![
            "package.json",
            "web/package.json",
            "package-lock.json",
            "a/b/package-lock.json",
        ]);
        let names = prop::sample::select(vec!["lodash", "Lodash", "react"]);
        let requirements = prop::sample::select(vec!["", "^1", "^2"]);
        let kinds = prop::sample::select(DependencyKind::ALL.to_vec());
        let resolved = prop::option::of(prop::sample::select(vec!["1.0.0", "2.0.0"]));
        let direct = prop::option::of(any::<bool>());
        (
            paths,
            names,
            requirements,
            kinds,
            resolved,
            direct,
            any::<bool>(),
        )
            .prop_map(|(path, name, requirement, kind, resolved, direct, local)| {
                let mut dependency = ParsedDependency::new(Ecosystem::Npm, name, requirement, kind);
                if let Some(version) = resolved {
                    dependency = dependency.resolved(version, direct);
                }
                if local {
                    dependency = dependency.local();
                }
                declared(path, dependency)
            })
    }

    proptest! {
        #[test]
        fn the_merge_does_not_depend_on_the_order_of_the_declarations(
            (declarations, shuffled) in prop::collection::vec(declaration(), 0..12)
                .prop_flat_map(|d| (Just(d.clone()), Just(d).prop_shuffle()))
        ) {
            let merged = merge_dependencies(declarations.clone());
            prop_assert_eq!(&merged, &merge_dependencies(shuffled));
            // One entry per registry package declared, each with every path that names it.
            let packages: BTreeSet<&str> = declarations
                .iter()
                .filter(|d| !d.dependency.local)
                .map(|d| d.dependency.normalized_name.as_str())
                .collect();
            prop_assert_eq!(merged.len(), packages.len());
            for entry in &merged {
                let paths: BTreeSet<&str> = declarations
                    .iter()
                    .filter(|d| !d.dependency.local && d.dependency.normalized_name == entry.normalized_name)
                    .map(|d| d.path.as_str())
                    .collect();
                prop_assert_eq!(entry.manifest_paths.iter().map(String::as_str).collect::<BTreeSet<_>>(), paths);
            }
        }
    }
}
