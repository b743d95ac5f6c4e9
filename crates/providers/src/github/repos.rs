//! Repositories: search (past the 1,000-result cap), an owner's listing, git trees and
//! file contents.

use reqwest::{StatusCode, Url, header::HeaderMap};
use serde::{Deserialize, Serialize};
use wump_core::{OrganizationKind, RepoFullName};

use super::{
    GitHubProvider, PROVIDER,
    client::{ApiRequest, RAW, SHA},
    limits::Resource,
    not_found,
    payload::{self, Repository, SearchResult, Tree},
    rejected,
    search::{self, PER_PAGE, RESULT_CAP, SearchCursor},
    sizes,
};
use crate::{
    DiscoveredRepository, FileContent, FileTree, OwnerRef, PageToken, ProviderError, RepoRef,
    RepositoryPage, TreeEntry,
};

/// Splits one call makes before answering an empty page that resumes the walk (each split
/// costs a search request; a window of a single star count never splits).
const MAX_SPLITS_PER_CALL: u32 = 24;

/// Where an owner listing is: which endpoint answered, and the page.
#[derive(Debug, Serialize, Deserialize)]
struct OwnerCursor {
    /// `orgs` or `users`.
    kind: String,
    page: u32,
}

impl GitHubProvider {
    /// `GET /search/repositories`, walking star windows; see [`search`].
    pub(super) async fn search(
        &self,
        query: &str,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let (rest, window) = search::split_stars(query);
        let Some(start) = window else {
            // A stars qualifier we cannot split: one capped query.
            return self.capped_search(query, page).await;
        };
        let mut cursor = match page {
            Some(token) => SearchCursor::from_token(token)?,
            None => SearchCursor::start(start),
        };
        let mut splits = 0;
        loop {
            let Some(window) = cursor.current() else {
                return Ok(RepositoryPage::default());
            };
            let q = format!("{rest} {}", window.qualifier());
            let result = self.search_page(q.trim(), cursor.page).await?;
            if cursor.page == 1 && result.total_count > RESULT_CAP {
                if window.hi.is_none() {
                    // Sorted by stars: the first item has the most.
                    let top = result
                        .items
                        .first()
                        .map_or(window.lo, |r| r.stargazers_count);
                    cursor.close(top);
                }
                if let Some((higher, lower)) = cursor.current().and_then(|w| w.halves()) {
                    splits += 1;
                    tracing::debug!(
                        window = %window.qualifier(), total = result.total_count,
                        "search window over the 1,000-result cap: splitting"
                    );
                    cursor.split(higher, lower);
                    if splits >= MAX_SPLITS_PER_CALL {
                        return Ok(RepositoryPage {
                            repositories: Vec::new(),
                            next: Some(cursor.to_token()),
                        });
                    }
                    continue;
                }
                tracing::warn!(
                    query = %q, total = result.total_count,
                    "more than 1,000 repositories share one star count: only 1,000 are served"
                );
            }
            let returned = result.items.len();
            let repositories = self.map_repositories(result.items);
            let next = cursor
                .advance(returned, result.total_count)
                .map(|c| c.to_token());
            return Ok(RepositoryPage { repositories, next });
        }
    }

    /// A search GitHub caps at 1,000 results; the token is the page number.
    async fn capped_search(
        &self,
        query: &str,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let page = match page {
            Some(token) => token.0.parse::<u32>().map_err(|_| {
                super::client::config_error(format!("`{}` is not a search page", token.0))
            })?,
            None => 1,
        };
        let result = self.search_page(query, page).await?;
        let returned = result.items.len() as u64;
        let served = u64::from(page) * u64::from(PER_PAGE);
        let more = returned > 0 && served < result.total_count.min(RESULT_CAP);
        Ok(RepositoryPage {
            repositories: self.map_repositories(result.items),
            next: more.then(|| PageToken((page + 1).to_string())),
        })
    }

    async fn search_page(&self, q: &str, page: u32) -> Result<SearchResult, ProviderError> {
        let mut url = self.api(&["search", "repositories"]);
        url.query_pairs_mut()
            .append_pair("q", q)
            .append_pair("sort", "stars")
            .append_pair("order", "desc")
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string());
        let response = self
            .client()
            .execute(ApiRequest::get(url, Resource::Search, q))
            .await?;
        if !response.status.is_success() {
            // 422: an invalid query, or a page past the cap.
            return Err(rejected(&response));
        }
        let result: SearchResult = response.json()?;
        if result.incomplete_results {
            tracing::warn!(query = %q, page, "GitHub search timed out: results are incomplete");
        }
        Ok(result)
    }

    /// `GET /orgs/{login}/repos`, falling back to `/users/{login}/repos` for a user;
    /// pages follow the `Link` header.
    pub(super) async fn owner_repositories(
        &self,
        login: &str,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let mut cursor = match page {
            Some(token) => serde_json::from_str::<OwnerCursor>(&token.0).map_err(|e| {
                super::client::config_error(format!("not a GitHub owner page token: {e}"))
            })?,
            None => OwnerCursor {
                kind: "orgs".to_owned(),
                page: 1,
            },
        };
        let kind = if cursor.kind == "users" {
            "users"
        } else {
            "orgs"
        };
        let mut response = self.owner_repos_page(kind, login, cursor.page).await?;
        if response.status == StatusCode::NOT_FOUND && kind == "orgs" {
            cursor.kind = "users".to_owned();
            response = self.owner_repos_page("users", login, cursor.page).await?;
        }
        if gone(response.status) {
            return Err(not_found(format!("owner {login}")));
        }
        if !response.status.is_success() {
            return Err(rejected(&response));
        }
        let items: Vec<Repository> = response.json()?;
        let next = next_page(&response.headers).map(|page| {
            PageToken(
                serde_json::to_string(&OwnerCursor {
                    kind: cursor.kind.clone(),
                    page,
                })
                .unwrap_or_default(),
            )
        });
        Ok(RepositoryPage {
            repositories: self.map_repositories(items),
            next,
        })
    }

    async fn owner_repos_page(
        &self,
        kind: &str,
        login: &str,
        page: u32,
    ) -> Result<super::client::ApiResponse, ProviderError> {
        let mut url = self.api(&[kind, login, "repos"]);
        url.query_pairs_mut()
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string());
        self.client()
            .execute(ApiRequest::get(url, Resource::Core, login))
            .await
    }

    fn map_repositories(&self, items: Vec<Repository>) -> Vec<DiscoveredRepository> {
        items
            .into_iter()
            .filter_map(|item| {
                let full_name = match RepoFullName::new(&item.owner.login, &item.name) {
                    Ok(name) => name,
                    Err(error) => {
                        tracing::warn!(%error, "skipping a repository GitHub named oddly");
                        return None;
                    }
                };
                let host = item
                    .html_url
                    .as_deref()
                    .and_then(|u| Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| "github.com".to_owned());
                Some(DiscoveredRepository {
                    repo: RepoRef { host, full_name },
                    owner: OwnerRef {
                        login: item.owner.login,
                        kind: owner_kind(&item.owner.kind),
                    },
                    description: item.description,
                    language: item.language,
                    default_branch: item.default_branch,
                    stars: item.stargazers_count,
                    forks: item.forks_count,
                    archived: item.archived,
                    fork: item.fork,
                    pushed_at: payload::timestamp(item.pushed_at.as_deref()),
                    change_token: item.pushed_at,
                })
            })
            .collect()
    }

    /// The files of `repo` at a commit: the default branch (`GET /repos/{o}/{r}`) when no
    /// revision is given, resolved to its commit SHA (`GET /repos/{o}/{r}/commits/{ref}`
    /// with the `sha` media type, revalidated by ETag), then the recursive git tree: files
    /// only (no directories, submodules or symlinks). The tree's revision is the commit SHA,
    /// so `fetch_file` at that revision reads the same files.
    pub(super) async fn tree(
        &self,
        repo: &RepoRef,
        revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let revision = match revision {
            Some(revision) => revision.to_owned(),
            None => self.repository(repo).await?.default_branch.ok_or_else(|| {
                ProviderError::Malformed {
                    provider: PROVIDER.to_owned(),
                    message: format!("{} has no default_branch", repo.full_name),
                }
            })?,
        };
        let empty = || FileTree {
            revision: revision.clone(),
            entries: Vec::new(),
            truncated: false,
        };
        let Some(commit) = self.commit(repo, &revision).await? else {
            return Ok(empty());
        };
        let mut url = self.api(&["repos", owner, name, "git", "trees", &commit]);
        url.query_pairs_mut().append_pair("recursive", "1");
        let what = format!("{}@{revision}", repo.full_name);
        let response = self
            .client()
            .execute(ApiRequest::get(url, Resource::Core, what.clone()))
            .await?;
        match response.status {
            status if gone(status) => return Err(not_found(what)),
            StatusCode::CONFLICT => return Ok(empty()),
            status if !status.is_success() => return Err(rejected(&response)),
            _ => {}
        }
        let tree: Tree = response.json()?;
        if tree.truncated {
            tracing::warn!(repo = %repo.full_name, "GitHub truncated the tree listing");
        }
        let entries: Vec<TreeEntry> = tree
            .tree
            .into_iter()
            .filter(|item| item.kind == "blob" && item.mode.as_deref() != Some("120000"))
            .map(|item| TreeEntry {
                path: item.path,
                size: item.size.unwrap_or(0),
            })
            .collect();
        self.inner
            .large_files
            .remember(&repo.full_name, &commit, &entries);
        Ok(FileTree {
            revision: commit,
            entries,
            truncated: tree.truncated,
        })
    }

    /// The commit SHA `revision` (a branch, tag or SHA) names; `None` for an empty
    /// repository (409 "Git Repository is empty.").
    async fn commit(
        &self,
        repo: &RepoRef,
        revision: &str,
    ) -> Result<Option<String>, ProviderError> {
        if sizes::is_commit_sha(revision) {
            return Ok(Some(revision.to_owned()));
        }
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let url = self.api(&["repos", owner, name, "commits", revision]);
        let what = format!("{}@{revision}", repo.full_name);
        let mut request = ApiRequest::get(url, Resource::Core, what.clone());
        request.accept = SHA;
        let response = self.client().execute(request).await?;
        match response.status {
            // 422: "No commit found for SHA: …", a ref that does not exist.
            status if gone(status) || status == StatusCode::UNPROCESSABLE_ENTITY => {
                Err(not_found(what))
            }
            StatusCode::CONFLICT => Ok(None),
            status if status.is_success() => {
                let sha = String::from_utf8_lossy(&response.body).trim().to_owned();
                if sizes::is_commit_sha(&sha) {
                    Ok(Some(sha))
                } else {
                    Err(ProviderError::Malformed {
                        provider: PROVIDER.to_owned(),
                        message: format!("{what}: not a commit SHA"),
                    })
                }
            }
            _ => Err(rejected(&response)),
        }
    }

    /// `GET /repos/{o}/{r}`.
    pub(super) async fn repository(&self, repo: &RepoRef) -> Result<Repository, ProviderError> {
        let (owner, name) = (repo.full_name.owner(), repo.full_name.name());
        let url = self.api(&["repos", owner, name]);
        let response = self
            .client()
            .execute(ApiRequest::get(
                url,
                Resource::Core,
                repo.full_name.to_string(),
            ))
            .await?;
        match response.status {
            status if gone(status) => Err(not_found(repo.full_name.to_string())),
            status if status.is_success() => response.json(),
            _ => Err(rejected(&response)),
        }
    }

    /// `GET /repos/{o}/{r}/contents/{path}` as raw bytes, refusing files over `max_bytes`
    /// without a request when a tree listed at that commit gave the size, else from
    /// `Content-Length` before reading them (or as soon as the body passes it).
    pub(super) async fn contents(
        &self,
        repo: &RepoRef,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        if let Some(size) = revision
            .and_then(|commit| self.inner.large_files.size(&repo.full_name, commit, path))
            .filter(|&size| size > max_bytes)
        {
            return Err(ProviderError::TooLarge {
                path: path.to_owned(),
                size,
                limit: max_bytes,
            });
        }
        self.raw_file(
            repo.full_name.owner(),
            repo.full_name.name(),
            path,
            revision,
            max_bytes,
        )
        .await?
        .ok_or_else(|| not_found(format!("{}:{path}", repo.full_name)))
    }

    /// A file's bytes, or `None` when the repository or the file does not exist.
    pub(super) async fn raw_file(
        &self,
        owner: &str,
        name: &str,
        path: &str,
        revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<Option<FileContent>, ProviderError> {
        let mut segments = vec!["repos", owner, name, "contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let mut url = self.api(&segments);
        if let Some(revision) = revision {
            url.query_pairs_mut().append_pair("ref", revision);
        }
        let mut request = ApiRequest::get(url, Resource::Core, path);
        request.accept = RAW;
        request.max_body = Some(max_bytes);
        let response = self.client().execute(request).await?;
        match response.status {
            status if gone(status) => Ok(None),
            status if status.is_success() => {
                if response.body.len() as u64 > max_bytes {
                    // Served from the cache, so never measured on the way in.
                    return Err(ProviderError::TooLarge {
                        path: path.to_owned(),
                        size: response.body.len() as u64,
                        limit: max_bytes,
                    });
                }
                Ok(Some(FileContent {
                    path: path.to_owned(),
                    bytes: response.body,
                }))
            }
            _ => Err(rejected(&response)),
        }
    }
}

/// Not there for us: 404, 410 (deleted), 451 (access blocked for legal reasons).
pub(super) fn gone(status: StatusCode) -> bool {
    matches!(status.as_u16(), 404 | 410 | 451)
}

pub(super) fn owner_kind(kind: &str) -> OrganizationKind {
    if kind.eq_ignore_ascii_case("organization") {
        OrganizationKind::Organization
    } else {
        OrganizationKind::User
    }
}

/// The `page` of the `rel="next"` link in a `Link` header.
fn next_page(headers: &HeaderMap) -> Option<u32> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| Url::parse(target).ok()).flatten()
        })
        .and_then(|url| {
            url.query_pairs()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_next_page_from_githubs_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            "<https://api.github.com/organizations/9919/repos?per_page=100&page=1>; rel=\"prev\", \
             <https://api.github.com/organizations/9919/repos?per_page=100&page=3>; rel=\"next\", \
             <https://api.github.com/organizations/9919/repos?per_page=100&page=7>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page(&headers), Some(3));
        headers.insert(
            "link",
            "<https://api.github.com/organizations/9919/repos?page=1>; rel=\"first\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page(&headers), None);
        assert_eq!(next_page(&HeaderMap::new()), None);
    }
}
