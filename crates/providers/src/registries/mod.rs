//! Package registries: package metadata and funding from each registry's documented JSON
//! API. They answer [`crate::DataProvider::fetch_package`] and `health` only.

mod crates_io;
mod maven_central;
mod npm;
mod packagist;
mod pypi;
mod rubygems;

use serde_json::Value;
use url::Url;
use wump_core::{Ecosystem, FundingLink, PackageRef};
use wump_manifests::funding::link_for_url;

pub use crates_io::CratesIo;
pub use maven_central::MavenCentral;
pub use npm::Npm;
pub use packagist::Packagist;
pub use pypi::Pypi;
pub use rubygems::Rubygems;

use crate::ProviderError;

/// Refuses a package from another ecosystem: this registry cannot have it.
pub(crate) fn expect_ecosystem(
    provider: &str,
    package: &PackageRef,
    ecosystem: Ecosystem,
) -> Result<(), ProviderError> {
    if package.ecosystem == ecosystem {
        Ok(())
    } else {
        Err(ProviderError::NotFound {
            provider: provider.to_owned(),
            what: format!("{package} (this registry serves {ecosystem} packages)"),
        })
    }
}

/// A non-empty, trimmed string.
pub(crate) fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("unknown"))
        .map(str::to_owned)
}

/// A repository location as registries write it (`git+https://…​.git`, `git@host:o/r`,
/// `github:o/r`, npm's bare `o/r`, a browse URL such as `…/tree/v1.2`) as a browsable
/// `https://` URL; on the well-known forges only `owner/repo` is kept.
pub(crate) fn repository_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let raw = raw.strip_prefix("git+").unwrap_or(raw);
    for (prefix, host) in [
        ("github:", "github.com"),
        ("gitlab:", "gitlab.com"),
        ("bitbucket:", "bitbucket.org"),
    ] {
        if let Some(path) = raw.strip_prefix(prefix) {
            return Some(forge_url(host, path));
        }
    }
    if let Some((_, rest)) = raw.split_once("://") {
        let rest = rest
            .split_once('@')
            .filter(|(user, _)| !user.contains('/'))
            .map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        return Some(forge_url(&host, path));
    }
    if let Some((host, path)) = raw.strip_prefix("git@").and_then(|r| r.split_once(':')) {
        return Some(forge_url(&host.to_ascii_lowercase(), path));
    }
    // npm's shorthand for a GitHub repository.
    if raw.matches('/').count() == 1 && !raw.contains([':', ' ']) {
        return Some(forge_url("github.com", raw));
    }
    None
}

fn forge_url(host: &str, path: &str) -> String {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = path.trim_matches('/');
    let path = if matches!(host, "github.com" | "gitlab.com" | "bitbucket.org") {
        let mut parts = path.splitn(3, '/');
        match (parts.next(), parts.next()) {
            (Some(owner), Some(repo)) => format!("{owner}/{repo}"),
            _ => path.to_owned(),
        }
    } else {
        path.to_owned()
    };
    let path = path.strip_suffix(".git").unwrap_or(&path);
    if path.is_empty() {
        format!("https://{host}")
    } else {
        format!("https://{host}/{path}")
    }
}

/// Whether `url` points at a repository on a well-known forge.
pub(crate) fn is_forge_repository(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| {
        matches!(
            u.host_str().map(|h| h.strip_prefix("www.").unwrap_or(h)),
            Some("github.com" | "gitlab.com" | "bitbucket.org")
        ) && u
            .path_segments()
            .is_some_and(|s| s.filter(|p| !p.is_empty()).count() >= 2)
    })
}

/// A funding link from a URL and, where the source says, its platform (npm's and
/// Composer's `type`). The URL's host decides when it is a known platform; the declared
/// type when the host is not (GitHub Sponsors links are often written as a profile URL).
pub(crate) fn funding_link(kind: Option<&str>, url: &str) -> Option<FundingLink> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    let mut link = link_for_url(url);
    if link.platform == "custom" {
        let declared = match kind.map(|k| k.trim().to_ascii_lowercase()).as_deref() {
            Some("github") => Some("github"),
            Some("opencollective" | "open_collective") => Some("open_collective"),
            Some("patreon") => Some("patreon"),
            Some("ko-fi" | "ko_fi") => Some("ko_fi"),
            Some("liberapay") => Some("liberapay"),
            Some("tidelift") => Some("tidelift"),
            Some("polar") => Some("polar"),
            Some("thanks_dev" | "thanks.dev") => Some("thanks_dev"),
            Some("buy_me_a_coffee" | "buymeacoffee") => Some("buy_me_a_coffee"),
            _ => None,
        };
        if let Some(platform) = declared {
            link.platform = platform.to_owned();
        }
    }
    Some(link)
}

/// npm's `funding`: a URL, `{type, url}`, or a list of either.
pub(crate) fn npm_style_funding(value: &Value) -> Vec<FundingLink> {
    match value {
        Value::String(url) => funding_link(None, url).into_iter().collect(),
        Value::Object(map) => map
            .get("url")
            .and_then(Value::as_str)
            .and_then(|url| funding_link(map.get("type").and_then(Value::as_str), url))
            .into_iter()
            .collect(),
        Value::Array(items) => items.iter().flat_map(npm_style_funding).collect(),
        _ => Vec::new(),
    }
}

/// Drops repeated links, keeping the first of each.
pub(crate) fn dedup(links: Vec<FundingLink>) -> Vec<FundingLink> {
    let mut seen = std::collections::HashSet::new();
    links
        .into_iter()
        .filter(|link| seen.insert(link.url.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_are_normalised_to_browsable_forms() {
        for (raw, expected) in [
            (
                "git+https://github.com/lodash/lodash.git",
                "https://github.com/lodash/lodash",
            ),
            (
                "git://github.com/expressjs/express.git",
                "https://github.com/expressjs/express",
            ),
            (
                "git+ssh://git@github.com/npm/cli.git",
                "https://github.com/npm/cli",
            ),
            (
                "git@gitlab.com:group/project.git",
                "https://gitlab.com/group/project",
            ),
            (
                "github:sindresorhus/got",
                "https://github.com/sindresorhus/got",
            ),
            ("sindresorhus/got", "https://github.com/sindresorhus/got"),
            (
                "https://github.com/rails/rails/tree/v7.1.3",
                "https://github.com/rails/rails",
            ),
            (
                "https://hg.example.org/repo/",
                "https://hg.example.org/repo",
            ),
        ] {
            assert_eq!(repository_url(raw).as_deref(), Some(expected), "{raw}");
        }
        assert_eq!(repository_url("  "), None);
        assert_eq!(repository_url("not a url"), None);
    }

    #[test]
    fn funding_platforms_come_from_the_host_then_the_declared_type() {
        let link = funding_link(Some("github"), "https://github.com/Seldaek").unwrap();
        assert_eq!(link.platform, "github");
        let link = funding_link(Some("individual"), "https://opencollective.com/x").unwrap();
        assert_eq!(link.platform, "open_collective");
        assert_eq!(funding_link(None, "javascript:alert(1)"), None);
    }
}
