//! `wump-worker parse`: shows what wump reads from manifest files on disk.
//!
//! A local, read-only command: no configuration, database or telemetry, so it works on any
//! machine with only the binary. [`inspect`] does the work and returns a [`Report`];
//! rendering it as text or JSON is separate so both are testable without a process.

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    fs::File,
    io::{self, Read as _},
    path::{Path, PathBuf},
};

use serde::Serialize;
use wump_core::{DependencyKind, Ecosystem, FundingLink};
use wump_manifests::{
    DEFAULT_MAX_BYTES, Format, ManifestError, ParsedDependency, ParsedManifest, Replaced,
    RepositoryContext,
};

/// Arguments of `wump-worker parse`.
#[derive(Debug, Clone, clap::Args)]
pub struct ParseArgs {
    /// Print one JSON array with an object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read every file as this format (e.g. `package.json`, `requirements.txt`, `csproj`)
    /// instead of picking one from its name.
    #[arg(long, value_name = "NAME", value_parser = parse_format)]
    pub format: Option<Format>,
    /// Manifest, lockfile or funding files to read.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

fn parse_format(name: &str) -> Result<Format, String> {
    name.parse().map_err(|_| {
        let ids: Vec<&str> = Format::ALL.iter().map(|f| f.id()).collect();
        format!(
            "unknown format `{name}` (expected one of: {})",
            ids.join(", ")
        )
    })
}

/// What was read from every file, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Report {
    pub files: Vec<FileReport>,
}

/// What was read from one file, or why nothing could be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The path as given on the command line.
    pub path: String,
    /// `None` for funding files and for files whose format is unknown.
    pub ecosystem: Option<Ecosystem>,
    /// `None` when the file name matches no format and none was forced.
    pub format: Option<Format>,
    pub dependencies: Vec<DependencyReport>,
    pub funding: Vec<FundingLink>,
    /// Why the file could not be read or parsed; `None` on success.
    pub error: Option<String>,
}

/// One dependency, as `parse --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyReport {
    pub name: String,
    pub normalized_name: String,
    /// Empty when the file pins nothing.
    pub requirement: String,
    pub kind: DependencyKind,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
    pub local: bool,
    /// The required module a go.mod `replace` swapped for this one; `None` otherwise.
    pub replaces: Option<Replaced>,
}

impl From<ParsedDependency> for DependencyReport {
    fn from(dep: ParsedDependency) -> Self {
        Self {
            name: dep.name,
            normalized_name: dep.normalized_name,
            requirement: dep.requirement,
            kind: dep.kind,
            resolved_version: dep.resolved_version,
            direct: dep.direct,
            local: dep.local,
            replaces: dep.replaces,
        }
    }
}

/// Reads and parses each of `paths`, picking formats from the file names unless `format`
/// forces one. One file's failure is recorded in its entry and never stops the others.
///
/// Each file is parsed as the worker would parse it in its repository: with the version
/// catalogs and MSBuild central files found in the directories above it (see
/// [`surroundings`]).
pub fn inspect(paths: &[impl AsRef<Path>], format: Option<Format>) -> Report {
    let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
    let context = surroundings(&paths);
    Report {
        files: paths
            .iter()
            .map(|path| inspect_file(path, format, &context))
            .collect(),
    }
}

/// The shared build files around `paths`: those given, and in each file's directory and
/// the ones above it up to the repository's root (the first holding `.git`), every
/// `Directory.Build.props`, `Directory.Packages.props`, `Directory.Build.targets` and
/// `gradle/*.versions.toml`. Files that cannot be read or learned are left out here (a
/// given one reports its error itself).
fn surroundings(paths: &[&Path]) -> RepositoryContext {
    let mut found = BTreeSet::new();
    // Files given together usually share directories: each is looked into once.
    let mut visited = BTreeSet::new();
    for path in paths {
        let Ok(path) = std::path::absolute(path) else {
            continue;
        };
        found.insert(path.clone());
        for dir in path.ancestors().skip(1) {
            if !visited.insert(dir.to_path_buf()) {
                break;
            }
            for name in [
                "Directory.Build.props",
                "Directory.Packages.props",
                "Directory.Build.targets",
            ] {
                found.insert(dir.join(name));
            }
            if let Ok(entries) = std::fs::read_dir(dir.join("gradle")) {
                found.extend(entries.flatten().map(|entry| entry.path()));
            }
            if dir.join(".git").exists() {
                break;
            }
        }
    }
    let mut context = RepositoryContext::new();
    for path in found {
        let shown = path.to_string_lossy();
        let Some(format) = Format::from_path(&shown).filter(|f| f.supplies_context()) else {
            continue;
        };
        if let Ok(content) = read(&path) {
            let _ = context.learn(format, &shown, &content, DEFAULT_MAX_BYTES);
        }
    }
    context
}

fn inspect_file(path: &Path, forced: Option<Format>, context: &RepositoryContext) -> FileReport {
    let shown = path.to_string_lossy().into_owned();
    let format = forced.or_else(|| Format::from_path(&shown));
    let mut report = FileReport {
        ecosystem: format.and_then(Format::ecosystem),
        format,
        path: shown,
        dependencies: Vec::new(),
        funding: Vec::new(),
        error: None,
    };
    let Some(format) = format else {
        report.error = Some(
            "the file name matches no format wump reads (use --format to pick one)".to_owned(),
        );
        return report;
    };
    // The context knows files by absolute path; the parsers see the same directories.
    let located = std::path::absolute(path).map_or_else(
        |_| report.path.clone(),
        |p| p.to_string_lossy().into_owned(),
    );
    let parsed = read(path).and_then(|content| {
        context
            .parse(format, &located, &content, DEFAULT_MAX_BYTES)
            .map_err(|e| e.to_string())
    });
    match parsed {
        Ok(ParsedManifest {
            dependencies,
            funding,
        }) => {
            report.dependencies = dependencies.into_iter().map(Into::into).collect();
            report.funding = funding;
        }
        Err(message) => report.error = Some(message),
    }
    report
}

/// Reads the file, refusing one over the parsers' limit by its size on disk before reading
/// it, so a huge file costs no memory.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    let cannot_read = |e: io::Error| format!("cannot read the file: {e}");
    let file = File::open(path).map_err(cannot_read)?;
    let size = file.metadata().map_err(cannot_read)?.len();
    let limit = DEFAULT_MAX_BYTES as u64;
    if size > limit {
        let error = ManifestError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: DEFAULT_MAX_BYTES,
        };
        return Err(error.to_string());
    }
    // A file that grows while we read it is cut one byte over the limit; the parser refuses it.
    let mut content = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut content)
        .map_err(cannot_read)?;
    Ok(content)
}

impl Report {
    /// 0 when every file was parsed, 1 when any failed.
    pub fn exit_status(&self) -> u8 {
        u8::from(self.files.iter().any(|f| f.error.is_some()))
    }

    /// The whole report as one JSON array, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("the report serializes");
        json.push('\n');
        json
    }

    /// The text for stdout: one block per parsed file, separated by blank lines.
    pub fn to_text(&self) -> String {
        let blocks: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.error.is_none())
            .map(FileReport::to_text)
            .collect();
        blocks.join("\n")
    }

    /// The text for stderr: one line per failed file, naming it and the problem.
    pub fn errors_text(&self) -> String {
        self.files
            .iter()
            .filter_map(|f| {
                let error = f.error.as_deref()?;
                Some(format!("error: {}: {error}\n", f.path))
            })
            .collect()
    }
}

impl FileReport {
    fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.path);
        let ecosystem = self.ecosystem.map_or("-", Ecosystem::as_str);
        let format = self.format.map_or("-", Format::id);
        let _ = writeln!(out, "  ecosystem: {ecosystem}");
        let _ = writeln!(out, "  format:    {format}");
        if self.dependencies.is_empty() && self.funding.is_empty() {
            out.push_str("  (no dependencies)\n");
        }
        if !self.dependencies.is_empty() {
            let _ = writeln!(out, "  dependencies ({}):", self.dependencies.len());
            let rows: Vec<[String; 6]> = self.dependencies.iter().map(dependency_row).collect();
            let header =
                ["NAME", "REQUIREMENT", "KIND", "RESOLVED", "DIRECT", "LOCAL"].map(str::to_owned);
            write_table(&mut out, std::iter::once(&header).chain(&rows));
        }
        if !self.funding.is_empty() {
            let _ = writeln!(out, "  funding ({}):", self.funding.len());
            for link in &self.funding {
                let _ = writeln!(out, "    {:<16} {}", link.platform, link.url);
            }
        }
        out
    }
}

fn dependency_row(dep: &DependencyReport) -> [String; 6] {
    let mut name = if dep.name == dep.normalized_name {
        dep.name.clone()
    } else {
        format!("{} ({})", dep.name, dep.normalized_name)
    };
    if let Some(replaced) = &dep.replaces {
        let _ = write!(
            name,
            " (replaces {} {})",
            replaced.name, replaced.requirement
        );
    }
    let requirement = if dep.requirement.is_empty() {
        "(any)".to_owned()
    } else {
        dep.requirement.clone()
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    [
        name,
        requirement,
        dep.kind.to_string(),
        dep.resolved_version
            .clone()
            .unwrap_or_else(|| "-".to_owned()),
        dep.direct.map_or_else(|| "-".to_owned(), yes_no),
        yes_no(dep.local),
    ]
}

/// Writes rows indented under a block, each column as wide as its widest cell.
fn write_table<'a>(out: &mut String, rows: impl Iterator<Item = &'a [String; 6]> + Clone) {
    let mut widths = [0; 6];
    for row in rows.clone() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from("   ");
        for (width, cell) in widths.iter().zip(row) {
            let _ = write!(line, " {cell:<width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_manifest_is_read_with_the_format_its_name_picks() {
        let dir = temp_dir();
        let path = dir.path().join("package.json");
        fs::write(
            &path,
            r#"{"dependencies": {"react": "^18.2.0"}, "devDependencies": {"jest": ""}}"#,
        )
        .unwrap();
        let report = inspect(&[&path], None);
        assert_eq!(report.exit_status(), 0);
        let file = &report.files[0];
        assert_eq!(file.path, path.to_string_lossy());
        assert_eq!(file.ecosystem, Some(Ecosystem::Npm));
        assert_eq!(file.format, Some(Format::PackageJson));
        assert_eq!(file.error, None);
        assert_eq!(file.dependencies.len(), 2);
        let text = report.to_text();
        assert!(text.contains("react"), "{text}");
        assert!(text.contains("(any)"), "{text}");
        assert!(report.errors_text().is_empty());
    }

    #[test]
    fn files_are_read_with_the_catalogs_and_central_versions_above_them() {
        let outside = temp_dir();
        let root = outside.path().join("repo");
        for dir in ["repo/.git", "repo/gradle", "repo/app", "repo/src/Api"] {
            fs::create_dir_all(outside.path().join(dir)).unwrap();
        }
        // Above the repository's root: not the repository's, never read.
        fs::write(
            outside.path().join("Directory.Build.props"),
            "<Project><PropertyGroup><Outside>9.9.9</Outside></PropertyGroup></Project>",
        )
        .unwrap();
        fs::write(
            root.join("gradle/libs.versions.toml"),
            "[libraries]\nokhttp = \"com.squareup.okhttp3:okhttp:4.12.0\"",
        )
        .unwrap();
        fs::write(
            root.join("Directory.Packages.props"),
            r#"<Project><ItemGroup><PackageVersion Include="Dapper" Version="2.1.35" /></ItemGroup></Project>"#,
        )
        .unwrap();
        let script = root.join("app/build.gradle.kts");
        fs::write(&script, "dependencies { testImplementation(libs.okhttp) }").unwrap();
        let project = root.join("src/Api/Api.csproj");
        fs::write(
            &project,
            r#"<Project><ItemGroup><PackageReference Include="Dapper" /><PackageReference Include="X" Version="$(Outside)" /></ItemGroup></Project>"#,
        )
        .unwrap();

        let report = inspect(&[&script, &project], None);
        let summary = |file: &FileReport| -> Vec<(String, String, DependencyKind)> {
            file.dependencies
                .iter()
                .map(|d| (d.name.clone(), d.requirement.clone(), d.kind))
                .collect()
        };
        assert_eq!(
            summary(&report.files[0]),
            [(
                "com.squareup.okhttp3:okhttp".into(),
                "4.12.0".into(),
                DependencyKind::Test
            )]
        );
        assert_eq!(
            summary(&report.files[1]),
            [
                ("Dapper".into(), "2.1.35".into(), DependencyKind::Runtime),
                ("X".into(), "$(Outside)".into(), DependencyKind::Runtime),
            ]
        );
    }

    #[test]
    fn one_failure_does_not_hide_the_others_and_sets_the_status() {
        let dir = temp_dir();
        let good = dir.path().join("go.mod");
        fs::write(
            &good,
            "module example.com/m\n\nrequire golang.org/x/text v0.3.0\n",
        )
        .unwrap();
        let missing = dir.path().join("Cargo.toml");
        let unknown = dir.path().join("notes.txt");
        fs::write(&unknown, "hello").unwrap();

        let report = inspect(&[&missing, &good, &unknown], None);
        assert_eq!(report.exit_status(), 1);
        let [missing, good, unknown] = &report.files[..] else {
            panic!("{report:?}")
        };
        assert!(
            missing.error.as_deref().unwrap().contains("cannot read"),
            "{missing:?}"
        );
        assert_eq!(missing.format, Some(Format::CargoToml));
        assert_eq!(good.error, None);
        assert_eq!(good.dependencies[0].name, "golang.org/x/text");
        assert_eq!(unknown.format, None);
        assert_eq!(unknown.ecosystem, None);
        assert!(unknown.error.as_deref().unwrap().contains("--format"));

        let errors = report.errors_text();
        assert_eq!(errors.lines().count(), 2, "{errors}");
        assert!(errors.contains("Cargo.toml: cannot read"), "{errors}");
        assert!(report.to_text().contains("golang.org/x/text"));
        assert!(!report.to_text().contains("notes.txt"));
    }

    #[test]
    fn a_forced_format_reads_any_file_name() {
        let dir = temp_dir();
        let path = dir.path().join("deps.txt");
        fs::write(&path, "requests==2.31.0\n").unwrap();
        let report = inspect(&[&path], Some(Format::Requirements));
        assert_eq!(report.exit_status(), 0);
        assert_eq!(report.files[0].dependencies[0].requirement, "==2.31.0");
    }

    #[test]
    fn files_over_the_limit_are_refused_with_their_size() {
        let dir = temp_dir();
        let path = dir.path().join("package.json");
        let file = File::create(&path).unwrap();
        file.set_len(DEFAULT_MAX_BYTES as u64 + 10).unwrap();
        let report = inspect(&[&path], None);
        let error = report.files[0].error.as_deref().unwrap();
        assert!(
            error.contains(&format!("{} bytes", DEFAULT_MAX_BYTES + 10)),
            "{error}"
        );
    }

    #[test]
    fn funding_files_have_no_ecosystem() {
        let dir = temp_dir();
        let path = dir.path().join("funding.json");
        fs::write(&path, "{}").unwrap();
        let report = inspect(&[&path], None);
        assert_eq!(report.files[0].format, Some(Format::FundingJson));
        assert_eq!(report.files[0].ecosystem, None);
    }

    #[test]
    fn json_has_every_key_even_when_empty() {
        let report = Report {
            files: vec![FileReport {
                path: "x".into(),
                ecosystem: None,
                format: None,
                dependencies: vec![DependencyReport {
                    name: "A".into(),
                    normalized_name: "a".into(),
                    requirement: String::new(),
                    kind: DependencyKind::Peer,
                    resolved_version: None,
                    direct: None,
                    local: true,
                    replaces: None,
                }],
                funding: vec![],
                error: Some("boom".into()),
            }],
        };
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "path": "x", "ecosystem": null, "format": null,
                "dependencies": [{
                    "name": "A", "normalized_name": "a", "requirement": "", "kind": "peer",
                    "resolved_version": null, "direct": null, "local": true,
                    "replaces": null
                }],
                "funding": [], "error": "boom"
            }])
        );
    }

    #[test]
    fn text_rows_show_resolution_and_normalized_names() {
        let row = dependency_row(&DependencyReport {
            name: "Django".into(),
            normalized_name: "django".into(),
            requirement: ">=4".into(),
            kind: DependencyKind::Runtime,
            resolved_version: Some("4.2.1".into()),
            direct: Some(true),
            local: false,
            replaces: None,
        });
        assert_eq!(
            row,
            ["Django (django)", ">=4", "runtime", "4.2.1", "yes", "no"].map(str::to_owned)
        );
        let replaced = dependency_row(&DependencyReport {
            name: "example.com/fork/net".into(),
            normalized_name: "example.com/fork/net".into(),
            requirement: "v1.4.5".into(),
            kind: DependencyKind::Runtime,
            resolved_version: None,
            direct: Some(true),
            local: false,
            replaces: Some(Replaced {
                name: "golang.org/x/net".into(),
                requirement: "v1.2.3".into(),
            }),
        });
        assert_eq!(
            replaced[0],
            "example.com/fork/net (replaces golang.org/x/net v1.2.3)"
        );
    }

    #[test]
    fn unknown_format_names_are_refused_with_the_valid_ones() {
        let error = parse_format("package.jsn").unwrap_err();
        assert!(error.contains("package.json"), "{error}");
        assert_eq!(parse_format("Cargo.lock"), Ok(Format::CargoLock));
    }
}
