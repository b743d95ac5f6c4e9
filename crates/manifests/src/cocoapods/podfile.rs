//! `Podfile`: `pod` declarations, read with the Ruby tokenizer shared with Bundler files.
//!
//! Requirements are the version arguments as written (`'~> 1.0'`, `'> 0.1', '< 0.3'`),
//! `""` when unpinned. `:path` pods are local; `:git` pods take the URL as requirement
//! (with `#branch`, `#tag` or `#commit` when given) and `:podspec` pods the podspec URL.
//! Kinds: pods inside a `target` whose name ends in `Tests` (Xcode's name for test
//! targets, which `pod init` copies) are test; pods limited to Debug configurations
//! (`:configurations => ['Debug']`) are development; everything else is runtime.

use super::pod;
use crate::{
    Format, ManifestError, ParsedDependency,
    ruby::{Call, Value, visit_calls},
};
use wump_core::DependencyKind;

/// The `pod` declarations of a Podfile.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut deps = Vec::new();
    visit_calls(Format::Podfile, text, |call, heads| {
        if !call.receiver && call.name == "pod" {
            deps.extend(declaration(call, heads));
        }
    })?;
    Ok(deps)
}

fn declaration(call: &Call, heads: &[&Call]) -> Option<ParsedDependency> {
    let name = call.args.first_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let args = &call.args;
    let mut requirement = args.requirements();
    if requirement.is_empty() {
        if let Some(url) = args.option_text(&["git"]) {
            requirement = match args.option_text(&["branch", "tag", "commit"]) {
                Some(reference) => format!("{url}#{reference}"),
                None => url.to_owned(),
            };
        } else if let Some(podspec) = args.option_text(&["podspec"]) {
            requirement = podspec.to_owned();
        }
    }
    let dep = pod(name, requirement, kind(call, heads));
    Some(if args.option("path").is_some() {
        dep.local()
    } else {
        dep
    })
}

fn kind(call: &Call, heads: &[&Call]) -> DependencyKind {
    let in_test_target = heads.iter().any(|head| {
        head.name == "target" && head.args.first_str().is_some_and(|t| t.ends_with("Tests"))
    });
    let configurations: Vec<&str> = ["configurations", "configuration"]
        .iter()
        .filter_map(|key| call.args.option(key))
        .flat_map(Value::texts)
        .collect();
    let debug_only = !configurations.is_empty()
        && configurations
            .iter()
            .all(|c| c.to_ascii_lowercase().contains("debug"));
    if in_test_target {
        DependencyKind::Test
    } else if debug_only {
        DependencyKind::Development
    } else {
        DependencyKind::Runtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DependencyKind::*;

    fn deps(src: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(src)
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

    #[test]
    fn versions_are_kept_as_written() {
        let src = "platform :ios, '13.0'\npod 'Alamofire', '~> 5.0'\npod 'A', '> 0.1', '< 0.3'\npod 'B'\n";
        assert_eq!(
            deps(src),
            [
                dep("Alamofire", "~> 5.0", Runtime),
                dep("A", "> 0.1, < 0.3", Runtime),
                dep("B", "", Runtime)
            ]
        );
    }

    #[test]
    fn subspecs_keep_their_name_as_written() {
        let all = parse("pod 'Firebase/Analytics'\n").unwrap();
        assert_eq!(
            (all[0].name.as_str(), all[0].normalized_name.as_str()),
            ("Firebase/Analytics", "Firebase")
        );
    }

    #[test]
    fn path_pods_are_local_and_git_pods_name_their_source() {
        let src = "\
pod 'Local', :path => '../Local'
pod 'Fork', :git => 'https://github.com/me/Fork.git', :branch => 'dev'
pod 'Pinned', git: 'https://github.com/me/Pinned.git', commit: 'abc'
pod 'Spec', :podspec => 'https://example.com/Spec.podspec'
";
        assert_eq!(
            deps(src),
            [
                ("Local".into(), "".into(), Runtime, true),
                dep("Fork", "https://github.com/me/Fork.git#dev", Runtime),
                dep("Pinned", "https://github.com/me/Pinned.git#abc", Runtime),
                dep("Spec", "https://example.com/Spec.podspec", Runtime),
            ]
        );
    }

    #[test]
    fn test_targets_and_debug_configurations_set_kinds() {
        let src = "\
abstract_target 'Shared' do
  pod 'Core'
  target 'App' do
    pod 'FLEX', :configurations => ['Debug']
    target 'AppTests' do
      inherit! :search_paths
      pod 'Quick'
    end
  end
  target 'AppUITests' do
    pod 'Nimble'
  end
end
pod 'After'
";
        assert_eq!(
            deps(src),
            [
                dep("Core", "", Runtime),
                dep("FLEX", "", Development),
                dep("Quick", "", Test),
                dep("Nimble", "", Test),
                dep("After", "", Runtime)
            ]
        );
    }

    #[test]
    fn both_branches_of_a_condition_are_reported() {
        let src = "if ENV['CI']\n  pod 'A+B', '~> 1.1'\nelse\n  pod 'C'\nend\nplugin 'cocoapods-keys', { project: 'X' }\n";
        let names: Vec<_> = deps(src).into_iter().map(|d| d.0).collect();
        assert_eq!(names, ["A+B", "C"]);
    }

    #[test]
    fn an_unclosed_string_is_an_error() {
        let err = parse("pod 'A\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
