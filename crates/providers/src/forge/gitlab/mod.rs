//! GitLab (gitlab.com and self-managed, REST API v4) as a repository host: project search
//! and group/user listings (keyset pagination where GitLab offers it, the `Link` header's
//! next page everywhere), the repository tree and raw files at a commit, group and user
//! profiles. `last_activity_at` is the change token. Limits and conditional requests go
//! through the shared forge client ([`super::client`]); tokens travel in `PRIVATE-TOKEN`.
//!
//! Projects in nested groups (`group/subgroup/project`) are skipped: wump names a
//! repository `owner/name`.

mod payload;

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;
use wump_core::{OrganizationKind, RepoFullName};

use super::{
    Forge, ForgeApi, ForgeSettings,
    client::{Auth, ForgeResponse, non_empty, timestamp},
    website,
};
use crate::{
    DataProvider, DiscoveredRepository, DiscoveryQuery, FileContent, FileTree, HttpCache,
    OwnerProfile, OwnerRef, PageToken, ProviderError, ProviderKind, RepoRef, RepositoryPage,
    TreeEntry, config::HttpSettings,
};
use payload::{Commit, Group, Project, TreeItem, User};

/// The name GitLab is configured under.
pub const PROVIDER: &str = "gitlab";
/// Items per page (GitLab's maximum).
const PER_PAGE: u32 = 100;
/// Tree pages read before the listing is called truncated.
const MAX_TREE_PAGES: u32 = 200;

/// The GitLab provider.
#[derive(Debug, Clone)]
pub struct GitLabProvider {
    forge: ForgeApi,
}

impl GitLabProvider {
    /// A provider for the instance at `settings.api_url` (e.g. `https://gitlab.com/api/v4`).
    pub fn new(
        settings: &ForgeSettings,
        http: &HttpSettings,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let forge = ForgeApi::new(
            PROVIDER,
            Auth::PrivateToken,
            settings,
            http,
            cache,
            super::web_host,
        )?;
        Ok(Self { forge })
    }

    /// A project's id in a path: `owner/name`, percent-encoded as one segment.
    fn project_id(repo: &RepoRef) -> String {
        repo.full_name.to_string()
    }

    /// The first page of a project search: `GET /projects?search=&pagination=keyset`
    /// (keyset pages are ordered by id; they never skip or repeat a project).
    fn search_url(&self, query: &str) -> Url {
        let mut url = self.forge.url(&["projects"]);
        url.query_pairs_mut()
            .append_pair("search", query)
            .append_pair("visibility", "public")
            .append_pair("pagination", "keyset")
            .append_pair("order_by", "id")
            .append_pair("sort", "asc")
            .append_pair("per_page", &PER_PAGE.to_string());
        url
    }

    fn listing_url(&self, kind: &str, login: &str) -> Url {
        let mut url = self.forge.url(&[kind, login, "projects"]);
        url.query_pairs_mut()
            .append_pair("order_by", "id")
            .append_pair("sort", "asc")
            .append_pair("per_page", &PER_PAGE.to_string());
        url
    }

    /// An owner's first page: `GET /groups/:id/projects`, or `/users/:id/projects` once
    /// the group answers 404.
    async fn owner_first_page(&self, login: &str) -> Result<ForgeResponse, ProviderError> {
        let response = self
            .forge
            .get(self.listing_url("groups", login), login)
            .await?;
        if !response.gone() {
            return Ok(response);
        }
        self.forge
            .get(self.listing_url("users", login), login)
            .await
    }

    fn map(&self, items: Vec<Project>) -> Vec<DiscoveredRepository> {
        items
            .into_iter()
            .filter(|p| p.visibility.as_deref().is_none_or(|v| v == "public"))
            .filter_map(|project| {
                let full_name = match RepoFullName::new(&project.namespace.full_path, &project.path)
                {
                    Ok(name) => name,
                    Err(error) => {
                        tracing::debug!(project = %project.path_with_namespace, %error, "skipping a project wump cannot name (nested group?)");
                        return None;
                    }
                };
                let kind = if project.namespace.kind == "group" {
                    OrganizationKind::Organization
                } else {
                    OrganizationKind::User
                };
                Some(DiscoveredRepository {
                    repo: RepoRef {
                        host: self.forge.host().to_owned(),
                        full_name,
                    },
                    owner: OwnerRef {
                        login: project.namespace.full_path,
                        kind,
                    },
                    description: non_empty(project.description),
                    language: None,
                    default_branch: project.default_branch.filter(|_| !project.empty_repo),
                    stars: project.star_count,
                    forks: project.forks_count,
                    archived: project.archived,
                    fork: project.forked_from_project.is_some(),
                    pushed_at: timestamp(project.last_activity_at.as_deref()),
                    change_token: project.last_activity_at,
                })
            })
            .collect()
    }

    /// `GET /projects/:id`.
    async fn project(&self, repo: &RepoRef) -> Result<Project, ProviderError> {
        let what = repo.full_name.to_string();
        let response = self
            .forge
            .get_found(
                self.forge.url(&["projects", &Self::project_id(repo)]),
                &what,
            )
            .await?;
        response.json(PROVIDER)
    }

    /// The commit SHA `revision` names (`GET /projects/:id/repository/commits/:sha`).
    async fn commit(&self, repo: &RepoRef, revision: &str) -> Result<String, ProviderError> {
        let what = format!("{}@{revision}", repo.full_name);
        let id = Self::project_id(repo);
        let response = self
            .forge
            .get_found(
                self.forge
                    .url(&["projects", &id, "repository", "commits", revision]),
                &what,
            )
            .await?;
        Ok(response.json::<Commit>(PROVIDER)?.id)
    }

    /// The recursive tree at a commit (default: the default branch's head), following
    /// keyset pages: files only (no directories, submodules or symlinks). GitLab's tree
    /// gives no sizes; `fetch_file` enforces the size limit instead.
    async fn tree(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let revision = match revision {
            Some(revision) => revision.to_owned(),
            None => {
                let project = self.project(repo).await?;
                match project.default_branch.filter(|_| !project.empty_repo) {
                    Some(branch) => branch,
                    None => return Ok(FileTree::default()),
                }
            }
        };
        let commit = self.commit(repo, &revision).await?;
        let what = format!("{}@{revision}", repo.full_name);
        let mut url = self
            .forge
            .url(&["projects", &Self::project_id(repo), "repository", "tree"]);
        url.query_pairs_mut()
            .append_pair("recursive", "true")
            .append_pair("ref", &commit)
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("pagination", "keyset");
        let mut entries = Vec::new();
        let mut pages = 0;
        let mut truncated = false;
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if pages >= MAX_TREE_PAGES {
                tracing::warn!(repo = %repo.full_name, pages, "GitLab tree too long: listing cut short");
                truncated = true;
                break;
            }
            pages += 1;
            let response = self.forge.get_found(url, &what).await?;
            let items: Vec<TreeItem> = response.json(PROVIDER)?;
            entries.extend(
                items
                    .into_iter()
                    .filter(|item| item.kind == "blob" && item.mode.as_deref() != Some("120000"))
                    .map(|item| TreeEntry {
                        path: item.path,
                        size: 0,
                    }),
            );
            next = response.next_link();
        }
        Ok(FileTree {
            revision: commit,
            entries,
            truncated,
        })
    }

    /// `GET /projects/:id/repository/files/:path/raw?ref=` (`HEAD`: the default branch).
    async fn raw(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let id = Self::project_id(repo);
        let mut url = self
            .forge
            .url(&["projects", &id, "repository", "files", path, "raw"]);
        url.query_pairs_mut()
            .append_pair("ref", revision.unwrap_or("HEAD"));
        self.forge.get_file(url, repo, path, max_bytes).await
    }

    /// `GET /groups/:id`, else the user (`GET /users?username=`, then `GET /users/:id` for
    /// the bio and website); funding from the profile project (`gitlab-profile` for
    /// groups, `<user>/<user>` for users).
    async fn owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let response = self
            .forge
            .get(self.forge.url(&["groups", login]), login)
            .await?;
        let mut profile = if response.status.is_success() {
            let group: Group = response.json(PROVIDER)?;
            OwnerProfile {
                login: group.full_path,
                kind: OrganizationKind::Organization,
                name: non_empty(group.name),
                description: non_empty(group.description),
                ..OwnerProfile::default()
            }
        } else if response.gone() {
            let mut url = self.forge.url(&["users"]);
            url.query_pairs_mut().append_pair("username", login);
            let response = self.forge.get(url, login).await?;
            if !response.status.is_success() {
                return Err(response.rejected(PROVIDER));
            }
            let found: Vec<User> = response.json(PROVIDER)?;
            let Some(user) = found.into_iter().next() else {
                return Err(self.forge.not_found(format!("owner {login}")));
            };
            let response = self
                .forge
                .get(self.forge.url(&["users", &user.id.to_string()]), login)
                .await?;
            let user = if response.status.is_success() {
                response.json::<User>(PROVIDER)?
            } else {
                user
            };
            OwnerProfile {
                login: user.username,
                kind: OrganizationKind::User,
                name: non_empty(user.name),
                description: non_empty(user.bio),
                website_url: non_empty(user.website_url).map(website),
                ..OwnerProfile::default()
            }
        } else {
            return Err(response.rejected(PROVIDER));
        };
        let profile_repos: &[&str] = match profile.kind {
            OrganizationKind::Organization => &["gitlab-profile"],
            OrganizationKind::User => &[login],
        };
        profile.funding =
            super::funding::profile_funding(self, self.forge.host(), login, profile_repos).await?;
        Ok(profile)
    }
}

#[async_trait]
impl DataProvider for GitLabProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::RepositoryHost
    }

    fn serves_host(&self, host: &str) -> bool {
        self.forge.serves_host(host)
    }

    /// One public project (`GET /projects?per_page=1`): answers anonymously, and refuses a
    /// bad token with 401.
    async fn health(&self) -> Result<(), ProviderError> {
        let mut url = self.forge.url(&["projects"]);
        url.query_pairs_mut()
            .append_pair("per_page", "1")
            .append_pair("simple", "true");
        let response = self.forge.get(url, "projects").await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(response.rejected(PROVIDER))
        }
    }

    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let response = match (query, page) {
            (DiscoveryQuery::All | DiscoveryQuery::DependentsOf { .. }, _) => {
                return Err(self.unsupported(crate::Capability::DiscoverRepositories));
            }
            (_, Some(token)) => {
                let url = self.forge.resume_next_link(token, "GitLab")?;
                self.forge.get(url, "projects").await?
            }
            (DiscoveryQuery::Search { query }, None) => {
                self.forge.get(self.search_url(query), query).await?
            }
            (DiscoveryQuery::Owner { login }, None) => self.owner_first_page(login).await?,
        };
        if response.gone() {
            let what = match query {
                DiscoveryQuery::Owner { login } => format!("owner {login}"),
                _ => "projects".to_owned(),
            };
            return Err(self.forge.not_found(what));
        }
        if !response.status.is_success() {
            return Err(response.rejected(PROVIDER));
        }
        let items: Vec<Project> = response.json(PROVIDER)?;
        let next = response
            .next_link()
            .filter(|_| !items.is_empty())
            .map(|url| ForgeApi::next_link_token(&url));
        Ok(RepositoryPage {
            repositories: self.map(items),
            next,
        })
    }

    async fn list_files(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        self.tree(repo, revision).await
    }

    async fn fetch_file(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        self.raw(repo, path, revision, max_bytes).await
    }

    async fn fetch_owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        self.owner(login).await
    }
}

impl Forge for GitLabProvider {
    fn forge_api(&self) -> &ForgeApi {
        &self.forge
    }

    fn forge_api_mut(&mut self) -> &mut ForgeApi {
        &mut self.forge
    }
}
