//! Owners: the REST profile, the owner-wide FUNDING.yml in the `.github` repository, and
//! the GitHub Sponsors listing through GraphQL (one owner, or up to 50 per query).

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;
use wump_core::FundingLink;
use wump_manifests::{self as manifest, Format};

use super::{
    GitHubProvider, PROVIDER,
    client::ApiRequest,
    limits::Resource,
    not_found,
    payload::{GraphqlOwner, GraphqlResponse, User},
    rejected,
    repos::{gone, owner_kind},
};
use crate::{OwnerProfile, ProviderError};

/// Where GitHub looks for default community health files in the `.github` repository.
const FUNDING_PATHS: [&str; 3] = [".github/FUNDING.yml", "FUNDING.yml", "docs/FUNDING.yml"];
/// A FUNDING.yml is a few lines; anything bigger is not one.
const FUNDING_MAX_BYTES: u64 = 64 * 1024;
/// Owners per GraphQL query (aliases `o0`…`o49`).
pub const GRAPHQL_BATCH: usize = 50;

const OWNER_FIELDS: &str = "fragment owner on RepositoryOwner {
  __typename
  login
  ... on Organization {
    name description websiteUrl
    hasSponsorsListing sponsorsListing { url }
    repositories { totalCount }
  }
  ... on User {
    name bio websiteUrl
    hasSponsorsListing sponsorsListing { url }
    repositories { totalCount }
  }
}";

impl GitHubProvider {
    /// `GET /users/{login}`, the `.github` repository's FUNDING.yml and, with a token,
    /// the Sponsors listing.
    pub(super) async fn owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let url = self.api(&["users", login]);
        let response = self
            .client()
            .execute(ApiRequest::get(url, Resource::Core, login))
            .await?;
        match response.status {
            status if gone(status) => return Err(not_found(format!("owner {login}"))),
            status if !status.is_success() => return Err(rejected(&response)),
            _ => {}
        }
        let user: User = response.json()?;
        let mut profile = OwnerProfile {
            kind: owner_kind(&user.kind),
            name: non_empty(user.name),
            description: non_empty(user.description).or(non_empty(user.bio)),
            website_url: non_empty(user.blog).map(website),
            sponsors_listing_url: None,
            funding: self.owner_funding(&user.login).await?,
            repositories_count: user.public_repos,
            login: user.login,
        };
        if self.client().authenticated() {
            if let Some(Some(owner)) = self.graphql_owners(&[&profile.login]).await?.pop() {
                let graphql = to_profile(owner);
                profile.sponsors_listing_url = graphql.sponsors_listing_url;
                profile.description = profile.description.or(graphql.description);
                profile.website_url = profile.website_url.or(graphql.website_url);
            }
        } else {
            tracing::debug!(login, "no GitHub token: Sponsors listing not looked up");
        }
        Ok(profile)
    }

    /// The owner-wide FUNDING.yml: none when the owner has no `.github` repository or it
    /// holds no such file (or an unreadable one, which is logged).
    async fn owner_funding(&self, login: &str) -> Result<Vec<FundingLink>, ProviderError> {
        let url = self.api(&["repos", login, ".github"]);
        let response = self
            .client()
            .execute(ApiRequest::get(
                url,
                Resource::Core,
                format!("{login}/.github"),
            ))
            .await?;
        match response.status {
            status if gone(status) => return Ok(Vec::new()),
            status if !status.is_success() => return Err(rejected(&response)),
            _ => {}
        }
        for path in FUNDING_PATHS {
            let file = match self
                .raw_file(login, ".github", path, None, FUNDING_MAX_BYTES)
                .await
            {
                Ok(Some(file)) => file,
                Ok(None) => continue,
                Err(ProviderError::TooLarge { .. }) => {
                    tracing::warn!(login, path, "FUNDING.yml too large: ignored");
                    return Ok(Vec::new());
                }
                Err(error) => return Err(error),
            };
            return Ok(
                match manifest::parse(Format::FundingYml, ".github/FUNDING.yml", &file.bytes) {
                    Ok(parsed) => parsed.funding,
                    Err(error) => {
                        tracing::warn!(login, path, %error, "unreadable FUNDING.yml: ignored");
                        Vec::new()
                    }
                },
            );
        }
        Ok(Vec::new())
    }

    /// Profiles of many owners through GraphQL, [`GRAPHQL_BATCH`] per query, in the order
    /// asked (`None`: no such owner). GraphQL gives name, description, website, Sponsors
    /// listing and repository count; FUNDING.yml needs [`crate::DataProvider::fetch_owner`].
    /// Needs a token.
    pub async fn fetch_owners(
        &self,
        logins: &[&str],
    ) -> Result<Vec<Option<OwnerProfile>>, ProviderError> {
        let mut profiles = Vec::with_capacity(logins.len());
        for batch in logins.chunks(GRAPHQL_BATCH) {
            let owners = self.graphql_owners(batch).await?;
            profiles.extend(owners.into_iter().map(|o| o.map(to_profile)));
        }
        Ok(profiles)
    }

    /// One GraphQL query with an aliased `repositoryOwner` per login.
    async fn graphql_owners(
        &self,
        logins: &[&str],
    ) -> Result<Vec<Option<GraphqlOwner>>, ProviderError> {
        if logins.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (0..logins.len())
            .map(|i| format!("$l{i}: String!"))
            .collect();
        let fields: Vec<String> = (0..logins.len())
            .map(|i| format!("  o{i}: repositoryOwner(login: $l{i}) {{ ...owner }}"))
            .collect();
        let query = format!(
            "query({}) {{\n{}\n}}\n{OWNER_FIELDS}",
            params.join(", "),
            fields.join("\n")
        );
        let variables: serde_json::Map<String, serde_json::Value> = logins
            .iter()
            .enumerate()
            .map(|(i, login)| (format!("l{i}"), json!(login)))
            .collect();
        let request = ApiRequest {
            method: Method::POST,
            url: self.inner.graphql.clone(),
            accept: "application/json",
            json: Some(json!({ "query": query, "variables": variables })),
            resource: Resource::Graphql,
            max_body: None,
            what: "graphql".to_owned(),
        };
        let response = self.client().execute(request).await?;
        if !response.status.is_success() {
            return Err(rejected(&response));
        }
        let answer: GraphqlResponse<HashMap<String, Option<GraphqlOwner>>> = response.json()?;
        let serious: Vec<_> = answer
            .errors
            .iter()
            .filter(|e| e.kind.as_deref() != Some("NOT_FOUND"))
            .collect();
        let Some(mut data) = answer.data else {
            let message = serious
                .first()
                .map_or("no data".to_owned(), |e| e.message.clone());
            return Err(ProviderError::Malformed {
                provider: PROVIDER.to_owned(),
                message: format!("GraphQL: {message}"),
            });
        };
        for error in serious {
            tracing::warn!(message = %error.message, kind = ?error.kind, "GraphQL error");
        }
        Ok((0..logins.len())
            .map(|i| data.remove(&format!("o{i}")).flatten())
            .collect())
    }
}

fn to_profile(owner: GraphqlOwner) -> OwnerProfile {
    let sponsors_listing_url = if owner.has_sponsors_listing {
        owner
            .sponsors_listing
            .and_then(|l| l.url)
            .or_else(|| Some(format!("https://github.com/sponsors/{}", owner.login)))
    } else {
        None
    };
    OwnerProfile {
        kind: owner_kind(&owner.typename),
        name: non_empty(owner.name),
        description: non_empty(owner.description).or(non_empty(owner.bio)),
        website_url: non_empty(owner.website_url).map(website),
        sponsors_listing_url,
        funding: Vec::new(),
        repositories_count: owner.repositories.map(|r| r.total_count),
        login: owner.login,
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Profiles often say `example.com`: make it a URL.
fn website(text: String) -> String {
    if text.contains("://") {
        text
    } else {
        format!("https://{text}")
    }
}
