//! A stand-in for Bitbucket Cloud (REST API 2.0,
//! <https://developer.atlassian.com/cloud/bitbucket/rest/>): paginated envelopes
//! `{pagelen, page, size, next, values}`, `links.html.href`, `src` listings of
//! `commit_file`/`commit_directory` entries, raw files, and the error body
//! `{"type": "error", "error": {"message": …}}`.

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use super::{StandInRepo, UPDATED_AT, ok_json, owners, serve};

/// A Bitbucket UUID (`{…}`, braces included) derived from `seed`.
fn uuid(seed: &str) -> String {
    let n: u64 = seed
        .bytes()
        .fold(7, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let hex = format!("{n:016x}{:016x}", n.rotate_left(17));
    format!(
        "{{{}-{}-{}-{}-{}}}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

/// A paginated envelope: `{pagelen, page, size, values}` and `next` when there is one.
pub fn bitbucket_page(values: Vec<Value>, page: u32, next: Option<String>) -> Value {
    let mut envelope = json!({
        "pagelen": 100,
        "size": values.len(),
        "page": page,
        "values": values
    });
    if let Some(next) = next {
        envelope["next"] = json!(next);
    }
    envelope
}

/// The owner of a workspace's repositories: a team's (`type: team`) or a person's.
fn bitbucket_owner(web: &str, api: &str, workspace: &str, team: bool) -> Value {
    let mut owner = json!({
        "display_name": if team { format!("{workspace} team") } else { "A Person".to_owned() },
        "links": {
            "self": href(format!("{api}/{}/{}", if team { "teams" } else { "users" }, uuid(workspace))),
            "avatar": href(format!("https://avatar-management.example/{workspace}.png")),
            "html": href(format!("{web}/{}/", uuid(workspace)))
        },
        "type": if team { "team" } else { "user" },
        "uuid": uuid(workspace)
    });
    if team {
        owner["username"] = json!(workspace);
    } else {
        owner["nickname"] = json!(workspace);
        owner["account_id"] = json!(format!("557058:{}", &uuid(workspace)[1..37]));
    }
    owner
}

/// Bitbucket's `repository` for `repo` (web address `web`, API `api`), owned by a team's
/// workspace or a person's; a fork names its `parent`.
pub fn bitbucket_repository(web: &str, api: &str, repo: &StandInRepo, team: bool) -> Value {
    let (w, s) = (&repo.owner, &repo.name);
    let base = format!("{api}/repositories/{w}/{s}");
    let mut repository = json!({
        "type": "repository",
        "full_name": format!("{w}/{s}"),
        "links": {
            "self": href(base.clone()),
            "html": href(format!("{web}/{w}/{s}")),
            "avatar": href(format!("https://bytebucket.example/ravatar/{}", uuid(s))),
            "pullrequests": href(format!("{base}/pullrequests")),
            "commits": href(format!("{base}/commits")),
            "forks": href(format!("{base}/forks")),
            "watchers": href(format!("{base}/watchers")),
            "branches": href(format!("{base}/refs/branches")),
            "tags": href(format!("{base}/refs/tags")),
            "downloads": href(format!("{base}/downloads")),
            "source": href(format!("{base}/src")),
            "clone": [
                {"name": "https", "href": format!("{web}/{w}/{s}.git")},
                {"name": "ssh", "href": format!("git@bitbucket.org:{w}/{s}.git")}
            ],
            "hooks": href(format!("{base}/hooks"))
        },
        "name": s,
        "slug": s,
        "description": format!("{s} by {w}"),
        "scm": "git",
        "website": null,
        "owner": bitbucket_owner(web, api, w, team),
        "workspace": {
            "type": "workspace",
            "uuid": uuid(w),
            "name": if team { format!("{w} team") } else { "A Person".to_owned() },
            "slug": w,
            "links": {
                "avatar": href(format!("{web}/workspaces/{w}/avatar/")),
                "html": href(format!("{web}/{w}/")),
                "self": href(format!("{api}/workspaces/{w}"))
            }
        },
        "is_private": false,
        "project": {
            "type": "project",
            "key": "PROJ",
            "uuid": uuid(&format!("{w}-project")),
            "name": "Main",
            "links": {"self": href(format!("{api}/workspaces/{w}/projects/PROJ"))}
        },
        "fork_policy": "allow_forks",
        "created_on": "2024-01-05T12:00:00.000000+00:00",
        "updated_on": UPDATED_AT,
        "size": 84_213,
        "language": "javascript",
        "uuid": uuid(&format!("{w}/{s}")),
        "mainbranch": {"name": "main", "type": "branch"},
        "override_settings": {"default_merge_strategy": true, "branching_model": true},
        "has_issues": false,
        "has_wiki": false
    });
    if repo.fork {
        repository["parent"] = json!({
            "type": "repository",
            "full_name": format!("upstream/{s}"),
            "links": {
                "self": href(format!("{api}/repositories/upstream/{s}")),
                "html": href(format!("{web}/upstream/{s}")),
                "avatar": href(format!("https://bytebucket.example/ravatar/{}", uuid(s)))
            },
            "name": s,
            "uuid": uuid(&format!("upstream/{s}"))
        });
    }
    repository
}

/// Bitbucket's error answer: `{"type": "error", "error": {"message": …}}`.
pub fn bitbucket_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"type": "error", "error": {"message": message}}))
}

/// One `src` entry: a `commit_file` with its size, or a `commit_directory`.
pub fn bitbucket_src_entry(
    api: &str,
    repo: &StandInRepo,
    path: &str,
    size: Option<usize>,
) -> Value {
    let (w, s, sha) = (&repo.owner, &repo.name, repo.commit());
    let self_link = format!("{api}/repositories/{w}/{s}/src/{sha}/{path}");
    let commit = json!({
        "type": "commit",
        "hash": sha,
        "links": {
            "self": href(format!("{api}/repositories/{w}/{s}/commit/{sha}")),
            "html": href(format!("https://bitbucket.org/{w}/{s}/commits/{sha}"))
        }
    });
    match size {
        Some(size) => json!({
            "path": path,
            "commit": commit,
            "type": "commit_file",
            "attributes": [],
            "escaped_path": path,
            "size": size,
            "mimetype": null,
            "links": {
                "self": href(self_link.clone()),
                "meta": href(format!("{self_link}?format=meta")),
                "history": href(format!("{api}/repositories/{w}/{s}/filehistory/{sha}/{path}"))
            }
        }),
        None => json!({
            "path": path,
            "type": "commit_directory",
            "commit": commit,
            "links": {
                "self": href(format!("{self_link}/")),
                "meta": href(format!("{self_link}/?format=meta"))
            }
        }),
    }
}

/// Every directory and file of `repo`, breadth first as `max_depth` lists them.
fn src_listing(api: &str, repo: &StandInRepo) -> Vec<Value> {
    let mut directories: Vec<&str> = repo
        .files
        .iter()
        .flat_map(|(p, _)| p.match_indices('/').map(move |(i, _)| &p[..i]))
        .collect();
    directories.sort_unstable();
    directories.dedup();
    let mut entries: Vec<(usize, Value)> = directories
        .into_iter()
        .map(|d| {
            (
                d.matches('/').count(),
                bitbucket_src_entry(api, repo, d, None),
            )
        })
        .chain(repo.files.iter().map(|(p, c)| {
            (
                p.matches('/').count(),
                bitbucket_src_entry(api, repo, p, Some(c.len())),
            )
        }))
        .collect();
    entries.sort_by_key(|(depth, _)| *depth);
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// Serves `repos` as Bitbucket Cloud whose API is at `<server>/2.0` and whose web pages
/// claim to be at `web`: the public listing (one page), each workspace's listing and
/// `/workspaces/{workspace}` (a team's for each of `teams`, else a person's), each
/// repository, its `main` commit, its `src` listing and raw files (at the commit and at
/// `main`).
pub async fn mount_bitbucket(
    server: &MockServer,
    web: &str,
    repos: &[StandInRepo],
    teams: &[&str],
) {
    let api = format!("{}/2.0", server.uri());
    let team = |owner: &str| teams.contains(&owner);
    // Whatever is not mounted is not there, said the way Bitbucket says it.
    Mock::given(method("GET"))
        .respond_with(bitbucket_error(
            404,
            "You may not have access to this repository or it no longer exists in this workspace.",
        ))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
    let all: Vec<Value> = repos
        .iter()
        .map(|r| bitbucket_repository(web, &api, r, team(&r.owner)))
        .collect();
    serve(
        server,
        "/2.0/repositories",
        ok_json(bitbucket_page(all, 1, None)),
    )
    .await;
    for owner in owners(repos) {
        let theirs: Vec<Value> = repos
            .iter()
            .filter(|r| r.owner == owner)
            .map(|r| bitbucket_repository(web, &api, r, team(owner)))
            .collect();
        serve(
            server,
            format!("/2.0/repositories/{owner}"),
            ok_json(bitbucket_page(theirs, 1, None)),
        )
        .await;
        let workspace = json!({
            "type": "workspace",
            "uuid": uuid(owner),
            "name": if team(owner) { format!("{owner} team") } else { "A Person".to_owned() },
            "slug": owner,
            "is_private": false,
            "is_privacy_enforced": false,
            "links": {
                "avatar": href(format!("{web}/workspaces/{owner}/avatar/")),
                "html": href(format!("{web}/{owner}/")),
                "members": href(format!("{api}/workspaces/{owner}/members")),
                "owners": href(format!("{api}/workspaces/{owner}/members?q=permission%3D%22owner%22")),
                "projects": href(format!("{api}/workspaces/{owner}/projects")),
                "repositories": href(format!("{api}/repositories/{owner}")),
                "snippets": href(format!("{api}/snippets/{owner}")),
                "self": href(format!("{api}/workspaces/{owner}"))
            },
            "created_on": "2022-03-01T09:00:00.000000+00:00"
        });
        serve(
            server,
            format!("/2.0/workspaces/{owner}"),
            ok_json(workspace),
        )
        .await;
    }
    for repo in repos {
        let (w, s, sha) = (&repo.owner, &repo.name, repo.commit());
        let base = format!("/2.0/repositories/{w}/{s}");
        serve(
            server,
            base.clone(),
            ok_json(bitbucket_repository(web, &api, repo, team(w))),
        )
        .await;
        let commit = json!({
            "type": "commit",
            "hash": sha,
            "date": UPDATED_AT,
            "author": {"type": "author", "raw": "A <a@example.org>"},
            "message": "Release\n",
            "summary": {"type": "rendered", "raw": "Release\n", "markup": "markdown", "html": "<p>Release</p>"},
            "links": {
                "self": href(format!("{api}/repositories/{w}/{s}/commit/{sha}")),
                "html": href(format!("{web}/{w}/{s}/commits/{sha}"))
            },
            "parents": [],
            "repository": {"type": "repository", "full_name": format!("{w}/{s}"), "name": s, "uuid": uuid(&format!("{w}/{s}"))}
        });
        serve(server, format!("{base}/commit/main"), ok_json(commit)).await;
        serve(
            server,
            format!("{base}/src/{sha}/"),
            ok_json(bitbucket_page(src_listing(&api, repo), 1, None)),
        )
        .await;
        for (file, contents) in &repo.files {
            for revision in [sha.as_str(), "main"] {
                serve(
                    server,
                    format!("{base}/src/{revision}/{file}"),
                    ResponseTemplate::new(200)
                        .insert_header("content-type", "text/plain")
                        .set_body_string(contents.clone()),
                )
                .await;
            }
        }
    }
}
