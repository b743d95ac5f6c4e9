//! What the API answers: response bodies, built from database rows. Internal ids stay
//! inside; a client names things by ecosystem and name, host and login, or full name.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use wump_db::{
    funding,
    tables::{
        dependencies::Dependency, organizations::Organization, packages::Package,
        repositories::Repository,
    },
    views::{Dependent, OrganizationDependency, OrganizationUsage, SearchHit, Stats},
};

/// One way to fund a project or an organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundingLinkView {
    /// `github`, `open_collective`, `patreon`, `tidelift`, `custom`, …
    pub platform: String,
    pub url: String,
}

fn funding(value: &serde_json::Value) -> Vec<FundingLinkView> {
    funding::funding_links(value)
        .into_iter()
        .map(|l| FundingLinkView {
            platform: l.platform,
            url: l.url,
        })
        .collect()
}

/// A package: metadata, funding, and how many repositories and organizations use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    #[schema(example = "npm")]
    pub ecosystem: String,
    #[schema(example = "@babel/core")]
    pub name: String,
    /// The registry's canonical spelling, under which names are matched.
    pub normalized_name: String,
    pub description: Option<String>,
    pub homepage_url: Option<String>,
    pub repository_url: Option<String>,
    pub latest_version: Option<String>,
    /// Where the package itself asks for funding.
    pub funding: Vec<FundingLinkView>,
    /// Repositories (neither archived nor forks) that depend on it: the number of items
    /// the default `/dependents` listing walks through.
    pub dependents_count: i32,
    /// Organizations owning those repositories: the length of the `/organizations` listing.
    pub organizations_count: i32,
    pub metadata_refreshed_at: Option<DateTime<Utc>>,
    /// The organizations whose repositories using it have the most stars (up to 5).
    pub top_organizations: Vec<OrganizationUsageView>,
}

impl PackageView {
    /// The view of `package` with its top organizations.
    pub fn new(package: Package, top: Vec<OrganizationUsage>) -> Self {
        Self {
            funding: funding(&package.funding),
            ecosystem: package.ecosystem.to_string(),
            name: package.name,
            normalized_name: package.normalized_name,
            description: package.description,
            homepage_url: package.homepage_url,
            repository_url: package.repository_url,
            latest_version: package.latest_version,
            dependents_count: package.dependents_count,
            organizations_count: package.organizations_count,
            metadata_refreshed_at: package.metadata_refreshed_at,
            top_organizations: top.into_iter().map(OrganizationUsageView::from).collect(),
        }
    }
}

/// Whom to ask for money: an organization's sponsors page, FUNDING.yml links and website.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationFunding {
    /// GitHub Sponsors listing, when the organization has one.
    pub sponsors_listing_url: Option<String>,
    /// Links from the organization's FUNDING.yml.
    pub links: Vec<FundingLinkView>,
    pub website_url: Option<String>,
}

impl OrganizationFunding {
    fn of(organization: &Organization) -> Self {
        Self {
            sponsors_listing_url: organization.sponsors_listing_url.clone(),
            links: funding(&organization.funding),
            website_url: organization.website_url.clone(),
        }
    }
}

/// An organization using a package, with that usage rolled up.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationUsageView {
    #[schema(example = "github.com")]
    pub host: String,
    pub login: String,
    /// `organization` or `user`.
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Its repositories (neither archived nor forks) that depend on the package.
    pub repositories_count: i32,
    /// The stars of those repositories.
    pub stars_sum: i64,
    /// When the first of them was first seen using the package.
    pub first_seen_at: DateTime<Utc>,
    pub funding: OrganizationFunding,
}

impl From<OrganizationUsage> for OrganizationUsageView {
    fn from(usage: OrganizationUsage) -> Self {
        let funding = OrganizationFunding::of(&usage.organization);
        let o = usage.organization;
        Self {
            host: o.host,
            login: o.login,
            kind: o.kind.to_string(),
            name: o.name,
            description: o.description,
            repositories_count: usage.repositories_count,
            stars_sum: usage.stars_sum,
            first_seen_at: usage.first_seen_at,
            funding,
        }
    }
}

/// A repository, as listings show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositorySummary {
    #[schema(example = "github.com")]
    pub host: String,
    #[schema(example = "rust-lang/crates.io")]
    pub full_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub stars: i32,
    pub forks: i32,
    pub archived: bool,
    pub fork: bool,
    pub pushed_at: Option<DateTime<Utc>>,
}

impl From<Repository> for RepositorySummary {
    fn from(r: Repository) -> Self {
        Self {
            host: r.host,
            full_name: r.full_name,
            description: r.description,
            language: r.language,
            stars: r.stars,
            forks: r.forks,
            archived: r.archived,
            fork: r.fork,
            pushed_at: r.pushed_at,
        }
    }
}

/// How a repository uses a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// The most significant kind: runtime, peer, optional, build, development or test.
    #[schema(example = "runtime")]
    pub kind: String,
    /// Every kind it is used as.
    pub kinds: Vec<String>,
    /// The version requirement as the manifest writes it.
    pub requirement: String,
    /// The version a lockfile pins, when there is one.
    pub resolved_version: Option<String>,
    /// Declared by the repository itself (true) or pulled in by another package (false);
    /// null when the manifests do not say.
    pub direct: Option<bool>,
    /// The manifests and lockfiles that declare it.
    pub manifest_paths: Vec<String>,
    /// When wump first saw the repository use the package (history starts there).
    pub first_seen_at: DateTime<Utc>,
}

impl From<Dependency> for Usage {
    fn from(d: Dependency) -> Self {
        Self {
            kind: d.kind.to_string(),
            kinds: d.kinds.iter().map(ToString::to_string).collect(),
            requirement: d.requirement,
            resolved_version: d.resolved_version,
            direct: d.direct,
            manifest_paths: d.manifest_paths,
            first_seen_at: d.first_seen_at,
        }
    }
}

/// A repository that depends on the package.
#[derive(Debug, Serialize, ToSchema)]
pub struct DependentView {
    pub repository: RepositorySummary,
    /// The login of the organization or user owning it.
    pub organization: String,
    pub usage: Usage,
}

impl From<Dependent> for DependentView {
    fn from(d: Dependent) -> Self {
        Self {
            repository: d.repository.into(),
            organization: d.organization_login,
            usage: d.edge.into(),
        }
    }
}

/// An organization (or a user account owning repositories).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    #[schema(example = "github.com")]
    pub host: String,
    pub login: String,
    /// `organization` or `user`.
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Repositories wump knows of.
    pub repositories_count: i32,
    /// Their stars.
    pub stars_total: i64,
    pub funding: OrganizationFunding,
    pub enriched_at: Option<DateTime<Utc>>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        Self {
            funding: OrganizationFunding::of(&o),
            host: o.host,
            login: o.login,
            kind: o.kind.to_string(),
            name: o.name,
            description: o.description,
            repositories_count: o.repositories_count,
            stars_total: o.stars_total,
            enriched_at: o.enriched_at,
        }
    }
}

/// A package, as listings show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageSummary {
    pub ecosystem: String,
    pub name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    pub funding: Vec<FundingLinkView>,
    pub dependents_count: i32,
}

impl From<Package> for PackageSummary {
    fn from(p: Package) -> Self {
        Self {
            funding: funding(&p.funding),
            ecosystem: p.ecosystem.to_string(),
            name: p.name,
            description: p.description,
            latest_version: p.latest_version,
            dependents_count: p.dependents_count,
        }
    }
}

/// A package an organization depends on, with how many of its repositories use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDependencyView {
    pub package: PackageSummary,
    pub repositories_count: i32,
    pub stars_sum: i64,
}

impl From<OrganizationDependency> for OrganizationDependencyView {
    fn from(d: OrganizationDependency) -> Self {
        Self {
            package: d.package.into(),
            repositories_count: d.repositories_count,
            stars_sum: d.stars_sum,
        }
    }
}

/// A repository and its dependencies, grouped by the manifest that declares them.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryView {
    #[serde(flatten)]
    pub repository: RepositorySummary,
    pub default_branch: Option<String>,
    /// When wump last read its manifests.
    pub parsed_at: Option<DateTime<Utc>>,
    pub manifests: Vec<ManifestView>,
}

/// One manifest or lockfile and what it declares.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestView {
    #[schema(example = "package.json")]
    pub path: String,
    pub dependencies: Vec<ManifestDependency>,
}

/// A dependency as a manifest declares it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestDependency {
    pub ecosystem: String,
    pub name: String,
    pub kind: String,
    pub kinds: Vec<String>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
}

impl RepositoryView {
    /// The view of `repository`; an edge declared by two manifests appears under both.
    pub fn new(repository: Repository, edges: Vec<(Dependency, Package)>) -> Self {
        let mut manifests: BTreeMap<String, Vec<ManifestDependency>> = BTreeMap::new();
        for (edge, package) in edges {
            for path in &edge.manifest_paths {
                manifests
                    .entry(path.clone())
                    .or_default()
                    .push(ManifestDependency {
                        ecosystem: package.ecosystem.to_string(),
                        name: package.name.clone(),
                        kind: edge.kind.to_string(),
                        kinds: edge.kinds.iter().map(ToString::to_string).collect(),
                        requirement: edge.requirement.clone(),
                        resolved_version: edge.resolved_version.clone(),
                        direct: edge.direct,
                    });
            }
        }
        Self {
            default_branch: repository.default_branch.clone(),
            parsed_at: repository.parsed_at,
            repository: repository.into(),
            manifests: manifests
                .into_iter()
                .map(|(path, dependencies)| ManifestView { path, dependencies })
                .collect(),
        }
    }
}

/// A search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitView {
    /// The package name or the organization login.
    pub name: String,
    /// The package's ecosystem (package search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// The organization's host (organization search).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Trigram similarity of the name to the query, 0 to 1.
    pub similarity: f32,
    /// Dependents (packages) or total stars (organizations): breaks ties.
    pub weight: i64,
}

impl SearchHitView {
    /// A package hit (`scope` is its ecosystem) or an organization hit (`scope` is its host).
    pub fn new(hit: SearchHit, package: bool) -> Self {
        let (ecosystem, host) = if package {
            (Some(hit.scope), None)
        } else {
            (None, Some(hit.scope))
        };
        Self {
            name: hit.name,
            ecosystem,
            host,
            similarity: hit.similarity,
            weight: hit.weight,
        }
    }
}

/// Packages of one ecosystem.
#[derive(Debug, Serialize, ToSchema)]
pub struct EcosystemStats {
    pub ecosystem: String,
    pub packages: i64,
    /// Packages with at least one dependent.
    pub packages_with_dependents: i64,
}

/// Job executions in one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobStats {
    /// `running`, `completed` or `failed`.
    pub status: String,
    pub count: i64,
}

/// Totals across everything wump knows, and how fresh it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub ecosystems: Vec<EcosystemStats>,
    pub repositories: i64,
    pub organizations: i64,
    pub dependencies: i64,
    pub jobs: Vec<JobStats>,
    /// The last time a repository's manifests were read.
    pub last_parsed_at: Option<DateTime<Utc>>,
    /// The last time an organization's profile and funding were refreshed.
    pub last_enriched_at: Option<DateTime<Utc>>,
}

impl From<Stats> for StatsView {
    fn from(s: Stats) -> Self {
        Self {
            ecosystems: s
                .packages_by_ecosystem
                .into_iter()
                .map(|(ecosystem, packages, with)| EcosystemStats {
                    ecosystem: ecosystem.to_string(),
                    packages,
                    packages_with_dependents: with,
                })
                .collect(),
            repositories: s.repositories,
            organizations: s.organizations,
            dependencies: s.dependencies,
            jobs: s
                .jobs_by_status
                .into_iter()
                .map(|(status, count)| JobStats {
                    status: status.to_string(),
                    count,
                })
                .collect(),
            last_parsed_at: s.last_parsed_at,
            last_enriched_at: s.last_enriched_at,
        }
    }
}

/// An item of a paginated listing, and the page body it goes in.
pub trait PageItem: Sized {
    /// The page body (one schema per listing in the OpenAPI document).
    type Page: Serialize;
    /// A page of `items`, `next_cursor` absent on the last page.
    fn page(items: Vec<Self>, next_cursor: Option<String>) -> Self::Page;
}

macro_rules! page {
    ($page:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page (the `Link` header carries the same
            /// URL); null on the last page.
            pub next_cursor: Option<String>,
        }

        impl PageItem for $item {
            type Page = $page;
            fn page(items: Vec<Self>, next_cursor: Option<String>) -> $page {
                $page { items, next_cursor }
            }
        }
    };
}

page!(
    DependentsPage,
    DependentView,
    "A page of a package's dependents."
);
page!(
    OrganizationUsagePage,
    OrganizationUsageView,
    "A page of the organizations using a package."
);
page!(
    RepositoriesPage,
    RepositorySummary,
    "A page of an organization's repositories."
);
page!(
    OrganizationDependenciesPage,
    OrganizationDependencyView,
    "A page of the packages an organization depends on."
);
page!(SearchPage, SearchHitView, "A page of search results.");
