//! Bitbucket Cloud (REST API 2.0) as a repository host: repository search (BBQL `q=` on
//! the public listing, since Bitbucket has no global code search), workspace listings, the
//! `src` listing and raw files at a commit, workspace profiles. Every listing is paged by
//! following its `next` link, and only while that link stays in the configured API.
//! `updated_on` is the change token. Limits and conditional requests go through the shared
//! forge client ([`super::client`]); access tokens travel as `Authorization: Bearer`.
//!
//! What Bitbucket lacks: stars (it has watchers, one request per repository: not read, so
//! 0), an archived flag (never archived), a fork count (0), owner descriptions and
//! websites, and a profile repository (an owner's funding is looked for in its `.github`
//! repository, GitHub's convention).

mod payload;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use url::Url;
use wump_core::{OrganizationKind, RepoFullName};

use super::{
    Forge, ForgeApi, ForgeSettings,
    client::{Auth, is_commit_sha, non_empty, timestamp},
};
use crate::{
    DataProvider, DiscoveredRepository, DiscoveryQuery, FileContent, FileTree, HttpCache,
    OwnerProfile, OwnerRef, PageToken, ProviderError, ProviderKind, RepoRef, RepositoryPage,
    TreeEntry, config::HttpSettings,
};
use payload::{Commit, Page, Repository, SrcEntry, Workspace};

/// The name Bitbucket is configured under.
pub const PROVIDER: &str = "bitbucket";
/// Where Bitbucket Cloud's repositories are (its API is on `api.bitbucket.org`).
pub const HOST: &str = "bitbucket.org";
/// Items per page (Bitbucket's maximum `pagelen` for repositories and `src`).
const PER_PAGE: u32 = 100;
/// Directory levels the `src` listing descends (manifests deeper than this are not read).
const MAX_DEPTH: u32 = 20;
/// `src` pages read before the listing is called truncated: 5,000 entries, a twentieth of
/// a token's hourly 1,000 requests for one repository.
const MAX_SRC_PAGES: u32 = 50;
/// How long a 429 without `Retry-After` holds the provider: the limits are an hourly
/// rolling window, so a minute frees too little to be worth asking again.
const DEFAULT_HOLD: Duration = Duration::from_secs(300);
/// Repositories whose main branch is remembered before the memory starts over.
const MEMO_CAP: usize = 10_000;

/// The Bitbucket Cloud provider.
#[derive(Debug, Clone)]
pub struct BitbucketProvider {
    forge: ForgeApi,
    memo: Arc<Mutex<Memo>>,
}

/// What listings already told, so reading a file or a profile does not ask again.
#[derive(Debug, Default)]
struct Memo {
    /// A repository's main branch, by lower-cased `workspace/slug`.
    branches: HashMap<String, String>,
    /// A workspace's kind (repository payloads say it, the workspace's own does not).
    kinds: HashMap<String, OrganizationKind>,
}

impl BitbucketProvider {
    /// A provider for the API at `settings.api_url` (`https://api.bitbucket.org/2.0`).
    pub fn new(
        settings: &ForgeSettings,
        http: &HttpSettings,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        // Bitbucket Cloud is one site: another API URL is a stand-in or a proxy for it.
        let forge = ForgeApi::new(PROVIDER, Auth::Bearer, settings, http, cache, |_| {
            HOST.to_owned()
        })?
        .with_default_hold(DEFAULT_HOLD);
        Ok(Self {
            forge,
            memo: Arc::default(),
        })
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A `next` link, followed only when it stays in the configured API: a link (or a page
    /// token, which is one) elsewhere would send our token to another host.
    fn follow(&self, next: &str) -> Option<Url> {
        Url::parse(next).ok().filter(|url| self.forge.contains(url))
    }

    fn foreign_link(next: &str) -> ProviderError {
        ProviderError::Malformed {
            provider: PROVIDER.to_owned(),
            message: format!("next link `{next}` leaves the configured API: not followed"),
        }
    }

    /// The first page of a search: the public listing filtered by BBQL on the name.
    fn search_url(&self, query: &str) -> Url {
        let quoted = query.replace('\\', "\\\\").replace('"', "\\\"");
        let mut url = self.forge.url(&["repositories"]);
        url.query_pairs_mut()
            .append_pair("q", &format!("name ~ \"{quoted}\" AND is_private = false"))
            .append_pair("pagelen", &PER_PAGE.to_string());
        url
    }

    fn workspace_url(&self, workspace: &str, pagelen: u32) -> Url {
        let mut url = self.forge.url(&["repositories", workspace]);
        url.query_pairs_mut()
            .append_pair("pagelen", &pagelen.to_string());
        url
    }

    fn remember_branch(&self, full_name: &str, branch: &str) {
        let mut memo = self.memo();
        if memo.branches.len() >= MEMO_CAP {
            memo.branches.clear();
        }
        memo.branches
            .insert(full_name.to_ascii_lowercase(), branch.to_owned());
    }

    fn remember_kind(&self, workspace: &str, kind: OrganizationKind) {
        let mut memo = self.memo();
        if memo.kinds.len() >= MEMO_CAP {
            memo.kinds.clear();
        }
        memo.kinds.insert(workspace.to_ascii_lowercase(), kind);
    }

    /// A repository's payload as wump names it, remembering its main branch and its
    /// workspace's kind; `None` for a private one or a name wump cannot hold.
    fn map_one(&self, item: Repository) -> Option<DiscoveredRepository> {
        if item.is_private {
            return None;
        }
        let full_name: RepoFullName = match item.full_name.parse() {
            Ok(name) => name,
            Err(error) => {
                tracing::debug!(repository = %item.full_name, %error, "skipping a repository wump cannot name");
                return None;
            }
        };
        let workspace = full_name.owner().to_owned();
        // A team's workspace is an organization, a person's a user.
        let kind = match item.owner.as_ref().map(|o| o.kind.as_str()) {
            Some("user") => OrganizationKind::User,
            _ => OrganizationKind::Organization,
        };
        self.remember_kind(&workspace, kind);
        let default_branch = item.mainbranch.map(|b| b.name);
        if let Some(branch) = &default_branch {
            self.remember_branch(&item.full_name, branch);
        }
        Some(DiscoveredRepository {
            repo: RepoRef {
                host: self.forge.host().to_owned(),
                full_name,
            },
            owner: OwnerRef {
                login: workspace,
                kind,
            },
            description: non_empty(item.description),
            language: non_empty(item.language),
            default_branch,
            stars: 0,
            forks: 0,
            archived: false,
            fork: item.parent.is_some(),
            pushed_at: timestamp(item.updated_on.as_deref()),
            change_token: item.updated_on,
        })
    }

    /// `GET /repositories/{workspace}/{repo_slug}`.
    async fn repository(&self, repo: &RepoRef) -> Result<Repository, ProviderError> {
        let (workspace, slug) = (repo.full_name.owner(), repo.full_name.name());
        let what = repo.full_name.to_string();
        let response = self
            .forge
            .get_found(self.forge.url(&["repositories", workspace, slug]), &what)
            .await?;
        let repository: Repository = response.json(PROVIDER)?;
        if let Some(branch) = &repository.mainbranch {
            self.remember_branch(&what, &branch.name);
        }
        Ok(repository)
    }

    /// The main branch's name (remembered from a listing, else asked); `None` when the
    /// repository is empty.
    async fn main_branch(&self, repo: &RepoRef) -> Result<Option<String>, ProviderError> {
        let key = repo.full_name.to_string().to_ascii_lowercase();
        if let Some(branch) = self.memo().branches.get(&key) {
            return Ok(Some(branch.clone()));
        }
        Ok(self.repository(repo).await?.mainbranch.map(|b| b.name))
    }

    /// The commit a branch, tag or SHA names
    /// (`GET /repositories/{workspace}/{repo_slug}/commit/{revision}`).
    async fn commit(&self, repo: &RepoRef, revision: &str) -> Result<String, ProviderError> {
        if is_commit_sha(revision) {
            return Ok(revision.to_owned());
        }
        let (workspace, slug) = (repo.full_name.owner(), repo.full_name.name());
        let what = format!("{}@{revision}", repo.full_name);
        let url = self
            .forge
            .url(&["repositories", workspace, slug, "commit", revision]);
        Ok(self
            .forge
            .get_found(url, &what)
            .await?
            .json::<Commit>(PROVIDER)?
            .hash)
    }

    /// Every file at a commit (default: the main branch's head), from the `src` listing
    /// with `max_depth`, following `next` up to [`MAX_SRC_PAGES`]: files only (no
    /// directories, symlinks or submodules).
    async fn tree(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let revision = match revision {
            Some(revision) => revision.to_owned(),
            None => match self.main_branch(repo).await? {
                Some(branch) => branch,
                None => return Ok(FileTree::default()),
            },
        };
        let commit = self.commit(repo, &revision).await?;
        let (workspace, slug) = (repo.full_name.owner(), repo.full_name.name());
        let what = format!("{}@{revision}", repo.full_name);
        // The trailing empty segment is the listing's trailing slash (`src/{commit}/`).
        let mut url = self
            .forge
            .url(&["repositories", workspace, slug, "src", &commit, ""]);
        url.query_pairs_mut()
            .append_pair("max_depth", &MAX_DEPTH.to_string())
            .append_pair("pagelen", &PER_PAGE.to_string());
        let mut entries = Vec::new();
        let mut truncated = false;
        let mut pages = 0;
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if pages >= MAX_SRC_PAGES {
                tracing::warn!(repo = %repo.full_name, pages, "Bitbucket listing too long: cut short");
                truncated = true;
                break;
            }
            pages += 1;
            let page: Page<SrcEntry> = self.forge.get_found(url, &what).await?.json(PROVIDER)?;
            let more = !page.values.is_empty();
            entries.extend(
                page.values
                    .into_iter()
                    .filter(|entry| entry.kind == "commit_file")
                    .filter(|entry| {
                        !entry
                            .attributes
                            .iter()
                            .any(|a| a == "link" || a == "subrepository")
                    })
                    .map(|entry| TreeEntry {
                        path: entry.path,
                        size: entry.size,
                    }),
            );
            if let Some(link) = page.next.filter(|_| more) {
                next = Some(
                    self.follow(&link)
                        .ok_or_else(|| Self::foreign_link(&link))?,
                );
            }
        }
        Ok(FileTree {
            revision: commit,
            entries,
            truncated,
        })
    }

    /// `GET /repositories/{workspace}/{repo_slug}/src/{revision}/{path}` (default: the main
    /// branch), refusing files over `max_bytes`.
    async fn raw(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let revision = match revision {
            Some(revision) => revision.to_owned(),
            None => self
                .main_branch(repo)
                .await?
                .ok_or_else(|| self.forge.not_found(format!("{}:{path}", repo.full_name)))?,
        };
        let (workspace, slug) = (repo.full_name.owner(), repo.full_name.name());
        let mut segments = vec!["repositories", workspace, slug, "src", &revision];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        self.forge
            .get_file(self.forge.url(&segments), repo, path, max_bytes)
            .await
    }

    /// Whether a workspace is a team's or a person's: remembered from a listing, else read
    /// from its first repository's owner; a workspace with none is taken for a team's.
    async fn workspace_kind(&self, workspace: &str) -> Result<OrganizationKind, ProviderError> {
        if let Some(kind) = self.memo().kinds.get(&workspace.to_ascii_lowercase()) {
            return Ok(*kind);
        }
        let response = self
            .forge
            .get_found(self.workspace_url(workspace, 1), workspace)
            .await?;
        let page: Page<Repository> = response.json(PROVIDER)?;
        let kind = match page.values.first().and_then(|r| r.owner.as_ref()) {
            Some(owner) if owner.kind == "user" => OrganizationKind::User,
            _ => OrganizationKind::Organization,
        };
        self.remember_kind(workspace, kind);
        Ok(kind)
    }

    /// `GET /workspaces/{workspace}` (its name only: workspaces have no description or
    /// website); funding from the workspace's `.github` repository when it has one.
    async fn owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let what = format!("owner {login}");
        let workspace: Workspace = self
            .forge
            .get_found(self.forge.url(&["workspaces", login]), &what)
            .await?
            .json(PROVIDER)?;
        let kind = self.workspace_kind(login).await?;
        let funding = match RepoFullName::new(login, ".github") {
            Ok(full_name) => {
                let profile = RepoRef {
                    host: self.forge.host().to_owned(),
                    full_name,
                };
                // Asked once: its absence would otherwise cost a request per funding path.
                match self.repository(&profile).await {
                    Ok(found) if found.mainbranch.is_some() => {
                        super::funding::profile_funding(
                            self,
                            self.forge.host(),
                            login,
                            &[".github"],
                        )
                        .await?
                    }
                    Ok(_) | Err(ProviderError::NotFound { .. }) => Vec::new(),
                    Err(error) => return Err(error),
                }
            }
            Err(_) => Vec::new(),
        };
        Ok(OwnerProfile {
            name: non_empty(workspace.name),
            login: workspace.slug,
            kind,
            funding,
            ..OwnerProfile::default()
        })
    }
}

#[async_trait]
impl DataProvider for BitbucketProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::RepositoryHost
    }

    fn serves_host(&self, host: &str) -> bool {
        self.forge.serves_host(host)
    }

    /// One public repository (`GET /repositories?pagelen=1`): answers anonymously, and
    /// refuses a bad token with 401.
    async fn health(&self) -> Result<(), ProviderError> {
        let mut url = self.forge.url(&["repositories"]);
        url.query_pairs_mut().append_pair("pagelen", "1");
        self.forge.get_found(url, "repositories").await.map(|_| ())
    }

    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let what = match query {
            DiscoveryQuery::Owner { login } => format!("owner {login}"),
            _ => "repositories".to_owned(),
        };
        let url = match (query, page) {
            (DiscoveryQuery::All | DiscoveryQuery::DependentsOf { .. }, _) => {
                return Err(self.unsupported(crate::Capability::DiscoverRepositories));
            }
            (_, Some(token)) => self.forge.resume_next_link(token, "Bitbucket")?,
            (DiscoveryQuery::Search { query }, None) => self.search_url(query),
            (DiscoveryQuery::Owner { login }, None) => self.workspace_url(login, PER_PAGE),
        };
        let page: Page<Repository> = self.forge.get_found(url, &what).await?.json(PROVIDER)?;
        let more = !page.values.is_empty();
        let next = match page.next.filter(|_| more) {
            Some(link) => {
                let url = self
                    .follow(&link)
                    .ok_or_else(|| Self::foreign_link(&link))?;
                Some(ForgeApi::next_link_token(&url))
            }
            None => None,
        };
        Ok(RepositoryPage {
            repositories: page
                .values
                .into_iter()
                .filter_map(|item| self.map_one(item))
                .collect(),
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

impl Forge for BitbucketProvider {
    fn forge_api(&self) -> &ForgeApi {
        &self.forge
    }

    fn forge_api_mut(&mut self) -> &mut ForgeApi {
        &mut self.forge
    }
}
