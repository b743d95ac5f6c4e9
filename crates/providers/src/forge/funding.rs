//! An owner's funding on a forge: the FUNDING.yml or funding.json in the owner's profile
//! repository (Gitea/Forgejo show `<owner>/.profile`'s README on the profile page, GitLab
//! `<group>/gitlab-profile` and `<user>/<user>`; Bitbucket shows none, so a workspace's
//! `.github`), read like GitHub's `.github` repository.

use wump_core::{FundingLink, RepoFullName};
use wump_manifests::{self as manifest, Format};

use crate::{DataProvider, ProviderError, RepoRef};

/// A funding file is a few lines; anything bigger is not one.
const FUNDING_MAX_BYTES: u64 = 64 * 1024;

/// Where a funding file may sit in a profile repository, in the order looked at: GitHub's
/// spelling (which Codeberg and GitLab projects copy), each forge's own directory, the
/// root, and the fundingjson.org manifest.
const FUNDING_PATHS: [(&str, Format); 5] = [
    (".github/FUNDING.yml", Format::FundingYml),
    (".gitea/FUNDING.yml", Format::FundingYml),
    (".gitlab/FUNDING.yml", Format::FundingYml),
    ("FUNDING.yml", Format::FundingYml),
    ("funding.json", Format::FundingJson),
];

/// The funding links of the first funding file found in the first of `profile_repos`
/// (repository names under `login`) that exists; none when there is none. A file too
/// large or unreadable is logged and skipped.
pub(crate) async fn profile_funding(
    provider: &dyn DataProvider,
    host: &str,
    login: &str,
    profile_repos: &[&str],
) -> Result<Vec<FundingLink>, ProviderError> {
    let mut links = Vec::new();
    for name in profile_repos {
        let Ok(full_name) = RepoFullName::new(login, name) else {
            continue;
        };
        let repo = RepoRef {
            host: host.to_owned(),
            full_name,
        };
        for (path, format) in FUNDING_PATHS {
            let file = match provider
                .fetch_file(&repo, path, None, FUNDING_MAX_BYTES)
                .await
            {
                Ok(file) => file,
                Err(ProviderError::NotFound { .. }) => continue,
                Err(ProviderError::TooLarge { .. }) => {
                    tracing::warn!(login, path, "funding file too large: ignored");
                    continue;
                }
                Err(error) => return Err(error),
            };
            match manifest::parse(format, path, &file.bytes) {
                Ok(parsed) => {
                    for link in parsed.funding {
                        if !links.contains(&link) {
                            links.push(link);
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(login, path, %error, "unreadable funding file: ignored");
                }
            }
        }
        if !links.is_empty() {
            break;
        }
    }
    Ok(links)
}
