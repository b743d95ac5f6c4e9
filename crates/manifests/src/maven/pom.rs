//! `pom.xml`: the project's own dependencies, including those of its profiles.
//!
//! Not dependencies: build and reporting plugins (and their dependencies), and the
//! `dependencyManagement` section, which only pins versions (it still fills in the version of
//! a dependency that omits one, as Maven does). `${property}` references are substituted from
//! the pom's own `<properties>` and project coordinates; anything else (a parent's or the
//! environment's properties) is kept verbatim.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
};

use crate::xml::{self, Element};
use crate::{Format, ManifestError, ParsedDependency, ParsedManifest};
use wump_core::{DependencyKind, Ecosystem};

/// Longest chain of properties referring to properties that is followed.
const MAX_PROPERTY_NESTING: usize = 16;
/// Longest substituted value; past it the value is kept as written. Coordinates and versions
/// are short.
const MAX_SUBSTITUTED_LEN: usize = 256;
/// Most bytes of expanded property values remembered for reuse.
const MAX_CACHED_BYTES: usize = 4 * 1024 * 1024;
/// Most property look-ups for one value, so that properties doubling each other stay cheap.
const MAX_EXPANSIONS: usize = 256;

/// Parses a `pom.xml`.
pub(super) fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let project = xml::parse(Format::PomXml, text)?;
    if !project.is("project") {
        return Err(ManifestError::syntax(
            Format::PomXml,
            format!(
                "expected a <project> root element, found <{}>",
                project.name
            ),
        ));
    }
    let properties = Properties::of(&project);
    let mut managed = HashMap::new();
    for dep in project.descendants(&["dependencyManagement", "dependencies", "dependency"]) {
        if let (Some(name), Some(version)) =
            (coordinates(dep, &properties), dep.child_text("version"))
        {
            managed
                .entry(name)
                .or_insert_with(|| properties.substitute(version));
        }
    }
    let declared = project
        .descendants(&["dependencies", "dependency"])
        .into_iter()
        .chain(project.descendants(&["profiles", "profile", "dependencies", "dependency"]));
    let dependencies = declared
        .filter_map(|dep| dependency(dep, &properties, &managed))
        .collect();
    Ok(ParsedManifest {
        dependencies,
        ..ParsedManifest::default()
    })
}

/// `groupId:artifactId`, substituted; `None` when either is missing.
fn coordinates(dep: &Element, properties: &Properties) -> Option<String> {
    let group = properties.substitute(dep.child_text("groupId")?);
    let artifact = properties.substitute(dep.child_text("artifactId")?);
    Some(format!("{}:{}", group.trim(), artifact.trim()))
}

fn dependency(
    dep: &Element,
    properties: &Properties,
    managed: &HashMap<String, String>,
) -> Option<ParsedDependency> {
    let name = coordinates(dep, properties)?;
    let scope = dep
        .child_text("scope")
        .map(|s| properties.substitute(s).to_ascii_lowercase());
    let (kind, local) = match scope.as_deref() {
        None | Some("compile") | Some("runtime") => (DependencyKind::Runtime, false),
        Some("test") => (DependencyKind::Test, false),
        Some("provided") => (DependencyKind::Peer, false),
        // A jar from the local file system (`<systemPath>`), not from a repository.
        Some("system") => (DependencyKind::Runtime, true),
        // Imports a BOM's managed versions: declares no dependency itself.
        Some("import") => return None,
        Some(_) => (DependencyKind::Runtime, false),
    };
    // `<optional>` only changes what consumers inherit; the project itself still needs it,
    // so it is reported as optional in place of runtime, and test/provided keep their kind.
    let optional = dep
        .child_text("optional")
        .is_some_and(|o| properties.substitute(o).eq_ignore_ascii_case("true"));
    let kind = if optional && kind == DependencyKind::Runtime {
        DependencyKind::Optional
    } else {
        kind
    };
    let requirement = match dep.child_text("version") {
        Some(version) => properties.substitute(version),
        None => managed.get(&name).cloned().unwrap_or_default(),
    };
    let parsed = ParsedDependency::new(Ecosystem::Maven, name, requirement, kind);
    Some(if local { parsed.local() } else { parsed })
}

/// The values `${name}` can refer to inside this pom.
#[derive(Debug, Default)]
struct Properties {
    values: HashMap<String, String>,
    /// Each property's expansion, computed once (`None`: too long to expand).
    expanded: RefCell<HashMap<String, Option<String>>>,
    expanded_bytes: Cell<usize>,
}

impl Properties {
    fn of(project: &Element) -> Self {
        let mut values = HashMap::new();
        let parent = project.child("parent");
        let inherited = |name: &str| {
            project
                .child_text(name)
                .or_else(|| parent.and_then(|p| p.child_text(name)))
        };
        for (key, value) in [
            ("groupId", inherited("groupId")),
            ("version", inherited("version")),
            ("artifactId", project.child_text("artifactId")),
        ] {
            if let Some(value) = value {
                // `pom.*` and bare names are Maven 2 spellings still found in the wild.
                for prefix in ["project.", "pom.", ""] {
                    values.insert(format!("{prefix}{key}"), value.to_owned());
                }
            }
        }
        if let Some(parent) = parent {
            for key in ["groupId", "version", "artifactId"] {
                if let Some(value) = parent.child_text(key) {
                    values.insert(format!("project.parent.{key}"), value.to_owned());
                    values.insert(format!("parent.{key}"), value.to_owned());
                }
            }
        }
        for property in project
            .descendants(&["properties"])
            .iter()
            .flat_map(|p| &p.children)
        {
            values.insert(property.name.clone(), property.text().to_owned());
        }
        Properties {
            values,
            ..Properties::default()
        }
    }

    /// `text` with every resolvable `${name}` replaced; unresolvable ones stay as written.
    fn substitute(&self, text: &str) -> String {
        let mut expansion = Expansion {
            visiting: Vec::new(),
            budget: MAX_EXPANSIONS,
        };
        self.expand(text, &mut expansion)
            .unwrap_or_else(|| text.to_owned())
    }

    /// `None` when the result would grow past [`MAX_SUBSTITUTED_LEN`] or the look-up budget.
    fn expand<'a>(&'a self, text: &str, expansion: &mut Expansion<'a>) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let known = self.values.get_key_value(name);
            match known {
                Some((key, value)) if expansion.may_enter(key) => {
                    out.push_str(&self.property(key, value, expansion)?);
                }
                _ => out.push_str(&rest[start..start + 2 + end + 1]),
            }
            if out.len() > MAX_SUBSTITUTED_LEN {
                return None;
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        (out.len() <= MAX_SUBSTITUTED_LEN).then_some(out)
    }
}

impl Properties {
    /// Property `key`'s expanded `value`, from the cache when it was expanded before.
    fn property<'a>(
        &'a self,
        key: &'a str,
        value: &str,
        expansion: &mut Expansion<'a>,
    ) -> Option<String> {
        if let Some(known) = self.expanded.borrow().get(key) {
            return known.clone();
        }
        expansion.budget = expansion.budget.checked_sub(1)?;
        expansion.visiting.push(key);
        let expanded = self.expand(value, expansion);
        expansion.visiting.pop();
        let size = key.len() + expanded.as_ref().map_or(0, String::len);
        if self.expanded_bytes.get() + size <= MAX_CACHED_BYTES {
            self.expanded_bytes.set(self.expanded_bytes.get() + size);
            self.expanded
                .borrow_mut()
                .insert(key.to_owned(), expanded.clone());
        }
        expanded
    }
}

/// The properties being expanded (to stop cycles) and the look-ups left.
#[derive(Debug)]
struct Expansion<'a> {
    visiting: Vec<&'a str>,
    budget: usize,
}

impl Expansion<'_> {
    fn may_enter(&self, key: &str) -> bool {
        self.visiting.len() < MAX_PROPERTY_NESTING && !self.visiting.contains(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(text: &str) -> Vec<ParsedDependency> {
        parse(text).unwrap().dependencies
    }

    fn pom(body: &str) -> String {
        format!(
            "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\
             <modelVersion>4.0.0</modelVersion>{body}</project>"
        )
    }

    fn summary(deps: &[ParsedDependency]) -> Vec<(&str, &str, DependencyKind)> {
        deps.iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str(), d.kind))
            .collect()
    }

    #[test]
    fn scopes_map_to_kinds() {
        let text = pom("<dependencies>\
            <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13</version><scope>test</scope></dependency>\
            <dependency><groupId>javax.servlet</groupId><artifactId>servlet-api</artifactId><version>2.5</version><scope>provided</scope></dependency>\
            <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7</version><scope>runtime</scope></dependency>\
            <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId><version>33.0</version></dependency>\
            </dependencies>");
        assert_eq!(
            summary(&deps(&text)),
            [
                ("junit:junit", "4.13", DependencyKind::Test),
                ("javax.servlet:servlet-api", "2.5", DependencyKind::Peer),
                ("org.slf4j:slf4j-simple", "1.7", DependencyKind::Runtime),
                ("com.google.guava:guava", "33.0", DependencyKind::Runtime),
            ]
        );
    }

    #[test]
    fn system_scope_is_local_and_import_scope_declares_nothing() {
        let text = pom("<dependencies>\
            <dependency><groupId>com.sun</groupId><artifactId>tools</artifactId><version>1.8</version>\
              <scope>system</scope><systemPath>${java.home}/../lib/tools.jar</systemPath></dependency>\
            <dependency><groupId>org.springframework</groupId><artifactId>spring-framework-bom</artifactId>\
              <version>6.1.0</version><type>pom</type><scope>import</scope></dependency>\
            </dependencies>");
        let deps = deps(&text);
        assert_eq!(deps.len(), 1);
        assert!(deps[0].local);
        assert_eq!(deps[0].name, "com.sun:tools");
    }

    #[test]
    fn optional_compile_dependencies_are_optional() {
        let text = pom("<dependencies>\
            <dependency><groupId>a</groupId><artifactId>b</artifactId><version>1</version><optional>true</optional></dependency>\
            <dependency><groupId>a</groupId><artifactId>c</artifactId><version>1</version><optional>false</optional></dependency>\
            <dependency><groupId>a</groupId><artifactId>d</artifactId><version>1</version><scope>test</scope><optional>true</optional></dependency>\
            </dependencies>");
        let kinds: Vec<_> = deps(&text).iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                DependencyKind::Optional,
                DependencyKind::Runtime,
                DependencyKind::Test
            ]
        );
    }

    #[test]
    fn properties_are_substituted_and_unknown_ones_kept() {
        let text = pom(
            "<parent><groupId>org.example</groupId><artifactId>parent</artifactId><version>2.0</version></parent>\
            <artifactId>app</artifactId>\
            <properties><jackson.version>2.17.0</jackson.version><alias>${jackson.version}</alias><loop>${loop}</loop></properties>\
            <dependencies>\
            <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-core</artifactId><version>${alias}</version></dependency>\
            <dependency><groupId>${project.groupId}</groupId><artifactId>${project.artifactId}-api</artifactId><version>${project.version}</version></dependency>\
            <dependency><groupId>x</groupId><artifactId>y</artifactId><version>${parent.version}</version></dependency>\
            <dependency><groupId>x</groupId><artifactId>z</artifactId><version>${undefined.version}</version></dependency>\
            <dependency><groupId>x</groupId><artifactId>w</artifactId><version>${loop}</version></dependency>\
            </dependencies>",
        );
        let deps = deps(&text);
        let got: Vec<_> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("com.fasterxml.jackson.core:jackson-core", "2.17.0"),
                ("org.example:app-api", "2.0"),
                ("x:y", "2.0"),
                ("x:z", "${undefined.version}"),
                ("x:w", "${loop}"),
            ]
        );
    }

    #[test]
    fn exponential_properties_stay_bounded() {
        let mut props = String::from("<p0></p0>");
        for i in 1..40 {
            props.push_str(&format!(
                "<p{i}>${{p{prev}}}${{p{prev}}}</p{i}>",
                prev = i - 1
            ));
        }
        let text = pom(&format!(
            "<properties>{props}</properties><dependencies>\
            <dependency><groupId>a</groupId><artifactId>b</artifactId><version>${{p39}}</version></dependency>\
            </dependencies>"
        ));
        assert_eq!(deps(&text)[0].requirement, "${p39}");
    }

    #[test]
    fn missing_versions_come_from_dependency_management_or_stay_empty() {
        let text = pom("<dependencyManagement><dependencies>\
            <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId><version>33.0</version></dependency>\
            <dependency><groupId>managed</groupId><artifactId>only</artifactId><version>1.0</version></dependency>\
            </dependencies></dependencyManagement>\
            <dependencies>\
            <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId></dependency>\
            <dependency><groupId>org.freemarker</groupId><artifactId>freemarker</artifactId></dependency>\
            </dependencies>");
        let deps = deps(&text);
        let got: Vec<_> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.requirement.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("com.google.guava:guava", "33.0"),
                ("org.freemarker:freemarker", "")
            ]
        );
    }

    #[test]
    fn plugins_are_not_dependencies_but_profiles_are() {
        let text = pom(
            "<build><plugins><plugin><groupId>org.apache.maven.plugins</groupId>\
              <artifactId>maven-compiler-plugin</artifactId><version>3.11</version>\
              <dependencies><dependency><groupId>p</groupId><artifactId>q</artifactId><version>1</version></dependency></dependencies>\
            </plugin></plugins></build>\
            <profiles><profile><id>it</id><dependencies>\
              <dependency><groupId>org.testcontainers</groupId><artifactId>postgresql</artifactId><version>1.19</version><scope>test</scope></dependency>\
            </dependencies></profile></profiles>",
        );
        assert_eq!(
            summary(&deps(&text)),
            [(
                "org.testcontainers:postgresql",
                "1.19",
                DependencyKind::Test
            )]
        );
    }

    #[test]
    fn whitespace_around_coordinates_is_trimmed() {
        let text = pom(
            "<dependencies><dependency><groupId> org.apache.maven</groupId>\
            <artifactId>maven-core </artifactId><version> 3.9.6 </version></dependency></dependencies>",
        );
        assert_eq!(
            summary(&deps(&text)),
            [(
                "org.apache.maven:maven-core",
                "3.9.6",
                DependencyKind::Runtime
            )]
        );
    }

    #[test]
    fn other_documents_are_errors() {
        let err = parse("<packages><package id=\"x\"/></packages>").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a <project> root element, found <packages>"),
            "{err}"
        );
        assert!(parse("<project><dependencies>").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_documents_never_panic(
            body in r#"(<dependency>|</dependency>|<version>|</version>|<groupId>a</groupId>|<artifactId>b</artifactId>|<optional>true</optional>|<scope>[a-z]*</scope>|\$\{[a-z.]*\}?|<properties>|</properties>|<[a-z.]{1,3}>|</[a-z.]{1,3}>|&[a-z#0-9]*;?|[a-z<>/=" ]){0,60}"#
        ) {
            let _ = parse(&pom(&format!("<dependencies>{body}</dependencies>")));
            let _ = parse(&body);
        }
    }
}
