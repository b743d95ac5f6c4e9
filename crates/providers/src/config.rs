//! What can be configured about the providers, as plain serde structs.
//!
//! The tree is meant to sit in wump's settings as `settings.providers`, so every key has an
//! environment spelling such as `WUMP__PROVIDERS__LOCAL__ROOT` or
//! `WUMP__PROVIDERS__LIBRARIES_IO__API_KEY`. Secrets are [`SecretString`]s (their `Debug`
//! prints nothing) and belong in the environment, never in a committed file.
//! [`crate::ProviderRegistry::from_config`] builds the providers configured here.

use std::{marker::PhantomData, path::PathBuf, sync::Arc, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::{
    BitbucketProvider, DataProvider, FleetLimits, Forge, ForgeSettings, GitHubConfig,
    GitHubProvider, GitLabProvider, GiteaProvider, HttpCache, MemoryHttpCache, ProviderError,
    aggregators::{Ecosystems, LibrariesIo},
    backoff::Backoff,
    http::{HttpClient, parse_base_url},
    local::LocalProvider,
    registries::{CratesIo, MavenCentral, Npm, Packagist, Pypi, Rubygems},
};

/// Every provider's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// Timeouts, retries and size limits shared by the HTTP providers.
    pub http: HttpSettings,
    /// The local directory provider; built when `root` is set.
    pub local: LocalSettings,
    /// Package registries (npm, PyPI, crates.io, Maven Central, RubyGems, Packagist).
    pub registries: RegistriesSettings,
    /// Libraries.io; built when an API key is set.
    pub libraries_io: LibrariesIoSettings,
    /// ecosyste.ms packages and repos services.
    pub ecosystems: EcosystemsSettings,
    /// GitHub REST and GraphQL (or GitHub Enterprise).
    pub github: GithubSettings,
    /// GitLab (gitlab.com or self-managed), REST API v4.
    pub gitlab: GitlabSettings,
    /// Gitea or Forgejo (Codeberg or self-hosted), API v1.
    pub gitea: GiteaSettings,
    /// Bitbucket Cloud, REST API 2.0.
    pub bitbucket: BitbucketSettings,
}

/// One forge's settings: GitLab, Gitea and Bitbucket share this shape and differ in their
/// defaults ([`ForgeDefaults`]), so a section that sets only `tokens` keeps its own forge's
/// API URL and spacing (see `docs/providers.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, bound = "")]
pub struct ForgeSection<F: ForgeDefaults> {
    /// Whether to build the provider (it works without tokens, within the anonymous limits).
    pub enabled: bool,
    /// API root (self-hosted: `https://HOST/api/v4` for GitLab, `…/api/v1` for Gitea).
    pub api_url: String,
    /// Access tokens (the scopes each forge needs are in `docs/providers.md`),
    /// comma-separated in `WUMP__PROVIDERS__<FORGE>__TOKENS`. Secrets: set them in the
    /// environment only.
    #[serde(deserialize_with = "tokens")]
    pub tokens: Vec<SecretString>,
    /// The host its repositories are stored under; unset: the forge's default
    /// ([`crate::ForgeSettings::host`]).
    pub host: Option<String>,
    /// Least time between two requests of the whole fleet.
    pub min_interval_ms: u64,
    /// Which forge's defaults apply (no setting of its own).
    #[serde(skip)]
    forge: PhantomData<F>,
}

impl<F: ForgeDefaults> Default for ForgeSection<F> {
    fn default() -> Self {
        Self {
            enabled: true,
            api_url: F::API_URL.to_owned(),
            tokens: Vec::new(),
            host: None,
            min_interval_ms: F::MIN_INTERVAL_MS,
            forge: PhantomData,
        }
    }
}

impl<F: ForgeDefaults> ForgeSection<F> {
    /// The client settings.
    pub fn forge(&self) -> ForgeSettings {
        ForgeSettings {
            api_url: self.api_url.clone(),
            tokens: self.tokens.clone(),
            host: self.host.clone(),
            min_interval_ms: self.min_interval_ms,
        }
    }
}

/// What differs between the forges' settings: where their public instance is and how
/// gently it wants to be asked.
pub trait ForgeDefaults: std::fmt::Debug + Clone {
    /// The public instance's API root.
    const API_URL: &'static str;
    /// The default least time between two requests of the whole fleet.
    const MIN_INTERVAL_MS: u64;
}

/// GitLab's defaults: gitlab.com. Tokens: personal, group or project access tokens
/// (`read_api`).
#[derive(Debug, Clone)]
pub struct GitLabDefaults;

impl ForgeDefaults for GitLabDefaults {
    const API_URL: &'static str = "https://gitlab.com/api/v4";
    const MIN_INTERVAL_MS: u64 = 200;
}

/// Gitea's defaults: Codeberg, which asks crawlers to be gentle. Tokens:
/// `read:repository`, `read:organization`, `read:user`.
#[derive(Debug, Clone)]
pub struct GiteaDefaults;

impl ForgeDefaults for GiteaDefaults {
    const API_URL: &'static str = "https://codeberg.org/api/v1";
    const MIN_INTERVAL_MS: u64 = 500;
}

/// Bitbucket Cloud's defaults. Tokens: workspace, project or repository access tokens
/// (`repository` read); without one it allows 60 requests an hour.
#[derive(Debug, Clone)]
pub struct BitbucketDefaults;

impl ForgeDefaults for BitbucketDefaults {
    const API_URL: &'static str = "https://api.bitbucket.org/2.0";
    /// 1,000 an hour: a token's hourly allowance for repository data.
    const MIN_INTERVAL_MS: u64 = 3_600;
}

/// GitLab (gitlab.com or self-managed).
pub type GitlabSettings = ForgeSection<GitLabDefaults>;
/// Gitea or Forgejo (Codeberg or self-hosted).
pub type GiteaSettings = ForgeSection<GiteaDefaults>;
/// Bitbucket Cloud.
pub type BitbucketSettings = ForgeSection<BitbucketDefaults>;

/// GitHub (see `docs/providers.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GithubSettings {
    /// Whether to build the provider (it works without tokens, at 60 requests an hour).
    pub enabled: bool,
    /// REST base URL (GitHub Enterprise: `https://HOST/api/v3`).
    pub api_url: String,
    /// GraphQL endpoint (GitHub Enterprise: `https://HOST/api/graphql`).
    pub graphql_url: String,
    /// Tokens, comma-separated in `WUMP__PROVIDERS__GITHUB__TOKENS`; when empty,
    /// `GITHUB_TOKEN` is used if set. Secrets: set them in the environment only.
    #[serde(deserialize_with = "tokens")]
    pub tokens: Vec<SecretString>,
    /// Requests in flight at once (GitHub allows at most 100).
    pub max_concurrency: usize,
    /// Rate-limit waits up to this long are waited out; longer ones reschedule the job.
    pub max_wait_secs: u64,
}

impl Default for GithubSettings {
    fn default() -> Self {
        let defaults = GitHubConfig::default();
        Self {
            enabled: true,
            api_url: defaults.api_url,
            graphql_url: defaults.graphql_url,
            tokens: Vec::new(),
            max_concurrency: defaults.max_concurrency,
            max_wait_secs: defaults.max_wait.as_secs(),
        }
    }
}

impl GithubSettings {
    /// The client configuration, with `GITHUB_TOKEN` standing in for missing tokens.
    pub fn client_config(&self, http: &HttpSettings) -> GitHubConfig {
        let tokens = if self.tokens.is_empty() {
            std::env::var("GITHUB_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(|t| vec![SecretString::from(t.trim().to_owned())])
                .unwrap_or_default()
        } else {
            self.tokens.clone()
        };
        GitHubConfig {
            api_url: self.api_url.clone(),
            graphql_url: self.graphql_url.clone(),
            tokens,
            timeout: http.timeout(),
            max_concurrency: self.max_concurrency,
            backoff: http.backoff(),
            max_wait: Duration::from_secs(self.max_wait_secs),
            ..GitHubConfig::default()
        }
    }
}

/// Tokens as a comma-separated string (how environment variables carry lists) or a list.
fn tokens<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tokens {
        Joined(String),
        List(Vec<String>),
    }
    let list = match Tokens::deserialize(deserializer)? {
        Tokens::Joined(joined) => joined.split(',').map(str::to_owned).collect(),
        Tokens::List(list) => list,
    };
    Ok(list
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
        .collect())
}

/// Shared by every HTTP provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Whole request, connection to last byte.
    pub timeout_ms: u64,
    /// Establishing the connection (DNS, TCP, TLS).
    pub connect_timeout_ms: u64,
    /// Retries after a 5xx or network failure; 2 means at most 3 attempts.
    pub retries: u32,
    /// First retry waits up to this long (full jitter), doubling each retry.
    pub backoff_base_ms: u64,
    /// No retry waits longer than this.
    pub backoff_max_ms: u64,
    /// Responses larger than this are refused (npm documents for popular packages run to
    /// tens of megabytes).
    pub max_response_bytes: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            connect_timeout_ms: 10_000,
            retries: 2,
            backoff_base_ms: 500,
            backoff_max_ms: 30_000,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

impl HttpSettings {
    /// [`Self::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// [`Self::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// The retry schedule these settings describe.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: Duration::from_millis(self.backoff_base_ms),
            max: Duration::from_millis(self.backoff_max_ms),
            retries: self.retries,
        }
    }
}

/// The local directory provider (see `docs/providers.md` for the layout).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSettings {
    /// The directory holding `<owner>/<repo>` trees; the provider is built only when set.
    pub root: Option<PathBuf>,
    /// Repositories per discovery page.
    pub page_size: usize,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            root: None,
            page_size: 100,
        }
    }
}

/// One package registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySettings {
    /// Whether to build this provider.
    pub enabled: bool,
    /// Where its API lives; `None` uses the public registry.
    pub base_url: Option<String>,
    /// Least time between two requests; `None` uses the registry's own policy (crates.io:
    /// 1 s, the others a polite default).
    pub min_interval_ms: Option<u64>,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            base_url: None,
            min_interval_ms: None,
        }
    }
}

/// Every package registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistriesSettings {
    pub npm: RegistrySettings,
    pub pypi: RegistrySettings,
    pub crates_io: RegistrySettings,
    pub maven_central: RegistrySettings,
    pub rubygems: RegistrySettings,
    pub packagist: RegistrySettings,
}

/// Libraries.io.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LibrariesIoSettings {
    /// The API root.
    pub api_url: String,
    /// Secret: set it with `WUMP__PROVIDERS__LIBRARIES_IO__API_KEY`, never in a file. The
    /// provider is built only when it is set.
    pub api_key: Option<SecretString>,
    /// Dependent repositories per page (Libraries.io allows at most 100).
    pub per_page: u32,
    /// Least time between two requests (Libraries.io allows 60 a minute per key).
    pub min_interval_ms: u64,
}

impl Default for LibrariesIoSettings {
    fn default() -> Self {
        Self {
            api_url: "https://libraries.io/api".into(),
            api_key: None,
            per_page: 100,
            min_interval_ms: 1_000,
        }
    }
}

/// ecosyste.ms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EcosystemsSettings {
    /// Whether to build this provider.
    pub enabled: bool,
    /// The packages service API root.
    pub packages_url: String,
    /// The repos service API root (dependent repositories).
    pub repos_url: String,
    /// Sent as `mailto` so ecosyste.ms can reach the operator (its polite pool).
    pub mailto: Option<String>,
    /// Dependent repositories per page.
    pub per_page: u32,
    /// Least time between two requests (the anonymous limit is 5,000 an hour).
    pub min_interval_ms: u64,
}

impl Default for EcosystemsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            packages_url: "https://packages.ecosyste.ms/api/v1".into(),
            repos_url: "https://repos.ecosyste.ms/api/v1".into(),
            mailto: None,
            per_page: 100,
            min_interval_ms: 750,
        }
    }
}

impl crate::ProviderRegistry {
    /// Builds every provider `config` enables: the local directory when a root is set,
    /// each enabled registry, Libraries.io when it has an API key, and ecosyste.ms. Nothing
    /// is contacted here; [`crate::DataProvider::health`] does that.
    pub fn from_config(config: &ProvidersConfig) -> Result<Self, ProviderError> {
        Self::from_config_with_fleet(config, None)
    }

    /// [`Self::from_config`], every provider's limits shared with the other worker
    /// processes through `fleet` when given.
    pub fn from_config_with_fleet(
        config: &ProvidersConfig,
        fleet: Option<&FleetLimits>,
    ) -> Result<Self, ProviderError> {
        Self::from_config_with_cache(config, fleet, Arc::new(MemoryHttpCache::default()))
    }

    /// [`Self::from_config_with_fleet`], the forges (GitLab, Gitea, Bitbucket) keeping their
    /// conditional-request answers in `cache` (the worker's is shared through Valkey).
    pub fn from_config_with_cache(
        config: &ProvidersConfig,
        fleet: Option<&FleetLimits>,
        cache: Arc<dyn HttpCache>,
    ) -> Result<Self, ProviderError> {
        let mut registry = Self::new();

        if config.github.enabled {
            let mut github = GitHubProvider::new(config.github.client_config(&config.http))?;
            if let Some(fleet) = fleet {
                github = github.with_fleet(fleet.clone());
            }
            registry.register(Arc::new(github));
        }

        if config.gitlab.enabled {
            let mut gitlab =
                GitLabProvider::new(&config.gitlab.forge(), &config.http, Arc::clone(&cache))?;
            if let Some(fleet) = fleet {
                gitlab = gitlab.with_fleet(fleet.clone());
            }
            registry.register(Arc::new(gitlab));
        }
        if config.gitea.enabled {
            let mut gitea =
                GiteaProvider::new(&config.gitea.forge(), &config.http, Arc::clone(&cache))?;
            if let Some(fleet) = fleet {
                gitea = gitea.with_fleet(fleet.clone());
            }
            registry.register(Arc::new(gitea));
        }
        if config.bitbucket.enabled {
            let mut bitbucket = BitbucketProvider::new(
                &config.bitbucket.forge(),
                &config.http,
                Arc::clone(&cache),
            )?;
            if let Some(fleet) = fleet {
                bitbucket = bitbucket.with_fleet(fleet.clone());
            }
            registry.register(Arc::new(bitbucket));
        }

        if let Some(root) = &config.local.root {
            registry.register(Arc::new(LocalProvider::new(
                root.clone(),
                config.local.page_size,
            )));
        }

        let clients = Clients {
            http: &config.http,
            fleet,
        };
        let registries = &config.registries;
        add_registry(
            &mut registry,
            clients,
            &registries.npm,
            Npm::NAME,
            Npm::DEFAULT_URL,
            Npm::DEFAULT_MIN_INTERVAL,
            Npm::new,
        )?;
        add_registry(
            &mut registry,
            clients,
            &registries.pypi,
            Pypi::NAME,
            Pypi::DEFAULT_URL,
            Pypi::DEFAULT_MIN_INTERVAL,
            Pypi::new,
        )?;
        add_registry(
            &mut registry,
            clients,
            &registries.crates_io,
            CratesIo::NAME,
            CratesIo::DEFAULT_URL,
            CratesIo::DEFAULT_MIN_INTERVAL,
            CratesIo::new,
        )?;
        add_registry(
            &mut registry,
            clients,
            &registries.maven_central,
            MavenCentral::NAME,
            MavenCentral::DEFAULT_URL,
            MavenCentral::DEFAULT_MIN_INTERVAL,
            MavenCentral::new,
        )?;
        add_registry(
            &mut registry,
            clients,
            &registries.rubygems,
            Rubygems::NAME,
            Rubygems::DEFAULT_URL,
            Rubygems::DEFAULT_MIN_INTERVAL,
            Rubygems::new,
        )?;
        add_registry(
            &mut registry,
            clients,
            &registries.packagist,
            Packagist::NAME,
            Packagist::DEFAULT_URL,
            Packagist::DEFAULT_MIN_INTERVAL,
            Packagist::new,
        )?;

        let lio = &config.libraries_io;
        if let Some(api_key) = &lio.api_key {
            let name = LibrariesIo::NAME;
            let client = clients.client(name, Duration::from_millis(lio.min_interval_ms))?;
            let base = parse_base_url(name, &lio.api_url)?;
            registry.register(Arc::new(LibrariesIo::new(
                client,
                base,
                api_key.clone(),
                lio.per_page,
            )));
        }

        let eco = &config.ecosystems;
        if eco.enabled {
            let name = Ecosystems::NAME;
            let client = clients.client(name, Duration::from_millis(eco.min_interval_ms))?;
            registry.register(Arc::new(Ecosystems::new(
                client,
                parse_base_url(name, &eco.packages_url)?,
                parse_base_url(name, &eco.repos_url)?,
                eco.mailto.clone(),
                eco.per_page,
            )));
        }
        Ok(registry)
    }
}

/// What every registry's and aggregator's HTTP client is built from.
#[derive(Clone, Copy)]
struct Clients<'a> {
    http: &'a HttpSettings,
    fleet: Option<&'a FleetLimits>,
}

impl Clients<'_> {
    /// A client for `name`, its spacing shared with the fleet when there is one.
    fn client(&self, name: &str, interval: Duration) -> Result<HttpClient, ProviderError> {
        let client = HttpClient::new(name, self.http, interval)?;
        Ok(match self.fleet {
            Some(fleet) => client.with_fleet(fleet.clone()),
            None => client,
        })
    }
}

/// Registers one registry when it is enabled.
fn add_registry<P: DataProvider + 'static>(
    registry: &mut crate::ProviderRegistry,
    clients: Clients<'_>,
    settings: &RegistrySettings,
    name: &str,
    default_url: &str,
    default_interval: Duration,
    build: fn(HttpClient, Url) -> P,
) -> Result<(), ProviderError> {
    if !settings.enabled {
        return Ok(());
    }
    let base = parse_base_url(name, settings.base_url.as_deref().unwrap_or(default_url))?;
    let interval = settings
        .min_interval_ms
        .map_or(default_interval, Duration::from_millis);
    registry.register(Arc::new(build(clients.client(name, interval)?, base)));
    Ok(())
}
