//! `Gemfile` and `gems.rb`: Bundler's Ruby DSL, read with the tokenizer in [`super::ruby`].
//!
//! Kinds come from the groups around a `gem` (nested `group` blocks and its own `group:`
//! option together). Each group's name gives a kind ([`group_kind`]): test groups (`test`,
//! `test_*`, `*_test(s)`, `ci`, `spec`) are test, development groups (`development`,
//! `dev`, `doc(s)`, `lint`, `rubocop`, `benchmark(s)`) development, and every other name
//! (`production`, `default`, `assets`, `jekyll_plugins`, …) runtime, or optional when its
//! block says `optional: true`: Bundler installs and `Bundler.require`s those unless told
//! not to, and nothing in the name says the app runs without them. Bundler installs a gem
//! for any of its groups, so the gem takes the most significant of its groups' kinds
//! (runtime > optional > development > test, the order `merge` uses): `group
//! :development, :test` is development, `group :production, :development` runtime.
//! A `gem` guarded by `if`/`unless`/`platforms`/`install_if` is still reported. `path:`
//! (or a `path "…" do` block) marks it local; a git gem (`git:`, `github:`, … or their
//! blocks) without a version takes its `ref:`/`tag:`/`branch:` as requirement, else `""`.

use crate::ruby::{Call, Value, visit_calls};
use crate::{Format, ManifestError, ParsedDependency};
use wump_core::{DependencyKind, Ecosystem};

const GIT_SOURCES: &[&str] = &["git", "github", "gist", "bitbucket"];
const GIT_REFS: &[&str] = &["ref", "tag", "branch"];

/// The `gem` declarations of a Gemfile.
pub(super) fn parse(text: &str) -> Result<Vec<ParsedDependency>, ManifestError> {
    if looks_like_lockfile(text) {
        return Err(ManifestError::syntax(
            Format::Gemfile,
            "this is a Gemfile.lock (it starts with a GEM/GIT/PATH section), not a Gemfile",
        ));
    }
    let mut deps = Vec::new();
    visit_calls(Format::Gemfile, text, |call, heads| {
        if !call.receiver && call.name == "gem" {
            deps.extend(gem(call, heads));
        }
    })?;
    Ok(deps)
}

fn looks_like_lockfile(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty());
    matches!(
        (lines.next(), lines.next()),
        (Some("GEM" | "GIT" | "PATH" | "PLUGIN SOURCE"), Some(l)) if l.starts_with("  remote:")
    )
}

/// What the blocks around a `gem` and its own options say about it.
#[derive(Default)]
struct Context<'a> {
    /// Each group's name, and whether its block is declared `optional: true`.
    groups: Vec<(&'a str, bool)>,
    local: bool,
    git: bool,
    git_ref: Option<&'a str>,
}

impl<'a> Context<'a> {
    fn apply_source(&mut self, call: &'a Call, source: &str) {
        if source == "path" {
            self.local = true;
        } else if GIT_SOURCES.contains(&source) {
            self.git = true;
            self.git_ref = call.args.option_text(GIT_REFS).or(self.git_ref);
        }
    }

    fn kind(&self) -> DependencyKind {
        let mut kinds = self
            .groups
            .iter()
            .map(|(name, optional)| match group_kind(name) {
                DependencyKind::Runtime if *optional => DependencyKind::Optional,
                kind => kind,
            });
        let Some(first) = kinds.next() else {
            return DependencyKind::Runtime;
        };
        kinds.fold(first, |best, kind| {
            if significance(kind) < significance(best) {
                kind
            } else {
                best
            }
        })
    }
}

/// The kind a Bundler group's name says its gems are for; any other name is runtime.
fn group_kind(name: &str) -> DependencyKind {
    let name = name.to_ascii_lowercase();
    let test = matches!(name.as_str(), "test" | "tests" | "ci" | "spec" | "specs")
        || name.starts_with("test_")
        || name.ends_with("_test")
        || name.ends_with("_tests");
    let development = matches!(
        name.as_str(),
        "development" | "dev" | "doc" | "docs" | "lint" | "rubocop" | "benchmark" | "benchmarks"
    );
    if test {
        DependencyKind::Test
    } else if development {
        DependencyKind::Development
    } else {
        DependencyKind::Runtime
    }
}

/// Lower is more significant: the order of [`crate::merge`].
fn significance(kind: DependencyKind) -> u8 {
    match kind {
        DependencyKind::Runtime => 0,
        DependencyKind::Peer => 1,
        DependencyKind::Optional => 2,
        DependencyKind::Build => 3,
        DependencyKind::Development => 4,
        DependencyKind::Test => 5,
    }
}

fn gem(call: &Call, heads: &[&Call]) -> Option<ParsedDependency> {
    let name = call.args.first_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let mut context = Context::default();
    for head in heads.iter().filter(|h| !h.receiver) {
        if head.name == "group" {
            let optional = head.args.option("optional") == Some(&Value::Bool(true));
            context.groups.extend(
                head.args
                    .positional
                    .iter()
                    .flat_map(Value::texts)
                    .map(|name| (name, optional)),
            );
        } else {
            context.apply_source(head, &head.name);
        }
    }
    for (key, value) in &call.args.options {
        match key.as_str() {
            "group" | "groups" => context
                .groups
                .extend(value.texts().into_iter().map(|g| (g, false))),
            source => context.apply_source(call, source),
        }
    }
    let mut requirement = call.args.requirements();
    if requirement.is_empty() && context.git {
        requirement = context.git_ref.unwrap_or_default().to_owned();
    }
    let dep = ParsedDependency::new(Ecosystem::Rubygems, name, requirement, context.kind());
    Some(if context.local { dep.local() } else { dep })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(src: &str) -> Vec<(String, String, DependencyKind, bool)> {
        parse(src)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.requirement, d.kind, d.local))
            .collect()
    }

    fn one(src: &str) -> (String, String, DependencyKind, bool) {
        let mut all = deps(src);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    use DependencyKind::*;

    #[test]
    fn unpinned_gems_have_an_empty_requirement() {
        assert_eq!(
            one("source 'https://rubygems.org'\ngem 'rails'\n"),
            ("rails".into(), "".into(), Runtime, false)
        );
    }

    #[test]
    fn several_constraints_are_joined_and_options_ignored() {
        let dep = one("gem 'rack', '>= 1', '< 2', require: false, platforms: :ruby\n");
        assert_eq!(dep.1, ">= 1, < 2");
    }

    #[test]
    fn groups_map_to_kinds() {
        let src = "\
gem 'a', group: :test
group :development do
  gem 'b'
end
group :development, :test do
  gem 'c'
end
group :test do
  group :ci do
    gem 'd'
  end
end
group :production do
  gem 'e'
end
gem 'f', groups: [:development]
group :docs, optional: true do
  gem 'g'
end
group :assets, optional: true do
  gem 'h'
end
group :system_tests, :spec do
  gem 'i'
end
gem 'j', group: [:lint, :rubocop]
gem 'k', group: :benchmarks
group :jekyll_plugins do
  gem 'l'
end
group :production, :development do
  gem 'm'
end
group :test_unit do
  gem 'n'
end
";
        let kinds: Vec<_> = deps(src).into_iter().map(|d| (d.0, d.2)).collect();
        let expected = [
            ("a", Test),
            ("b", Development),
            ("c", Development),
            ("d", Test),
            ("e", Runtime),
            ("f", Development),
            ("g", Development),
            ("h", Optional),
            ("i", Test),
            ("j", Development),
            ("k", Development),
            ("l", Runtime),
            ("m", Runtime),
            ("n", Test),
        ];
        assert_eq!(kinds, expected.map(|(n, k)| (n.to_owned(), k)));
    }

    #[test]
    fn conditional_blocks_and_modifiers_keep_gems_and_close_properly() {
        let src = "\
platforms :jruby do
  gem 'jdbc'
end
install_if -> { RUBY_PLATFORM =~ /darwin/ } do
  gem 'mac'
end
if ENV['CI']
  gem 'ci'
else
  gem 'local'
end
group :test do
  gem 'rspec' unless ENV['NO_RSPEC']
  gem 'pry' if false
end
gem 'after'
";
        let all = deps(src);
        let names: Vec<_> = all.iter().map(|d| d.0.as_str()).collect();
        assert_eq!(
            names,
            ["jdbc", "mac", "ci", "local", "rspec", "pry", "after"]
        );
        assert_eq!(
            all.last().unwrap().2,
            Runtime,
            "blocks must be closed by their `end`"
        );
    }

    #[test]
    fn path_gems_are_local() {
        assert!(one("gem 'mine', path: '../mine'\n").3);
        assert!(one("path 'engines' do\n  gem 'admin'\nend\n").3);
    }

    #[test]
    fn git_gems_take_their_ref_or_nothing() {
        assert_eq!(
            one("gem 'rails', github: 'rails/rails', branch: 'main'\n").1,
            "main"
        );
        assert_eq!(one("gem 'a', git: 'https://example.com/a.git'\n").1, "");
        assert_eq!(
            one("gem 'b', '~> 1.0', git: 'https://example.com/b.git', tag: 'v1'\n").1,
            "~> 1.0"
        );
        assert_eq!(
            one("git 'https://example.com/c.git', ref: 'abc123' do\n  gem 'c'\nend\n").1,
            "abc123"
        );
    }

    #[test]
    fn quoting_variants_and_parentheses() {
        let names: Vec<_> = deps("gem %q(a)\ngem(\"b\", \"1.0\")\ngem %q{c}, '2'\n")
            .into_iter()
            .map(|d| (d.0, d.1))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), "".into()),
                ("b".into(), "1.0".into()),
                ("c".into(), "2".into())
            ]
        );
    }

    #[test]
    fn not_dependencies() {
        assert!(deps("ruby '3.2.0'\ngemspec\nsource 'https://rubygems.org'\nplugin 'bundler-graph'\ngem name\n").is_empty());
    }

    #[test]
    fn heredocs_and_comments_do_not_break_the_tokenizer() {
        let src = "# gem 'commented'\nmessage = <<~MSG\n  gem 'inside'\n  end\nMSG\ngroup :test do\n  gem 'real'\nend\n";
        assert_eq!(deps(src), [("real".into(), "".into(), Test, false)]);
    }

    #[test]
    fn a_lockfile_is_not_a_gemfile() {
        let err = parse("GEM\n  remote: https://rubygems.org/\n  specs:\n").unwrap_err();
        assert!(err.to_string().contains("Gemfile.lock"), "{err}");
    }

    #[test]
    fn an_unclosed_string_is_an_error_naming_the_line() {
        let err = parse("gem 'a'\ngem 'b\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
