//! Gitea and Forgejo (Codeberg and self-hosted, API v1) as a repository host: repository
//! search and owner listings, git trees at a commit, raw files, organization and user
//! profiles. Limits and conditional requests go through the shared forge client
//! ([`super::client`]).

mod payload;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use wump_core::{OrganizationKind, RepoFullName};

use super::{
    Forge, ForgeApi, ForgeSettings,
    client::{Auth, ForgeResponse, is_commit_sha, non_empty, timestamp},
    website,
};
use crate::{
    DataProvider, DiscoveredRepository, DiscoveryQuery, FileContent, FileTree, HttpCache,
    OwnerProfile, OwnerRef, PageToken, ProviderError, ProviderKind, RepoRef, RepositoryPage,
    TreeEntry, config::HttpSettings,
};
use payload::{Branch, Organization, Repository, SearchResults, Tree, User};

/// The name Gitea/Forgejo is configured under.
pub const PROVIDER: &str = "gitea";
/// Repositories per page (Gitea's default `MAX_RESPONSE_ITEMS` is 50).
const PER_PAGE: u32 = 50;
/// Tree entries per page (Gitea's default `DEFAULT_GIT_TREES_PER_PAGE` is 1000).
const TREE_PER_PAGE: u32 = 1000;
/// Tree pages read before the listing is called truncated.
const MAX_TREE_PAGES: u32 = 100;

/// The Gitea/Forgejo provider.
#[derive(Debug, Clone)]
pub struct GiteaProvider {
    forge: ForgeApi,
    /// Whether a login is an organization, learned from `/orgs/{login}` (repository
    /// payloads do not say).
    kinds: Arc<Mutex<HashMap<String, OrganizationKind>>>,
}

/// Where an owner listing or search is.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Cursor {
    /// `search`, `orgs` or `users`.
    kind: String,
    page: u32,
}

impl GiteaProvider {
    /// A provider for the instance at `settings.api_url` (e.g. `https://codeberg.org/api/v1`).
    pub fn new(
        settings: &ForgeSettings,
        http: &HttpSettings,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let forge = ForgeApi::new(
            PROVIDER,
            Auth::AuthorizationToken,
            settings,
            http,
            cache,
            super::web_host,
        )?;
        Ok(Self {
            forge,
            kinds: Arc::default(),
        })
    }

    /// `GET /repos/search?q=&sort=stars&order=desc&page=&limit=`.
    async fn search(
        &self,
        query: &str,
        page: u32,
    ) -> Result<(Vec<Repository>, ForgeResponse), ProviderError> {
        let mut url = self.forge.url(&["repos", "search"]);
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("sort", "stars")
            .append_pair("order", "desc")
            .append_pair("page", &page.to_string())
            .append_pair("limit", &PER_PAGE.to_string());
        let response = self.forge.get(url, query).await?;
        if !response.status.is_success() {
            // 422: an invalid query.
            return Err(response.rejected(PROVIDER));
        }
        let results: SearchResults = response.json(PROVIDER)?;
        if !results.ok {
            return Err(ProviderError::Malformed {
                provider: PROVIDER.to_owned(),
                message: format!("search `{query}` answered ok: false"),
            });
        }
        Ok((results.data, response))
    }

    /// `GET /orgs/{login}/repos`, or `/users/{login}/repos` once the first answers 404.
    async fn owner_page(
        &self,
        login: &str,
        cursor: &mut Cursor,
    ) -> Result<(Vec<Repository>, ForgeResponse), ProviderError> {
        let page_url = |kind: &str| {
            let mut url = self.forge.url(&[kind, login, "repos"]);
            url.query_pairs_mut()
                .append_pair("page", &cursor.page.to_string())
                .append_pair("limit", &PER_PAGE.to_string());
            url
        };
        let mut response = self.forge.get(page_url(&cursor.kind), login).await?;
        if response.gone() && cursor.kind == "orgs" {
            cursor.kind = "users".to_owned();
            response = self.forge.get(page_url("users"), login).await?;
        } else if cursor.kind == "orgs" && response.status.is_success() {
            self.remember(login, OrganizationKind::Organization);
        }
        let response = self.forge.found(response, format!("owner {login}"))?;
        Ok((response.json(PROVIDER)?, response))
    }

    fn remember(&self, login: &str, kind: OrganizationKind) {
        self.kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(login.to_ascii_lowercase(), kind);
    }

    /// Whether `login` is an organization: `GET /orgs/{login}` answers 404 for users.
    /// Remembered, so a page of one owner's repositories asks once.
    async fn owner_kind(&self, login: &str) -> Result<OrganizationKind, ProviderError> {
        if let Some(kind) = self
            .kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&login.to_ascii_lowercase())
        {
            return Ok(*kind);
        }
        let response = self
            .forge
            .get(self.forge.url(&["orgs", login]), login)
            .await?;
        let kind = if response.status.is_success() {
            OrganizationKind::Organization
        } else if response.gone() {
            OrganizationKind::User
        } else {
            return Err(response.rejected(PROVIDER));
        };
        self.remember(login, kind);
        Ok(kind)
    }

    async fn map(
        &self,
        items: Vec<Repository>,
    ) -> Result<Vec<DiscoveredRepository>, ProviderError> {
        let mut repositories = Vec::with_capacity(items.len());
        for item in items {
            if item.private {
                continue;
            }
            let full_name = match RepoFullName::new(&item.owner.login, &item.name) {
                Ok(name) => name,
                Err(error) => {
                    tracing::warn!(%error, "skipping a repository Gitea named oddly");
                    continue;
                }
            };
            let kind = self.owner_kind(&item.owner.login).await?;
            repositories.push(DiscoveredRepository {
                repo: RepoRef {
                    host: self.forge.host().to_owned(),
                    full_name,
                },
                owner: OwnerRef {
                    login: item.owner.login,
                    kind,
                },
                description: non_empty(item.description),
                language: non_empty(item.language),
                default_branch: item.default_branch.filter(|_| !item.empty),
                stars: item.stars_count,
                forks: item.forks_count,
                archived: item.archived,
                fork: item.fork,
                pushed_at: timestamp(item.updated_at.as_deref()),
                // Gitea moves `updated_at` on every push (and on settings changes, which
                // cost one needless parse).
                change_token: item.updated_at,
            });
        }
        Ok(repositories)
    }

    /// `GET /repos/{owner}/{repo}`.
    async fn repository(&self, repo: &RepoRef) -> Result<Repository, ProviderError> {
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let what = repo.full_name.to_string();
        let response = self
            .forge
            .get_found(self.forge.url(&["repos", owner, name]), &what)
            .await?;
        response.json(PROVIDER)
    }

    /// The commit a branch, tag or SHA names (`GET /repos/{o}/{r}/branches/{branch}`;
    /// anything that is not a branch is passed on as it is, since the tree endpoint
    /// resolves tags and SHAs itself).
    async fn commit(&self, repo: &RepoRef, revision: &str) -> Result<String, ProviderError> {
        if is_commit_sha(revision) {
            return Ok(revision.to_owned());
        }
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let what = format!("{}@{revision}", repo.full_name);
        let response = self
            .forge
            .get(
                self.forge
                    .url(&["repos", owner, name, "branches", revision]),
                &what,
            )
            .await?;
        if response.gone() {
            return Ok(revision.to_owned());
        }
        if !response.status.is_success() {
            return Err(response.rejected(PROVIDER));
        }
        Ok(response.json::<Branch>(PROVIDER)?.commit.id)
    }

    /// The recursive tree at `revision` (default: the default branch's head commit), page
    /// by page: files only (no directories, submodules or symlinks).
    async fn tree(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let revision = match revision {
            Some(revision) => revision.to_owned(),
            None => {
                let repository = self.repository(repo).await?;
                if repository.empty {
                    return Ok(FileTree::default());
                }
                repository
                    .default_branch
                    .ok_or_else(|| ProviderError::Malformed {
                        provider: PROVIDER.to_owned(),
                        message: format!("{} has no default_branch", repo.full_name),
                    })?
            }
        };
        let commit = self.commit(repo, &revision).await?;
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let what = format!("{}@{revision}", repo.full_name);
        let mut entries = Vec::new();
        let mut page = 1;
        let mut truncated;
        let mut seen = 0u64;
        loop {
            let mut url = self
                .forge
                .url(&["repos", owner, name, "git", "trees", &commit]);
            url.query_pairs_mut()
                .append_pair("recursive", "true")
                .append_pair("page", &page.to_string())
                .append_pair("per_page", &TREE_PER_PAGE.to_string());
            let response = self.forge.get_found(url, &what).await?;
            let tree: Tree = response.json(PROVIDER)?;
            let returned = tree.tree.len() as u64;
            seen += returned;
            entries.extend(
                tree.tree
                    .into_iter()
                    .filter(|item| item.kind == "blob" && item.mode.as_deref() != Some("120000"))
                    .map(|item| TreeEntry {
                        path: item.path,
                        size: item.size.unwrap_or(0),
                    }),
            );
            truncated = tree.truncated && returned > 0 && seen < tree.total_count.max(seen + 1);
            if !truncated {
                break;
            }
            if page >= MAX_TREE_PAGES {
                tracing::warn!(repo = %repo.full_name, pages = page, "Gitea tree too long: listing cut short");
                break;
            }
            page = tree.page.max(page) + 1;
        }
        Ok(FileTree {
            revision: if is_commit_sha(&commit) {
                commit
            } else {
                revision
            },
            entries,
            truncated,
        })
    }

    /// `GET /repos/{o}/{r}/raw/{path}?ref=`, refusing files over `max_bytes`.
    async fn raw(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let mut segments = vec!["repos", owner, name, "raw"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let mut url = self.forge.url(&segments);
        if let Some(revision) = revision {
            url.query_pairs_mut().append_pair("ref", revision);
        }
        self.forge.get_file(url, repo, path, max_bytes).await
    }

    /// `GET /orgs/{login}`, else `GET /users/{login}`; funding from the owner's profile
    /// repository (`.profile`, where Gitea and Forgejo show an owner's README).
    async fn owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let response = self
            .forge
            .get(self.forge.url(&["orgs", login]), login)
            .await?;
        let mut profile = if response.status.is_success() {
            self.remember(login, OrganizationKind::Organization);
            let org: Organization = response.json(PROVIDER)?;
            OwnerProfile {
                login: org.name,
                kind: OrganizationKind::Organization,
                name: non_empty(org.full_name),
                description: non_empty(org.description),
                website_url: non_empty(org.website).map(website),
                ..OwnerProfile::default()
            }
        } else if response.gone() {
            let response = self
                .forge
                .get(self.forge.url(&["users", login]), login)
                .await?;
            let response = self.forge.found(response, format!("owner {login}"))?;
            self.remember(login, OrganizationKind::User);
            let user: User = response.json(PROVIDER)?;
            OwnerProfile {
                login: user.login,
                kind: OrganizationKind::User,
                name: non_empty(user.full_name),
                description: non_empty(user.description),
                website_url: non_empty(user.website).map(website),
                ..OwnerProfile::default()
            }
        } else {
            return Err(response.rejected(PROVIDER));
        };
        profile.funding =
            super::funding::profile_funding(self, self.forge.host(), login, &[".profile"]).await?;
        Ok(profile)
    }
}

#[async_trait]
impl DataProvider for GiteaProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::RepositoryHost
    }

    fn serves_host(&self, host: &str) -> bool {
        self.forge.serves_host(host)
    }

    /// `GET /version`: answers anonymously, and refuses a bad token with 401.
    async fn health(&self) -> Result<(), ProviderError> {
        let response = self
            .forge
            .get(self.forge.url(&["version"]), "version")
            .await?;
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
        let mut cursor = match page {
            Some(token) => serde_json::from_str::<Cursor>(&token.0)
                .map_err(|e| self.forge.bad_token(format!("not a Gitea page token: {e}")))?,
            None => Cursor {
                kind: match query {
                    DiscoveryQuery::Owner { .. } => "orgs".to_owned(),
                    _ => "search".to_owned(),
                },
                page: 1,
            },
        };
        let (items, response) = match query {
            DiscoveryQuery::Search { query } => self.search(query, cursor.page).await?,
            DiscoveryQuery::Owner { login } => self.owner_page(login, &mut cursor).await?,
            DiscoveryQuery::All | DiscoveryQuery::DependentsOf { .. } => {
                return Err(self.unsupported(crate::Capability::DiscoverRepositories));
            }
        };
        let returned = items.len() as u64;
        // `Link: rel="next"` when the instance sends it, else `X-Total-Count`.
        let more = match (
            response.next_link(),
            response.header_number("x-total-count"),
        ) {
            (Some(_), _) => true,
            (None, Some(total)) => u64::from(cursor.page) * u64::from(PER_PAGE) < total,
            (None, None) => false,
        } && returned > 0;
        let repositories = self.map(items).await?;
        let next = more.then(|| {
            PageToken(
                serde_json::to_string(&Cursor {
                    kind: cursor.kind.clone(),
                    page: cursor.page + 1,
                })
                .unwrap_or_default(),
            )
        });
        Ok(RepositoryPage { repositories, next })
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

impl Forge for GiteaProvider {
    fn forge_api(&self) -> &ForgeApi {
        &self.forge
    }

    fn forge_api_mut(&mut self) -> &mut ForgeApi {
        &mut self.forge
    }
}
