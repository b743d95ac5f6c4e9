//! `*.gemspec`: `add_dependency`/`add_runtime_dependency` (runtime) and
//! `add_development_dependency` (development), on any receiver (`s.`, `spec.`, `gem.`).

use crate::ruby::visit_calls;
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

/// The dependencies a gemspec declares.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    let mut deps = Vec::new();
    visit_calls(Format::Gemspec, text, |call, _| {
        let kind = match call.name.as_str() {
            "add_dependency" | "add_runtime_dependency" => DependencyKind::Runtime,
            "add_development_dependency" => DependencyKind::Development,
            _ => return,
        };
        if let Some(name) = call
            .args
            .first_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            deps.push(ParsedDependency::new(
                Ecosystem::Rubygems,
                name,
                call.args.requirements(),
                kind,
            ));
        }
    })?;
    Ok(deps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(src: &str) -> Vec<(String, String, DependencyKind)> {
        parse(src)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind))
            .collect()
    }

    #[test]
    fn runtime_and_development_dependencies_on_any_receiver() {
        let src = r#"
Gem::Specification.new do |spec|
  spec.name = "example"
  spec.add_dependency "rack", ">= 2.0", "< 4"
  spec.add_runtime_dependency("json")
  spec.add_development_dependency 'rspec', ['~> 3.12']
end
"#;
        assert_eq!(
            deps(src),
            [
                ("rack".into(), ">= 2.0, < 4".into(), DependencyKind::Runtime),
                ("json".into(), "".into(), DependencyKind::Runtime),
                (
                    "rspec".into(),
                    "~> 3.12".into(),
                    DependencyKind::Development
                ),
            ]
        );
        let other =
            "Gem::Specification.new do |gem|\n  gem.add_dependency %q<thor>, [\">= 1\"]\nend\n";
        assert_eq!(
            deps(other),
            [("thor".into(), ">= 1".into(), DependencyKind::Runtime)]
        );
    }

    #[test]
    fn interpolated_requirements_are_kept_as_written_and_computed_ones_dropped() {
        let src = "s.add_dependency 'rails', \">= #{RAILS}\"\ns.add_dependency 'x', Foo::VERSION\n";
        assert_eq!(
            deps(src),
            [
                (
                    "rails".into(),
                    ">= #{RAILS}".into(),
                    DependencyKind::Runtime
                ),
                ("x".into(), "".into(), DependencyKind::Runtime),
            ]
        );
    }

    #[test]
    fn other_fields_are_not_dependencies() {
        assert!(
            deps("s.required_ruby_version = '>= 3.0'\ns.files = `git ls-files`.split(\"\\n\")\n")
                .is_empty()
        );
    }
}
