//! Stand-ins for Gitea/Forgejo (API v1), GitLab (API v4) and Bitbucket Cloud (API 2.0,
//! in `forge_mock/bitbucket.rs`) on a wiremock server, answering with the payloads, headers and paging the
//! forges document (<https://codeberg.org/api/swagger>, <https://docs.gitlab.com/api/rest/>):
//! the provider tests and the worker's end-to-end runs serve the same repositories through
//! them.

mod bitbucket;

pub use bitbucket::{
    bitbucket_error, bitbucket_page, bitbucket_repository, bitbucket_src_entry, mount_bitbucket,
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

/// Answers `GET route` with `response`, the mock every stand-in mounts most.
async fn serve(server: &MockServer, route: impl Into<String>, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(response)
        .mount(server)
        .await;
}

/// The distinct owners of `repos`, sorted: each gets its listing and its profile.
fn owners(repos: &[StandInRepo]) -> Vec<&str> {
    let mut owners: Vec<&str> = repos.iter().map(|r| r.owner.as_str()).collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}

/// A 200 with `body` as JSON.
fn ok_json(body: impl serde::Serialize) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A raw file as the forges send one (`text/plain; charset=utf-8`).
fn raw_file(contents: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/plain; charset=utf-8")
        .set_body_string(contents.to_owned())
}

/// One repository a stand-in serves, with its files at the head of `main`.
#[derive(Debug, Clone)]
pub struct StandInRepo {
    /// The owner's login (an organization or group when the mount says so, else a user).
    pub owner: String,
    /// The repository's name.
    pub name: String,
    /// Its star count.
    pub stars: u32,
    /// Whether it is a fork (Gitea's `fork`, GitLab's `forked_from_project`, Bitbucket's
    /// `parent`).
    pub fork: bool,
    /// Whether it is archived (Bitbucket has no such flag: ignored there).
    pub archived: bool,
    /// `(path, contents)`.
    pub files: Vec<(String, String)>,
}

impl StandInRepo {
    /// A repository of `owner` with `stars` and `files`.
    pub fn new(owner: &str, name: &str, stars: u32, files: &[(&str, &str)]) -> Self {
        Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
            stars,
            fork: false,
            archived: false,
            files: files
                .iter()
                .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
                .collect(),
        }
    }

    /// The head commit of `main`: 40 hex digits derived from the name.
    pub fn commit(&self) -> String {
        let seed: u32 = self.name.bytes().map(u32::from).sum::<u32>() + self.stars;
        format!("{seed:08x}").repeat(5)
    }
}

/// When every stand-in repository was last pushed to.
pub const UPDATED_AT: &str = "2026-11-20T08:15:42Z";

/// Gitea's `User` for `login`.
pub fn gitea_user(web: &str, login: &str, full_name: &str) -> Value {
    json!({
        "id": login.len() as u64 * 7,
        "login": login,
        "login_name": "",
        "source_id": 0,
        "full_name": full_name,
        "email": "",
        "avatar_url": format!("{web}/avatars/{login}"),
        "html_url": format!("{web}/{login}"),
        "language": "",
        "is_admin": false,
        "last_login": "0001-01-01T00:00:00Z",
        "created": "2023-02-11T10:04:52Z",
        "restricted": false,
        "active": false,
        "prohibit_login": false,
        "location": "",
        "website": "",
        "description": "",
        "visibility": "public",
        "followers_count": 3,
        "following_count": 0,
        "starred_repos_count": 1,
        "username": login
    })
}

/// Gitea's `Repository` for `repo` (web address `web`, API `api`).
pub fn gitea_repository(web: &str, api: &str, repo: &StandInRepo) -> Value {
    let (o, n) = (&repo.owner, &repo.name);
    json!({
        "id": repo.stars as u64 + 1000,
        "owner": gitea_user(web, o, ""),
        "name": n,
        "full_name": format!("{o}/{n}"),
        "description": format!("{n} by {o}"),
        "empty": false,
        "private": false,
        "fork": repo.fork,
        "template": false,
        "parent": null,
        "mirror": false,
        "size": 84,
        "language": "JavaScript",
        "languages_url": format!("{api}/repos/{o}/{n}/languages"),
        "html_url": format!("{web}/{o}/{n}"),
        "url": format!("{api}/repos/{o}/{n}"),
        "link": "",
        "ssh_url": format!("git@{}:{o}/{n}.git", web.trim_start_matches("http://").trim_start_matches("https://")),
        "clone_url": format!("{web}/{o}/{n}.git"),
        "original_url": "",
        "website": "",
        "stars_count": repo.stars,
        "forks_count": 1,
        "watchers_count": 2,
        "open_issues_count": 0,
        "open_pr_counter": 0,
        "release_counter": 0,
        "default_branch": "main",
        "archived": repo.archived,
        "created_at": "2024-01-05T12:00:00Z",
        "updated_at": UPDATED_AT,
        "archived_at": "1970-01-01T00:00:00Z",
        "permissions": {"admin": false, "push": false, "pull": true},
        "has_issues": true,
        "has_wiki": true,
        "has_pull_requests": true,
        "has_projects": false,
        "has_releases": true,
        "has_packages": false,
        "has_actions": false,
        "ignore_whitespace_conflicts": false,
        "allow_merge_commits": true,
        "allow_rebase": true,
        "allow_squash_merge": true,
        "default_merge_style": "merge",
        "avatar_url": "",
        "internal": false,
        "mirror_interval": "",
        "mirror_updated": "0001-01-01T00:00:00Z",
        "repo_transfer": null
    })
}

/// Serves `repos` as a Gitea instance whose API is at `<server>/api/v1` and whose web
/// pages claim to be at `web`: the search (one page, `X-Total-Count`), owner listings,
/// `/orgs/{org}` for each of `organizations` (users answer 404 there), `/users/{login}`,
/// each repository, its `main` branch, its recursive tree and raw files.
pub async fn mount_gitea(
    server: &MockServer,
    web: &str,
    repos: &[StandInRepo],
    organizations: &[&str],
) {
    let api = format!("{}/api/v1", server.uri());
    let all: Vec<Value> = repos
        .iter()
        .map(|r| gitea_repository(web, &api, r))
        .collect();
    serve(
        server,
        "/api/v1/repos/search",
        ResponseTemplate::new(200)
            .insert_header("x-total-count", all.len().to_string())
            .set_body_json(json!({"ok": true, "data": all})),
    )
    .await;
    for owner in owners(repos) {
        let theirs: Vec<Value> = repos
            .iter()
            .filter(|r| r.owner == owner)
            .map(|r| gitea_repository(web, &api, r))
            .collect();
        let kind = if organizations.contains(&owner) {
            "orgs"
        } else {
            "users"
        };
        serve(
            server,
            format!("/api/v1/{kind}/{owner}/repos"),
            ResponseTemplate::new(200)
                .insert_header("x-total-count", theirs.len().to_string())
                .set_body_json(theirs),
        )
        .await;
        if organizations.contains(&owner) {
            serve(
                server,
                format!("/api/v1/orgs/{owner}"),
                ok_json(json!({
                    "id": 41,
                    "name": owner,
                    "full_name": format!("{owner} collective"),
                    "email": "",
                    "avatar_url": format!("{web}/avatars/{owner}"),
                    "description": format!("The {owner} collective"),
                    "website": format!("{owner}.example"),
                    "location": "Berlin",
                    "visibility": "public",
                    "repo_admin_change_team_access": false,
                    "username": owner
                })),
            )
            .await;
        } else {
            serve(server, format!("/api/v1/orgs/{owner}"), gitea_not_found()).await;
            serve(
                server,
                format!("/api/v1/users/{owner}"),
                ok_json(gitea_user(web, owner, "A Person")),
            )
            .await;
        }
    }
    for repo in repos {
        let (o, n, sha) = (&repo.owner, &repo.name, repo.commit());
        serve(
            server,
            format!("/api/v1/repos/{o}/{n}"),
            ok_json(gitea_repository(web, &api, repo)),
        )
        .await;
        let branch = json!({
            "name": "main",
            "commit": {
                "id": sha,
                "message": "Release\n",
                "url": format!("{web}/{o}/{n}/commit/{sha}"),
                "author": {"name": "A", "email": "a@example.org", "username": ""},
                "committer": {"name": "A", "email": "a@example.org", "username": ""},
                "verification": {"verified": false, "reason": "gpg.error.not_signed_commit", "signature": "", "signer": null, "payload": ""},
                "timestamp": UPDATED_AT,
                "added": null, "removed": null, "modified": null
            },
            "protected": false,
            "required_approvals": 0,
            "enable_status_check": false,
            "status_check_contexts": [],
            "user_can_push": false,
            "user_can_merge": false,
            "effective_branch_protection_name": ""
        });
        serve(
            server,
            format!("/api/v1/repos/{o}/{n}/branches/main"),
            ok_json(branch),
        )
        .await;
        let tree: Vec<Value> = repo
            .files
            .iter()
            .map(|(p, c)| {
                json!({"path": p, "mode": "100644", "type": "blob", "size": c.len(), "sha": sha, "url": format!("{api}/repos/{o}/{n}/git/blobs/{sha}")})
            })
            .collect();
        serve(
            server,
            format!("/api/v1/repos/{o}/{n}/git/trees/{sha}"),
            ok_json(json!({
                "sha": sha,
                "url": format!("{api}/repos/{o}/{n}/git/trees/{sha}"),
                "tree": tree,
                "truncated": false,
                "page": 1,
                "total_count": repo.files.len()
            })),
        )
        .await;
        for (file, contents) in &repo.files {
            serve(
                server,
                format!("/api/v1/repos/{o}/{n}/raw/{file}"),
                raw_file(contents),
            )
            .await;
        }
    }
}

/// Gitea's 404: `{"errors": null, "message": "not found", "url": …}`.
pub fn gitea_not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "errors": null,
        "message": "The target couldn't be found.",
        "url": "https://codeberg.org/api/swagger"
    }))
}

/// GitLab's `Project` for `repo` (web address `web`), owned by a group or a user.
pub fn gitlab_project(web: &str, repo: &StandInRepo, group: bool) -> Value {
    let (o, n) = (&repo.owner, &repo.name);
    let mut project = json!({
        "id": repo.stars as u64 + 5000,
        "description": format!("{n} by {o}"),
        "name": n,
        "name_with_namespace": format!("{o} / {n}"),
        "path": n,
        "path_with_namespace": format!("{o}/{n}"),
        "created_at": "2024-01-05T12:00:00.000Z",
        "default_branch": "main",
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@gitlab.example:{o}/{n}.git"),
        "http_url_to_repo": format!("{web}/{o}/{n}.git"),
        "web_url": format!("{web}/{o}/{n}"),
        "readme_url": format!("{web}/{o}/{n}/-/blob/main/README.md"),
        "forks_count": 1,
        "avatar_url": null,
        "star_count": repo.stars,
        "last_activity_at": UPDATED_AT,
        "namespace": {
            "id": 77,
            "name": o,
            "path": o,
            "kind": if group { "group" } else { "user" },
            "full_path": o,
            "parent_id": null,
            "avatar_url": null,
            "web_url": format!("{web}/{}{o}", if group { "groups/" } else { "" })
        },
        "visibility": "public",
        "archived": repo.archived,
        "empty_repo": false
    });
    if repo.fork {
        project["forked_from_project"] = json!({
            "id": 1, "name": n, "path": n, "path_with_namespace": format!("upstream/{n}"),
            "web_url": format!("{web}/upstream/{n}")
        });
    }
    project
}

/// Serves `repos` as a GitLab instance whose API is at `<server>/api/v4` and whose web
/// pages claim to be at `web`: the project search (one keyset page), group and user
/// listings, `/groups/:id` for each of `groups` (users answer 404 there), `/users?username=`
/// and `/users/:id`, each project, its `main` commit, its recursive tree and raw files.
pub async fn mount_gitlab(server: &MockServer, web: &str, repos: &[StandInRepo], groups: &[&str]) {
    let all: Vec<Value> = repos
        .iter()
        .map(|r| gitlab_project(web, r, groups.contains(&r.owner.as_str())))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v4/projects"))
        .and(query_param("pagination", "keyset"))
        .respond_with(ok_json(all))
        .mount(server)
        .await;
    for (index, owner) in owners(repos).into_iter().enumerate() {
        let group = groups.contains(&owner);
        let theirs: Vec<Value> = repos
            .iter()
            .filter(|r| r.owner == owner)
            .map(|r| gitlab_project(web, r, group))
            .collect();
        let kind = if group { "groups" } else { "users" };
        serve(
            server,
            format!("/api/v4/{kind}/{owner}/projects"),
            ok_json(theirs),
        )
        .await;
        if group {
            serve(
                server,
                format!("/api/v4/groups/{owner}"),
                ok_json(json!({
                    "id": 77,
                    "web_url": format!("{web}/groups/{owner}"),
                    "name": format!("{owner} group"),
                    "path": owner,
                    "description": format!("The {owner} group"),
                    "visibility": "public",
                    "full_name": format!("{owner} group"),
                    "full_path": owner,
                    "parent_id": null,
                    "created_at": "2022-03-01T09:00:00.000Z"
                })),
            )
            .await;
        } else {
            let id = 900 + index as u64;
            serve(
                server,
                format!("/api/v4/groups/{owner}"),
                gitlab_error(404, "404 Group Not Found"),
            )
            .await;
            Mock::given(method("GET"))
                .and(path("/api/v4/users"))
                .and(query_param("username", owner))
                .respond_with(ok_json(json!([{
                    "id": id, "username": owner, "name": "A Person", "state": "active",
                    "locked": false, "avatar_url": null, "web_url": format!("{web}/{owner}")
                }])))
                .mount(server)
                .await;
            serve(
                server,
                format!("/api/v4/users/{id}"),
                ok_json(json!({
                    "id": id, "username": owner, "name": "A Person", "state": "active",
                    "locked": false, "avatar_url": null, "web_url": format!("{web}/{owner}"),
                    "created_at": "2021-01-01T00:00:00.000Z", "bio": "Writes code",
                    "location": "", "public_email": "", "linkedin": "", "twitter": "",
                    "website_url": format!("{owner}.example"), "organization": "",
                    "job_title": "", "pronouns": null, "bot": false, "followers": 1, "following": 0
                })),
            )
            .await;
        }
    }
    for repo in repos {
        let (o, n, sha) = (&repo.owner, &repo.name, repo.commit());
        let id = format!("{o}%2F{n}");
        let group = groups.contains(&o.as_str());
        serve(
            server,
            format!("/api/v4/projects/{id}"),
            ok_json(gitlab_project(web, repo, group)),
        )
        .await;
        serve(
            server,
            format!("/api/v4/projects/{id}/repository/commits/main"),
            ok_json(json!({
                "id": sha,
                "short_id": &sha[..8],
                "title": "Release",
                "author_name": "A",
                "author_email": "a@example.org",
                "authored_date": UPDATED_AT,
                "committer_name": "A",
                "committer_email": "a@example.org",
                "committed_date": UPDATED_AT,
                "created_at": UPDATED_AT,
                "message": "Release",
                "parent_ids": [],
                "web_url": format!("{web}/{o}/{n}/-/commit/{sha}")
            })),
        )
        .await;
        let tree: Vec<Value> = repo
            .files
            .iter()
            .map(|(p, _)| {
                let name = p.rsplit('/').next().unwrap_or(p);
                json!({"id": sha, "name": name, "type": "blob", "path": p, "mode": "100644"})
            })
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/api/v4/projects/{id}/repository/tree")))
            .and(query_param("ref", sha.as_str()))
            .respond_with(ok_json(tree))
            .mount(server)
            .await;
        for (file, contents) in &repo.files {
            serve(
                server,
                format!(
                    "/api/v4/projects/{id}/repository/files/{}/raw",
                    file.replace('/', "%2F")
                ),
                raw_file(contents),
            )
            .await;
        }
    }
}

/// GitLab's error body: `{"message": "404 Project Not Found"}`.
pub fn gitlab_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
}
