//! What every forge provider holds and does alike: the polite client, the API root, the
//! host its repositories are on, and the small helpers built on them. Each provider keeps
//! only what its forge decides (paths, payloads, paging); the builder methods they share
//! come once through [`Forge`].

use std::sync::Arc;

use url::Url;

use super::{
    ForgeSettings,
    client::{Auth, ForgeClient, ForgeResponse, join},
};
use crate::{
    FileContent, FleetLimits, HttpCache, PageToken, ProviderError, RepoRef, config::HttpSettings,
    metrics::ProviderMetrics,
};

/// One forge's API as a provider reaches it: client, API root, repository host, and the
/// provider name errors carry.
#[derive(Debug, Clone)]
pub struct ForgeApi {
    pub(super) client: ForgeClient,
    api: Url,
    host: String,
    provider: &'static str,
}

impl ForgeApi {
    /// The API at `settings.api_url` for `provider`; its host is `settings.host`, else
    /// `default_host` of the API URL (a forge that is one site names its own).
    pub(super) fn new(
        provider: &'static str,
        auth: Auth,
        settings: &ForgeSettings,
        http: &HttpSettings,
        cache: Arc<dyn HttpCache>,
        default_host: impl FnOnce(&Url) -> String,
    ) -> Result<Self, ProviderError> {
        let api = super::base_url(provider, &settings.api_url)?;
        let host = settings.host.clone().unwrap_or_else(|| default_host(&api));
        let client = ForgeClient::new(
            provider,
            auth,
            settings.tokens.clone(),
            http,
            settings.min_interval(),
            cache,
        )?;
        Ok(Self {
            client,
            api,
            host,
            provider,
        })
    }

    /// Holds for `hold` after a 429 that names no reset (see
    /// [`ForgeClient::with_default_hold`]).
    pub(super) fn with_default_hold(mut self, hold: std::time::Duration) -> Self {
        self.client = self.client.with_default_hold(hold);
        self
    }

    /// The host its repositories are on.
    pub(super) fn host(&self) -> &str {
        &self.host
    }

    /// Whether a repository on `host` is this forge's (hosts are case-insensitive).
    pub(super) fn serves_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.host)
    }

    /// The API URL at `segments` below the root, each percent-encoded.
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        join(&self.api, segments)
    }

    /// Whether `url` points into this API: next links and page tokens elsewhere are never
    /// followed, since they would carry our token to another host.
    pub(super) fn contains(&self, url: &Url) -> bool {
        super::under_api(&self.api, url)
    }

    /// GETs `url` with the response cap of the shared client.
    pub(super) async fn get(&self, url: Url, what: &str) -> Result<ForgeResponse, ProviderError> {
        self.client.get(url, what, None).await
    }

    /// `response` if it is a success: a 404/410/451 is [`ProviderError::NotFound`] (`what`),
    /// any other refusal [`ProviderError::Rejected`].
    pub(super) fn found(
        &self,
        response: ForgeResponse,
        what: impl Into<String>,
    ) -> Result<ForgeResponse, ProviderError> {
        if response.gone() {
            return Err(self.not_found(what));
        }
        if !response.status.is_success() {
            return Err(response.rejected(self.provider));
        }
        Ok(response)
    }

    /// GETs `url` and keeps only a success ([`Self::found`]).
    pub(super) async fn get_found(
        &self,
        url: Url,
        what: &str,
    ) -> Result<ForgeResponse, ProviderError> {
        let response = self.get(url, what).await?;
        self.found(response, what)
    }

    /// The raw file at `url`, `path` in `repo`: refused past `max_bytes` (also when served
    /// from the cache, which was never measured on the way in), [`Self::found`] otherwise.
    pub(super) async fn get_file(
        &self,
        url: Url,
        repo: &RepoRef,
        path: &str,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let response = self.client.get(url, path, Some(max_bytes)).await?;
        let response = self.found(response, format!("{}:{path}", repo.full_name))?;
        if response.body.len() as u64 > max_bytes {
            return Err(ProviderError::TooLarge {
                path: path.to_owned(),
                size: response.body.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(FileContent {
            path: path.to_owned(),
            bytes: response.body,
        })
    }

    /// `what` is not on this forge (404/410/451).
    pub(super) fn not_found(&self, what: impl Into<String>) -> ProviderError {
        ProviderError::NotFound {
            provider: self.provider.to_owned(),
            what: what.into(),
        }
    }

    /// A page token this provider did not write (or that points elsewhere).
    pub(super) fn bad_token(&self, message: String) -> ProviderError {
        ProviderError::Config {
            provider: self.provider.to_owned(),
            message,
        }
    }
}

/// A page token that is the next page's URL (GitLab's `Link: rel="next"`, Bitbucket's
/// `next`), as stored in job payloads.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct NextLink {
    next: String,
}

impl ForgeApi {
    /// The page token for the next page at `url`.
    pub(super) fn next_link_token(url: &Url) -> PageToken {
        let token = NextLink {
            next: url.to_string(),
        };
        PageToken(serde_json::to_string(&token).unwrap_or_default())
    }

    /// The URL in a token from [`Self::next_link_token`], refused unless it points into
    /// this API (a token is stored in job payloads, and must not send requests elsewhere);
    /// `forge` names the forge in the error (`GitLab`).
    pub(super) fn resume_next_link(
        &self,
        token: &PageToken,
        forge: &str,
    ) -> Result<Url, ProviderError> {
        let not_ours =
            |e: &dyn std::fmt::Display| self.bad_token(format!("not a {forge} page token: {e}"));
        let cursor: NextLink = serde_json::from_str(&token.0).map_err(|e| not_ours(&e))?;
        let url = Url::parse(&cursor.next).map_err(|e| not_ours(&e))?;
        if !self.contains(&url) {
            return Err(self.bad_token(format!(
                "page token `{}` is not under {}",
                cursor.next, self.api
            )));
        }
        Ok(url)
    }
}

/// The builder methods every forge provider shares, over the [`ForgeApi`] it holds.
pub trait Forge: Sized {
    /// The shared part of the provider.
    fn forge_api(&self) -> &ForgeApi;

    /// The shared part of the provider, to change while building it.
    fn forge_api_mut(&mut self) -> &mut ForgeApi;

    /// Shares the spacing and `Retry-After` holds with every worker through `fleet`.
    #[must_use]
    fn with_fleet(mut self, fleet: FleetLimits) -> Self {
        self.forge_api_mut().client.share(fleet);
        self
    }

    /// Records requests on `metrics` instead of the global meter's (tests).
    #[must_use]
    fn with_metrics(mut self, metrics: ProviderMetrics) -> Self {
        self.forge_api_mut().client.metrics = metrics;
        self
    }

    /// The host its repositories are on (`gitlab.com`, `codeberg.org`, `bitbucket.org`).
    fn host(&self) -> &str {
        self.forge_api().host()
    }
}
