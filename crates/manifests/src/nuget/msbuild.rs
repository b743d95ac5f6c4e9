//! MSBuild project files, `Directory.Build.props` / `Directory.Build.targets` and
//! `Directory.Packages.props`.
//!
//! Items read anywhere in the file (also inside `Choose`/`When`), except inside `Target`s,
//! which run at build time:
//! - `PackageReference Include=…`: a dependency, its version from the `Version` (or
//!   `VersionOverride`) attribute or child element, else from the central
//!   `Directory.Packages.props` above it (central package management), else empty.
//!   `PrivateAssets="all"` makes it development-only: consumers of the project never get it
//!   (analyzers, build tools). A `Condition` does not drop an item: the project uses the
//!   package under some condition (a target framework, a configuration).
//! - `PackageReference Update=…` without `Include`: skipped. It changes an item declared
//!   elsewhere (by the SDK or another file), typically only its version, like a managed version.
//! - `PackageVersion` (central package management): managed-only versions, no dependency.
//! - `GlobalPackageReference`: a package added to every project with `PrivateAssets="all"`,
//!   so development.
//! - `DotNetCliToolReference`: a project-scoped CLI tool package, development.
//! - `ProjectReference`: another project of the repository, reported as local under its file
//!   name without extension, the path as requirement.
//! - `Reference Include="Name, Version=…"`: an assembly reference from pre-PackageReference
//!   projects, reported with the assembly's name and version (usually the package's);
//!   framework assemblies without a version are skipped.
//!
//! `Directory.Build.props` and `Directory.Build.targets` are read like projects: MSBuild
//! imports them into every project below them, so their package references are the
//! repository's dependencies once.
//!
//! `$(Property)` references in versions are filled in from literal properties, looked up as
//! MSBuild's evaluation order makes them win: the nearest `Directory.Build.targets`
//! (imported last), the file's own, the nearest `Directory.Packages.props`, then the nearest
//! `Directory.Build.props` (imported first), each followed by the ones above it that it
//! imports (`GetPathOfFileAbove`). Others are kept as written.

use std::collections::HashMap;

use crate::{
    Format, ManifestError, ParsedDependency, ParsedManifest,
    xml::{self, Element},
};
use wump_core::{DependencyKind, Ecosystem};

/// What other MSBuild files use from one of the shared files (`Directory.*.props/targets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SharedFile {
    properties: Properties,
    /// `PackageVersion` items: lower-cased package id → version as written.
    central_versions: HashMap<String, String>,
    /// Whether it imports the same file from the directories above (the documented
    /// `GetPathOfFileAbove` idiom), so their properties and versions apply too.
    pub(crate) imports_parent: bool,
}

/// The shared files above one MSBuild file, each list nearest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shared<'c> {
    pub(crate) build_props: Vec<&'c SharedFile>,
    pub(crate) packages_props: Vec<&'c SharedFile>,
    pub(crate) build_targets: Vec<&'c SharedFile>,
}

/// Reads what a shared file gives the files below it.
pub(crate) fn learn(format: Format, text: &str) -> Result<SharedFile, ManifestError> {
    let project = project(format, text)?;
    let elements = static_elements(&project);
    let central_versions = elements
        .iter()
        .filter(|element| element.is("PackageVersion"))
        .filter_map(|element| {
            let id = element.attr("Include")?.trim();
            let version = metadata(element, "Version")?;
            (!id.is_empty()).then(|| (id.to_ascii_lowercase(), version.to_owned()))
        })
        .collect();
    let imports_parent = elements.iter().any(|element| {
        element.is("Import")
            && element
                .attr("Project")
                .is_some_and(|project| project.contains("GetPathOfFileAbove"))
    });
    Ok(SharedFile {
        properties: Properties::of(&elements),
        central_versions,
        imports_parent,
    })
}

/// Parses a project or shared file (`format` names it in errors), with what the shared
/// files above it give.
pub(super) fn parse(
    format: Format,
    text: &str,
    shared: &Shared<'_>,
) -> Result<ParsedManifest, ManifestError> {
    let project = project(format, text)?;
    let elements = static_elements(&project);
    let own = Properties::of(&elements);
    let lookup = Lookup::new(&own, shared);
    let mut dependencies = Vec::new();
    for element in elements {
        item(element, &lookup, &mut dependencies);
    }
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

/// The document's `<Project>` root.
fn project(format: Format, text: &str) -> Result<Element, ManifestError> {
    let project = xml::parse(format, text)?;
    if !project.is("Project") {
        let message = format!(
            "expected a <Project> root element, found <{}>",
            project.name
        );
        return Err(ManifestError::syntax(format, message));
    }
    Ok(project)
}

/// Every element outside `Target`s, depth-first in document order (the tree's depth is
/// already bounded by the XML reader).
fn static_elements(project: &Element) -> Vec<&Element> {
    let mut elements = Vec::new();
    let mut pending = vec![project];
    while let Some(element) = pending.pop() {
        pending.extend(
            element
                .children
                .iter()
                .rev()
                .filter(|child| !child.is("Target")),
        );
        elements.push(element);
    }
    elements
}

/// Adds the dependencies one item declares.
fn item(element: &Element, lookup: &Lookup<'_>, out: &mut Vec<ParsedDependency>) {
    let name = element.name.as_str();
    let includes = || {
        element
            .attr("Include")
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|i| !i.is_empty())
    };
    let kind = if name.eq_ignore_ascii_case("GlobalPackageReference")
        || name.eq_ignore_ascii_case("DotNetCliToolReference")
        || private_assets_all(element)
    {
        DependencyKind::Development
    } else {
        DependencyKind::Runtime
    };
    if [
        "PackageReference",
        "GlobalPackageReference",
        "DotNetCliToolReference",
    ]
    .iter()
    .any(|n| element.is(n))
    {
        let written = metadata(element, "VersionOverride").or_else(|| metadata(element, "Version"));
        out.extend(includes().map(|id| {
            let version = written
                .or_else(|| lookup.central_version(id))
                .map(|version| lookup.substitute(version))
                .unwrap_or_default();
            ParsedDependency::new(Ecosystem::Nuget, id, version, kind)
        }));
    } else if element.is("ProjectReference") {
        out.extend(includes().map(|path| project_reference(path, kind)));
    } else if element.is("Reference") {
        out.extend(includes().filter_map(assembly_reference));
    }
}

/// One file's literal properties (`<PropertyGroup><FooVersion>1.2.3</FooVersion>`). Names
/// are case-insensitive; a property set to two different values (per target framework,
/// say) or to an expression is ambiguous: `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Properties(HashMap<String, Option<String>>);

impl Properties {
    fn of(elements: &[&Element]) -> Self {
        let mut values: HashMap<String, Option<String>> = HashMap::new();
        let groups = elements
            .iter()
            .filter(|element| element.is("PropertyGroup"));
        for property in groups.flat_map(|group| &group.children) {
            let value = property.text();
            let value = (!value.contains("$(")).then(|| value.to_owned());
            values
                .entry(property.name.to_ascii_lowercase())
                .and_modify(|known| {
                    if *known != value {
                        *known = None;
                    }
                })
                .or_insert(value);
        }
        Properties(values)
    }
}

/// Properties and central versions as one MSBuild file sees them, the winning definition
/// first.
#[derive(Debug)]
struct Lookup<'p> {
    properties: Vec<&'p Properties>,
    central: Vec<&'p SharedFile>,
}

impl<'p> Lookup<'p> {
    fn new(own: &'p Properties, shared: &Shared<'p>) -> Self {
        let of = |files: &[&'p SharedFile]| {
            files
                .iter()
                .map(|file| &file.properties)
                .collect::<Vec<_>>()
        };
        let mut properties = of(&shared.build_targets);
        properties.push(own);
        properties.extend(of(&shared.packages_props));
        properties.extend(of(&shared.build_props));
        Lookup {
            properties,
            central: shared.packages_props.clone(),
        }
    }

    /// The central version of package `id`, as written.
    fn central_version(&self, id: &str) -> Option<&'p str> {
        let id = id.to_ascii_lowercase();
        self.central
            .iter()
            .find_map(|file| file.central_versions.get(&id))
            .map(String::as_str)
    }

    /// The winning definition of property `name`; `None` when it is unknown or ambiguous.
    fn property(&self, name: &str) -> Option<&'p str> {
        let name = name.trim().to_ascii_lowercase();
        self.properties
            .iter()
            .find_map(|properties| properties.0.get(&name))?
            .as_deref()
    }

    /// `text` with every known `$(Name)` replaced.
    fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("$(") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let value = after
                .find(')')
                .and_then(|close| Some((close, self.property(&after[..close])?)));
            match value {
                Some((close, value)) => {
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Item metadata, written either as an attribute or as a child element.
fn metadata<'a>(element: &'a Element, name: &str) -> Option<&'a str> {
    element
        .attr(name)
        .map(str::trim)
        .or_else(|| element.child_text(name))
        .filter(|v| !v.is_empty())
}

fn private_assets_all(element: &Element) -> bool {
    metadata(element, "PrivateAssets").is_some_and(|assets| {
        assets
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("all"))
    })
}

fn project_reference(path: &str, kind: DependencyKind) -> ParsedDependency {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let name = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    ParsedDependency::new(Ecosystem::Nuget, name, path, kind).local()
}

/// `Name, Version=1.2.3.0, Culture=neutral, …` → the name and version, when it has one.
fn assembly_reference(include: &str) -> Option<ParsedDependency> {
    let mut parts = include.split(',').map(str::trim);
    let name = parts.next().filter(|n| !n.is_empty())?;
    let version = parts.find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("Version")
            .then(|| value.trim())
    })?;
    Some(ParsedDependency::new(
        Ecosystem::Nuget,
        name,
        version,
        DependencyKind::Runtime,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(text: &str) -> Vec<ParsedDependency> {
        parse(Format::MsbuildProject, text, &Shared::default())
            .unwrap()
            .dependencies
    }

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind, bool)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind, d.local))
            .collect()
    }

    const RUNTIME: DependencyKind = DependencyKind::Runtime;
    const DEVELOPMENT: DependencyKind = DependencyKind::Development;

    #[test]
    fn package_references_with_attribute_or_element_versions() {
        let text = r#"<Project Sdk="Microsoft.NET.Sdk">
  <ItemGroup>
    <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />
    <PackageReference Include="Serilog"><Version>[3.1,4.0)</Version></PackageReference>
    <PackageReference Include="Polly" />
  </ItemGroup>
</Project>"#;
        assert_eq!(
            summary(&deps(text)),
            [
                ("Newtonsoft.Json", "13.0.3", RUNTIME, false),
                ("Serilog", "[3.1,4.0)", RUNTIME, false),
                ("Polly", "", RUNTIME, false),
            ]
        );
        assert_eq!(deps(text)[0].normalized_name, "newtonsoft.json");
    }

    #[test]
    fn private_assets_all_is_development() {
        let text = r#"<Project>
  <ItemGroup>
    <PackageReference Include="StyleCop.Analyzers" Version="1.1.118" PrivateAssets="All" />
    <PackageReference Include="Nerdbank.GitVersioning" Version="3.6.133">
      <PrivateAssets>all</PrivateAssets>
      <IncludeAssets>runtime; build; native; contentfiles; analyzers</IncludeAssets>
    </PackageReference>
    <PackageReference Include="Dapper" Version="2.1.28" PrivateAssets="contentfiles;analyzers" />
  </ItemGroup>
</Project>"#;
        let kinds: Vec<_> = deps(text).iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DEVELOPMENT, DEVELOPMENT, RUNTIME]);
    }

    #[test]
    fn conditional_items_are_kept_and_update_only_items_skipped() {
        let text = r#"<Project>
  <ItemGroup Condition="'$(TargetFramework)' == 'net48'">
    <PackageReference Include="System.ValueTuple" Version="4.5.0" />
  </ItemGroup>
  <Choose><When Condition="'$(Configuration)' == 'Debug'"><ItemGroup>
    <PackageReference Include="Microsoft.Extensions.Logging.Debug" Version="8.0.0" Condition="true" />
  </ItemGroup></When></Choose>
  <ItemGroup>
    <PackageReference Update="Microsoft.NETCore.App" Version="2.2.0" />
  </ItemGroup>
  <Target Name="Extra"><ItemGroup><PackageReference Include="Dynamic.Only" Version="1.0.0" /></ItemGroup></Target>
</Project>"#;
        let names: Vec<_> = deps(text).iter().map(|d| d.name.clone()).collect();
        assert_eq!(
            names,
            ["System.ValueTuple", "Microsoft.Extensions.Logging.Debug"]
        );
    }

    #[test]
    fn versions_from_the_projects_own_properties() {
        let text = r#"<Project>
  <PropertyGroup>
    <EfCoreVersion>8.0.1</EfCoreVersion>
    <Tfm Condition="'$(X)' == 'a'">net8.0</Tfm>
    <Tfm Condition="'$(X)' == 'b'">net9.0</Tfm>
    <Derived>$(EfCoreVersion)-preview</Derived>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.EntityFrameworkCore" Version="$(efcoreversion)" />
    <PackageReference Include="A" Version="$(Tfm)" />
    <PackageReference Include="B" Version="$(Derived)" />
    <PackageReference Include="C" Version="$(FromDirectoryBuildProps)" />
  </ItemGroup>
</Project>"#;
        let got: Vec<_> = deps(text).iter().map(|d| d.requirement.clone()).collect();
        assert_eq!(
            got,
            [
                "8.0.1",
                "$(Tfm)",
                "$(Derived)",
                "$(FromDirectoryBuildProps)"
            ]
        );
    }

    #[test]
    fn project_references_are_local() {
        let text = r#"<Project><ItemGroup>
  <ProjectReference Include="..\Shared\Shared.csproj" />
  <ProjectReference Include="../Tools/Gen.fsproj" PrivateAssets="all" />
</ItemGroup></Project>"#;
        assert_eq!(
            summary(&deps(text)),
            [
                ("Shared", r"..\Shared\Shared.csproj", RUNTIME, true),
                ("Gen", "../Tools/Gen.fsproj", DEVELOPMENT, true)
            ]
        );
    }

    #[test]
    fn assembly_references_need_a_version() {
        let text = r#"<Project><ItemGroup>
  <Reference Include="log4net, Version=2.0.15.0, Culture=neutral, PublicKeyToken=669e0ddf0bb1aa2a">
    <HintPath>..\packages\log4net.2.0.15\lib\net45\log4net.dll</HintPath>
  </Reference>
  <Reference Include="System.Xml" />
</ItemGroup></Project>"#;
        assert_eq!(
            summary(&deps(text)),
            [("log4net", "2.0.15.0", RUNTIME, false)]
        );
    }

    #[test]
    fn central_package_management() {
        let props = r#"<Project>
  <PropertyGroup><ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup>
    <PackageVersion Include="Newtonsoft.Json" Version="13.0.3" />
    <GlobalPackageReference Include="Microsoft.SourceLink.GitHub" Version="8.0.0" />
  </ItemGroup>
</Project>"#;
        let deps = parse(Format::DirectoryPackagesProps, props, &Shared::default())
            .unwrap()
            .dependencies;
        assert_eq!(
            summary(&deps),
            [("Microsoft.SourceLink.GitHub", "8.0.0", DEVELOPMENT, false)]
        );
        let project = r#"<Project><ItemGroup>
  <PackageReference Include="Newtonsoft.Json" />
  <PackageReference Include="Serilog" VersionOverride="3.1.1" />
</ItemGroup></Project>"#;
        assert_eq!(
            summary(&self::deps(project)),
            [
                ("Newtonsoft.Json", "", RUNTIME, false),
                ("Serilog", "3.1.1", RUNTIME, false)
            ]
        );
    }

    #[test]
    fn cli_tool_references_are_development() {
        let text = r#"<Project><ItemGroup>
  <DotNetCliToolReference Include="Microsoft.EntityFrameworkCore.Tools.DotNet" Version="2.0.3" />
</ItemGroup></Project>"#;
        assert_eq!(
            summary(&deps(text)),
            [(
                "Microsoft.EntityFrameworkCore.Tools.DotNet",
                "2.0.3",
                DEVELOPMENT,
                false
            )]
        );
    }

    #[test]
    fn other_documents_are_errors() {
        let err = parse(Format::MsbuildProject, "<packages/>", &Shared::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a <Project> root element, found <packages>"),
            "{err}"
        );
        let err = parse(
            Format::MsbuildProject,
            "{\"version\": 1}",
            &Shared::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("malformed csproj"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_projects_never_panic(
            body in r#"(<PackageReference |<ProjectReference |<Reference |Include="[a-z, =.;\\/]*" |Version="[0-9.]*" |PrivateAssets="all" |/>|>|</PackageReference>|<ItemGroup>|</ItemGroup>|&[a-z#0-9]*;?|[a-z<>/=" ]){0,40}"#
        ) {
            let _ = parse(
                Format::MsbuildProject,
                &format!("<Project>{body}</Project>"),
                &Shared::default(),
            );
        }
    }
}
