//! Funding files: `.github/FUNDING.yml` and the fundingjson.org `funding.json` manifest.
//!
//! Both become a list of (platform, URL). Platform ids are FUNDING.yml's keys, so a link
//! found in `funding.json` or in package.json's `funding` gets the same id as the
//! equivalent FUNDING.yml entry (`custom` when the host is not a known platform).

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use super::{Format, ManifestError, ParsedManifest};
use wump_core::FundingLink;

/// FUNDING.yml keys GitHub documents, the URL each account name expands to, and the host
/// that identifies a platform's links.
const PLATFORMS: [(&str, &str, &str); 13] = [
    (
        "github",
        "https://github.com/sponsors/",
        "github.com/sponsors",
    ),
    ("patreon", "https://www.patreon.com/", "patreon.com"),
    (
        "open_collective",
        "https://opencollective.com/",
        "opencollective.com",
    ),
    ("ko_fi", "https://ko-fi.com/", "ko-fi.com"),
    (
        "tidelift",
        "https://tidelift.com/funding/github/",
        "tidelift.com",
    ),
    (
        "community_bridge",
        "https://funding.communitybridge.org/projects/",
        "funding.communitybridge.org",
    ),
    ("liberapay", "https://liberapay.com/", "liberapay.com"),
    ("issuehunt", "https://issuehunt.io/r/", "issuehunt.io"),
    (
        "lfx_crowdfunding",
        "https://crowdfunding.lfx.linuxfoundation.org/projects/",
        "crowdfunding.lfx.linuxfoundation.org",
    ),
    ("polar", "https://polar.sh/", "polar.sh"),
    (
        "buy_me_a_coffee",
        "https://buymeacoffee.com/",
        "buymeacoffee.com",
    ),
    ("thanks_dev", "https://thanks.dev/", "thanks.dev"),
    ("custom", "https://", ""),
];

/// Parses a funding file (`text` read from `path`) into its links.
pub(crate) fn parse(
    format: Format,
    _path: &str,
    text: &str,
) -> Result<ParsedManifest, ManifestError> {
    let funding = match format {
        Format::FundingYml => funding_yml(text)?,
        Format::FundingJson => funding_json(text)?,
        _ => return Err(ManifestError::Unsupported { format }),
    };
    Ok(ParsedManifest {
        dependencies: Vec::new(),
        funding,
    })
}

/// A funding URL found outside FUNDING.yml (package.json, a registry's metadata), with the
/// platform its host belongs to.
pub fn link_for_url(url: &str) -> FundingLink {
    FundingLink {
        platform: platform_of(url).to_owned(),
        url: url.trim().to_owned(),
    }
}

fn platform_of(url: &str) -> &'static str {
    let rest = url
        .trim()
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_ascii_lowercase();
    let rest = rest.strip_prefix("www.").unwrap_or(&rest);
    PLATFORMS
        .iter()
        .find(|(_, _, host)| {
            !host.is_empty()
                && rest.strip_prefix(host).is_some_and(|after| {
                    after.is_empty() || after.starts_with(['/', '?', '#', ':'])
                })
        })
        .map_or("custom", |(platform, _, _)| platform)
}

// ---- FUNDING.yml ----

/// `platform: account` or `platform: [a, b]`; empty values (the template's placeholders)
/// and keys GitHub does not know are skipped.
fn funding_yml(text: &str) -> Result<Vec<FundingLink>, ManifestError> {
    let root: Yaml = super::yaml::parse(Format::FundingYml, text)?;
    let entries = match root {
        Yaml::Mapping(entries) => entries,
        Yaml::Null => return Ok(Vec::new()),
        _ => {
            return Err(ManifestError::syntax(
                Format::FundingYml,
                "expected `platform: account` lines at the top level",
            ));
        }
    };
    let mut links = Vec::new();
    for (key, value) in &entries {
        let Some((platform, prefix, _)) = key
            .as_str()
            .and_then(|k| PLATFORMS.iter().find(|(p, _, _)| *p == k.trim()))
        else {
            continue;
        };
        for account in accounts(value) {
            links.push(FundingLink {
                platform: (*platform).to_owned(),
                url: expand(prefix, &account),
            });
        }
    }
    Ok(links)
}

/// The non-empty values of a scalar or a list.
fn accounts(value: &Yaml) -> Vec<String> {
    let scalar = |v: &Yaml| match v {
        Yaml::String(s) => Some(s.trim().to_owned()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let values: Vec<String> = match value {
        Yaml::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    };
    values.into_iter().filter(|v| !v.is_empty()).collect()
}

/// An account name as the platform's URL; values that already are URLs stay as written.
fn expand(prefix: &str, account: &str) -> String {
    if account.contains("://") {
        return account.to_owned();
    }
    let account = if prefix == "https://" {
        account
    } else {
        account.trim_start_matches('@')
    };
    format!("{prefix}{}", account.trim_start_matches('/'))
}

// ---- funding.json ----

/// fundingjson.org v1: `funding.channels[]` are the ways to pay, each with an `address`;
/// the ones that are web addresses become links (bank details and e-mail are not links).
fn funding_json(text: &str) -> Result<Vec<FundingLink>, ManifestError> {
    let syntax = |message: &str| ManifestError::syntax(Format::FundingJson, message);
    let root: Json =
        serde_json::from_str(text).map_err(|e| ManifestError::syntax(Format::FundingJson, e))?;
    let root = root
        .as_object()
        .ok_or_else(|| syntax("expected an object at the top level"))?;
    let channels = match root.get("funding").map(|f| f.get("channels")) {
        None | Some(None) | Some(Some(Json::Null)) => return Ok(Vec::new()),
        Some(Some(Json::Array(channels))) => channels,
        Some(Some(_)) => return Err(syntax("expected a list at `funding.channels`")),
    };
    Ok(channels
        .iter()
        .filter_map(|channel| channel.get("address").and_then(Json::as_str))
        .map(str::trim)
        .filter(|address| is_web_url(address))
        .map(link_for_url)
        .collect())
}

fn is_web_url(address: &str) -> bool {
    let lower = address.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !address.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(format: Format, text: &str) -> Vec<(String, String)> {
        parse(format, "", text)
            .unwrap()
            .funding
            .into_iter()
            .map(|l| (l.platform, l.url))
            .collect()
    }

    fn link(platform: &str, url: &str) -> (String, String) {
        (platform.into(), url.into())
    }

    #[test]
    fn every_documented_platform_expands_to_its_url() {
        let text = "\
github: octocat
patreon: octocat
open_collective: octocat
ko_fi: octocat
tidelift: npm/octo-package
community_bridge: octo-project
liberapay: octocat
issuehunt: octocat
lfx_crowdfunding: octo-project
polar: octocat
buy_me_a_coffee: octocat
thanks_dev: u/gh/octocat
custom: https://paypal.me/octocat
";
        assert_eq!(
            links(Format::FundingYml, text),
            [
                link("github", "https://github.com/sponsors/octocat"),
                link("patreon", "https://www.patreon.com/octocat"),
                link("open_collective", "https://opencollective.com/octocat"),
                link("ko_fi", "https://ko-fi.com/octocat"),
                link(
                    "tidelift",
                    "https://tidelift.com/funding/github/npm/octo-package"
                ),
                link(
                    "community_bridge",
                    "https://funding.communitybridge.org/projects/octo-project"
                ),
                link("liberapay", "https://liberapay.com/octocat"),
                link("issuehunt", "https://issuehunt.io/r/octocat"),
                link(
                    "lfx_crowdfunding",
                    "https://crowdfunding.lfx.linuxfoundation.org/projects/octo-project"
                ),
                link("polar", "https://polar.sh/octocat"),
                link("buy_me_a_coffee", "https://buymeacoffee.com/octocat"),
                link("thanks_dev", "https://thanks.dev/u/gh/octocat"),
                link("custom", "https://paypal.me/octocat"),
            ]
        );
    }

    #[test]
    fn lists_comments_and_empty_values() {
        // GitHub's template: every key present, most left empty with a comment.
        let text = "\
# These are supported funding model platforms

github: [octocat, surftocat] # Replace with up to 4 GitHub Sponsors-enabled usernames
patreon: # Replace with a single Patreon username
open_collective: ''
ko_fi:
custom: ['https://www.paypal.me/octocat', 'octocat.example.com', '']
";
        assert_eq!(
            links(Format::FundingYml, text),
            [
                link("github", "https://github.com/sponsors/octocat"),
                link("github", "https://github.com/sponsors/surftocat"),
                link("custom", "https://www.paypal.me/octocat"),
                link("custom", "https://octocat.example.com"),
            ]
        );
    }

    #[test]
    fn unknown_keys_are_skipped_and_urls_kept() {
        let text = "bitcoin: 1abc\npatreon: https://patreon.com/octocat\n";
        assert_eq!(
            links(Format::FundingYml, text),
            [link("patreon", "https://patreon.com/octocat")]
        );
        assert!(links(Format::FundingYml, "# nothing yet\n").is_empty());
    }

    #[test]
    fn malformed_funding_yml_is_an_error() {
        let err = parse(Format::FundingYml, "", "- github\n").unwrap_err();
        assert!(err.to_string().contains("top level"), "{err}");
        assert!(parse(Format::FundingYml, "", "github: [octocat\n").is_err());
    }

    #[test]
    fn funding_json_channels_with_web_addresses_become_links() {
        let text = r#"{
  "version": "v1.0.0",
  "entity": {"type": "individual", "role": "owner", "name": "Octo", "email": "octo@example.com"},
  "projects": [],
  "funding": {
    "channels": [
      {"guid": "sponsors", "type": "payment-provider", "address": "https://github.com/sponsors/octocat"},
      {"guid": "oc", "type": "payment-provider", "address": "https://opencollective.com/octo"},
      {"guid": "paypal", "type": "payment-provider", "address": "https://www.paypal.com/paypalme/octo"},
      {"guid": "bank", "type": "bank", "address": "IBAN DE00 0000 0000"},
      {"guid": "mail", "type": "other", "address": "octo@example.com"}
    ],
    "plans": []
  }
}"#;
        assert_eq!(
            links(Format::FundingJson, text),
            [
                link("github", "https://github.com/sponsors/octocat"),
                link("open_collective", "https://opencollective.com/octo"),
                link("custom", "https://www.paypal.com/paypalme/octo"),
            ]
        );
    }

    #[test]
    fn funding_json_without_channels_is_empty_and_bad_shapes_are_errors() {
        assert!(links(Format::FundingJson, r#"{"version": "v1.0.0"}"#).is_empty());
        let err = parse(Format::FundingJson, "", r#"{"funding": {"channels": {}}}"#).unwrap_err();
        assert!(err.to_string().contains("`funding.channels`"), "{err}");
        assert!(parse(Format::FundingJson, "", "[]").is_err());
    }

    #[test]
    fn hosts_name_platforms_but_lookalikes_do_not() {
        assert_eq!(platform_of("https://www.patreon.com/x"), "patreon");
        assert_eq!(platform_of("https://github.com/sponsors/x"), "github");
        assert_eq!(platform_of("https://github.com/x"), "custom");
        assert_eq!(platform_of("https://patreon.com.evil.example/x"), "custom");
    }
}
