//! Aggregators: services that index many registries and know who depends on what. They
//! answer [`crate::DataProvider::fetch_package`] and "repositories that depend on P"
//! ([`crate::DiscoveryQuery::DependentsOf`]) page by page.

mod ecosystems;
mod libraries_io;

pub use ecosystems::Ecosystems;
pub use libraries_io::LibrariesIo;

use chrono::{DateTime, Utc};
use wump_core::{OrganizationKind, RepoFullName};

use crate::{DiscoveredRepository, OwnerRef, RepoRef};

/// A repository as an aggregator lists it; `None` when its name is no `owner/name` (a
/// GitLab subgroup, say), which the worker could not store anyway.
#[derive(Debug, Default)]
pub(crate) struct ListedRepository<'a> {
    pub(crate) host: &'a str,
    pub(crate) full_name: &'a str,
    pub(crate) description: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) default_branch: Option<String>,
    pub(crate) stars: Option<u64>,
    pub(crate) forks: Option<u64>,
    pub(crate) archived: Option<bool>,
    pub(crate) fork: Option<bool>,
    pub(crate) pushed_at: Option<&'a str>,
}

impl ListedRepository<'_> {
    /// The common model; aggregators do not say whether the owner is an organization, so
    /// the owner kind is the default until the host is asked.
    pub(crate) fn into_discovered(self) -> Option<DiscoveredRepository> {
        let full_name: RepoFullName = self.full_name.parse().ok()?;
        let pushed_at = self
            .pushed_at
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc));
        Some(DiscoveredRepository {
            owner: OwnerRef {
                login: full_name.owner().to_owned(),
                kind: OrganizationKind::default(),
            },
            repo: RepoRef {
                host: self.host.to_owned(),
                full_name,
            },
            description: self.description.filter(|d| !d.trim().is_empty()),
            language: self.language.filter(|l| !l.trim().is_empty()),
            default_branch: self.default_branch.filter(|b| !b.trim().is_empty()),
            stars: saturate(self.stars),
            forks: saturate(self.forks),
            archived: self.archived.unwrap_or(false),
            fork: self.fork.unwrap_or(false),
            change_token: pushed_at.map(|at| at.to_rfc3339()),
            pushed_at,
        })
    }
}

fn saturate(count: Option<u64>) -> u32 {
    count.map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX))
}

/// The host name of a forge as aggregators spell it (`GitHub`, `https://gitlab.com`).
pub(crate) fn host_name(spelled: &str) -> String {
    let lower = spelled.trim().to_ascii_lowercase();
    let bare = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest)
        .trim_end_matches('/');
    match bare {
        "github" => "github.com".into(),
        "gitlab" => "gitlab.com".into(),
        "bitbucket" => "bitbucket.org".into(),
        "codeberg" => "codeberg.org".into(),
        other => other.strip_prefix("www.").unwrap_or(other).to_owned(),
    }
}
