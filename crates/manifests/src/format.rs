//! The file formats wump reads, and how a file's path picks one.

use std::{fmt, str::FromStr};

use serde::{Serialize, Serializer};

use wump_core::Ecosystem;

macro_rules! formats {
    ($($variant:ident => $id:literal, $ecosystem:expr, $lockfile:literal;)*) => {
        /// A manifest, lockfile or funding file format.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Format {
            $(#[doc = concat!("`", $id, "`")] $variant,)*
        }

        impl Format {
            /// Every format, in documentation order.
            pub const ALL: &'static [Format] = &[$(Format::$variant,)*];

            /// The id accepted by `--format` and shown in output.
            pub const fn id(self) -> &'static str {
                match self { $(Format::$variant => $id,)* }
            }

            /// The ecosystem whose packages this format names; `None` for funding files.
            pub const fn ecosystem(self) -> Option<Ecosystem> {
                match self { $(Format::$variant => $ecosystem,)* }
            }

            /// Whether the format records resolved versions (a lockfile) rather than requirements.
            pub const fn is_lockfile(self) -> bool {
                match self { $(Format::$variant => $lockfile,)* }
            }
        }
    };
}

formats! {
    PackageJson => "package.json", Some(Ecosystem::Npm), false;
    PackageLock => "package-lock.json", Some(Ecosystem::Npm), true;
    NpmShrinkwrap => "npm-shrinkwrap.json", Some(Ecosystem::Npm), true;
    YarnLock => "yarn.lock", Some(Ecosystem::Npm), true;
    PnpmLock => "pnpm-lock.yaml", Some(Ecosystem::Npm), true;
    BunLock => "bun.lock", Some(Ecosystem::Npm), true;
    Requirements => "requirements.txt", Some(Ecosystem::Pypi), false;
    Pipfile => "Pipfile", Some(Ecosystem::Pypi), false;
    PipfileLock => "Pipfile.lock", Some(Ecosystem::Pypi), true;
    Pyproject => "pyproject.toml", Some(Ecosystem::Pypi), false;
    SetupCfg => "setup.cfg", Some(Ecosystem::Pypi), false;
    SetupPy => "setup.py", Some(Ecosystem::Pypi), false;
    PoetryLock => "poetry.lock", Some(Ecosystem::Pypi), true;
    UvLock => "uv.lock", Some(Ecosystem::Pypi), true;
    PdmLock => "pdm.lock", Some(Ecosystem::Pypi), true;
    Pylock => "pylock.toml", Some(Ecosystem::Pypi), true;
    CargoToml => "Cargo.toml", Some(Ecosystem::Cargo), false;
    CargoLock => "Cargo.lock", Some(Ecosystem::Cargo), true;
    GoMod => "go.mod", Some(Ecosystem::Go), false;
    GoSum => "go.sum", Some(Ecosystem::Go), true;
    Gemfile => "Gemfile", Some(Ecosystem::Rubygems), false;
    Gemspec => "gemspec", Some(Ecosystem::Rubygems), false;
    GemfileLock => "Gemfile.lock", Some(Ecosystem::Rubygems), true;
    PomXml => "pom.xml", Some(Ecosystem::Maven), false;
    Gradle => "build.gradle", Some(Ecosystem::Maven), false;
    GradleKts => "build.gradle.kts", Some(Ecosystem::Maven), false;
    GradleLockfile => "gradle.lockfile", Some(Ecosystem::Maven), true;
    GradleVersionCatalog => "libs.versions.toml", Some(Ecosystem::Maven), false;
    ComposerJson => "composer.json", Some(Ecosystem::Packagist), false;
    ComposerLock => "composer.lock", Some(Ecosystem::Packagist), true;
    MsbuildProject => "csproj", Some(Ecosystem::Nuget), false;
    PackagesConfig => "packages.config", Some(Ecosystem::Nuget), false;
    DirectoryPackagesProps => "Directory.Packages.props", Some(Ecosystem::Nuget), false;
    DirectoryBuildProps => "Directory.Build.props", Some(Ecosystem::Nuget), false;
    DirectoryBuildTargets => "Directory.Build.targets", Some(Ecosystem::Nuget), false;
    NugetLock => "packages.lock.json", Some(Ecosystem::Nuget), true;
    MixExs => "mix.exs", Some(Ecosystem::Hex), false;
    MixLock => "mix.lock", Some(Ecosystem::Hex), true;
    Pubspec => "pubspec.yaml", Some(Ecosystem::Pub), false;
    PubspecLock => "pubspec.lock", Some(Ecosystem::Pub), true;
    PackageSwift => "Package.swift", Some(Ecosystem::Swiftpm), false;
    PackageResolved => "Package.resolved", Some(Ecosystem::Swiftpm), true;
    Podfile => "Podfile", Some(Ecosystem::Cocoapods), false;
    PodfileLock => "Podfile.lock", Some(Ecosystem::Cocoapods), true;
    GithubWorkflow => "github-workflow", Some(Ecosystem::Actions), false;
    GithubAction => "github-action", Some(Ecosystem::Actions), false;
    FundingYml => "FUNDING.yml", None, false;
    FundingJson => "funding.json", None, false;
}

impl Format {
    /// Funding files list ways to pay the project, not dependencies.
    pub const fn is_funding(self) -> bool {
        self.ecosystem().is_none()
    }

    /// Whether the format is a catalog other files pick packages from (a Gradle version
    /// catalog): how the package is used is what those files say, so a catalog's own
    /// declaration counts only for packages no other file declares.
    pub const fn is_catalog(self) -> bool {
        matches!(self, Format::GradleVersionCatalog)
    }

    /// Whether other files of the repository use what this one declares (a Gradle version
    /// catalog's aliases, MSBuild's central versions and shared properties), so that
    /// [`crate::RepositoryContext`] must learn it before parsing them.
    pub const fn supplies_context(self) -> bool {
        matches!(
            self,
            Format::GradleVersionCatalog
                | Format::DirectoryPackagesProps
                | Format::DirectoryBuildProps
                | Format::DirectoryBuildTargets
        )
    }

    /// Picks the format from a path inside a repository (`/`-separated), or `None` when
    /// the file is not one wump reads.
    pub fn from_path(path: &str) -> Option<Format> {
        let path = path.trim_start_matches("./");
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = dir.rsplit('/').next().unwrap_or("");
        let lower = file.to_ascii_lowercase();

        if let Some(format) = Format::ALL
            .iter()
            .copied()
            .find(|f| f.matches_exact_name(file))
        {
            return Some(format);
        }
        if parent == ".github" && file == "FUNDING.yml" {
            return Some(Format::FundingYml);
        }
        let in_workflows = dir == ".github/workflows" || dir.ends_with("/.github/workflows");
        if in_workflows && (lower.ends_with(".yml") || lower.ends_with(".yaml")) {
            return Some(Format::GithubWorkflow);
        }
        if file == "action.yml" || file == "action.yaml" {
            return Some(Format::GithubAction);
        }
        // `gradle/libs.versions.toml` is the default catalog; settings files name others,
        // by convention also `*.versions.toml`.
        if lower.ends_with(".versions.toml") {
            return Some(Format::GradleVersionCatalog);
        }
        if lower.ends_with(".gemspec") {
            return Some(Format::Gemspec);
        }
        if [".csproj", ".fsproj", ".vbproj"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            return Some(Format::MsbuildProject);
        }
        if is_requirements_file(parent, &lower) {
            return Some(Format::Requirements);
        }
        None
    }

    /// Formats recognised by their exact file name alone.
    fn matches_exact_name(self, file: &str) -> bool {
        match self {
            Format::Gemfile => file == "Gemfile" || file == "gems.rb",
            Format::GemfileLock => file == "Gemfile.lock" || file == "gems.locked",
            Format::FundingYml
            | Format::GithubWorkflow
            | Format::GithubAction
            | Format::Gemspec
            | Format::GradleVersionCatalog
            | Format::MsbuildProject
            | Format::Requirements => false,
            other => file == other.id(),
        }
    }
}

/// `requirements.txt`, `requirements-dev.txt`, `requirements.in`, `requirements/test.txt`, …
fn is_requirements_file(parent: &str, lower_file: &str) -> bool {
    let text_like = [".txt", ".in", ".pip", ".frozen"]
        .iter()
        .any(|ext| lower_file.ends_with(ext));
    text_like && (lower_file.starts_with("requirements") || parent == "requirements")
}

/// The id given to `--format` names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}`")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Format {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_formats() {
        let cases = [
            ("package.json", Some(Format::PackageJson)),
            ("packages/web/package-lock.json", Some(Format::PackageLock)),
            ("gems.rb", Some(Format::Gemfile)),
            ("gems.locked", Some(Format::GemfileLock)),
            ("devise.gemspec", Some(Format::Gemspec)),
            ("src/App/App.fsproj", Some(Format::MsbuildProject)),
            ("requirements-dev.txt", Some(Format::Requirements)),
            ("requirements/test.txt", Some(Format::Requirements)),
            ("requirements.in", Some(Format::Requirements)),
            (".github/workflows/ci.yaml", Some(Format::GithubWorkflow)),
            (
                ".github/actions/setup/action.yml",
                Some(Format::GithubAction),
            ),
            (".github/FUNDING.yml", Some(Format::FundingYml)),
            ("funding.json", Some(Format::FundingJson)),
            (
                "gradle/libs.versions.toml",
                Some(Format::GradleVersionCatalog),
            ),
            (
                "gradle/testing.versions.toml",
                Some(Format::GradleVersionCatalog),
            ),
            (
                "src/Directory.Build.props",
                Some(Format::DirectoryBuildProps),
            ),
            (
                "Directory.Build.targets",
                Some(Format::DirectoryBuildTargets),
            ),
            ("versions.toml", None),
            ("README.md", None),
            ("docs/notes.txt", None),
            ("workflows/ci.yml", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Format::from_path(path), expected, "{path}");
        }
    }

    #[test]
    fn ids_parse_back() {
        for format in Format::ALL {
            assert_eq!(format.id().parse::<Format>(), Ok(*format));
        }
    }
}
