//! Building the registry from configuration.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};
use wump_core::{Ecosystem, PackageRef};
use wump_providers::{
    ProviderError, ProviderKind, ProviderRegistry, ProvidersConfig,
    config::{LocalSettings, RegistrySettings},
};

use crate::helpers::http_settings;

#[test]
fn defaults_build_the_forges_the_public_registries_and_ecosystems() {
    let registry = ProviderRegistry::from_config(&ProvidersConfig::default()).unwrap();
    assert_eq!(
        registry.names(),
        [
            "github",
            "gitlab",
            "gitea",
            "bitbucket",
            "npm",
            "pypi",
            "crates.io",
            "maven-central",
            "rubygems",
            "packagist",
            "ecosyste.ms"
        ]
    );
    assert_eq!(registry.by_kind(ProviderKind::Registry).len(), 6);
    assert_eq!(registry.by_kind(ProviderKind::RepositoryHost).len(), 4);
    let serving = |host: &str| {
        registry
            .by_kind(ProviderKind::RepositoryHost)
            .into_iter()
            .find(|p| p.serves_host(host))
            .map(|p| p.name().to_owned())
    };
    assert_eq!(serving("github.com").as_deref(), Some("github"));
    assert_eq!(serving("gitlab.com").as_deref(), Some("gitlab"));
    assert_eq!(serving("codeberg.org").as_deref(), Some("gitea"));
    assert_eq!(serving("bitbucket.org").as_deref(), Some("bitbucket"));
    assert_eq!(
        serving("api.bitbucket.org"),
        None,
        "its API's host is not its repositories'"
    );
    assert_eq!(serving("sr.ht"), None);
}

#[test]
fn a_root_and_a_key_add_the_local_directory_and_libraries_io() {
    let mut config = ProvidersConfig {
        local: LocalSettings {
            root: Some(PathBuf::from("/srv/repos")),
            page_size: 10,
        },
        ..Default::default()
    };
    config.libraries_io.api_key = Some(SecretString::from("k"));
    config.registries.maven_central.enabled = false;
    config.ecosystems.enabled = false;
    config.github.enabled = false;
    config.gitlab.enabled = false;
    config.gitea.enabled = false;
    config.bitbucket.enabled = false;
    let registry = ProviderRegistry::from_config(&config).unwrap();
    assert_eq!(
        registry.names(),
        [
            "local",
            "npm",
            "pypi",
            "crates.io",
            "rubygems",
            "packagist",
            "libraries.io"
        ]
    );
    assert_eq!(registry.by_kind(ProviderKind::Aggregator).len(), 1);
    assert!(!format!("{config:?}").contains("\"k\""));
}

#[test]
fn bad_base_urls_are_configuration_errors() {
    let mut config = ProvidersConfig::default();
    config.registries.npm = RegistrySettings {
        base_url: Some("ftp://x".into()),
        ..Default::default()
    };
    let err = ProviderRegistry::from_config(&config).unwrap_err();
    assert!(
        matches!(&err, ProviderError::Config { provider, .. } if provider == "npm"),
        "{err}"
    );
    config.registries.npm.base_url = Some("not a url".into());
    assert!(ProviderRegistry::from_config(&config).is_err());
}

/// How the lead embeds the section in wump's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    providers: ProvidersConfig,
}

#[test]
fn the_section_embeds_in_settings_and_rejects_unknown_keys() {
    let settings: Settings = serde_json::from_value(json!({
        "providers": {
            "http": {"timeout_ms": 5000},
            "local": {"root": "/srv/repos"},
            "registries": {"crates_io": {"min_interval_ms": 2000}, "npm": {"base_url": "http://npm.internal/"}},
            "libraries_io": {"api_key": "from-the-environment"},
            "ecosystems": {"mailto": "ops@example.org"}
        }
    }))
    .unwrap();
    let providers = settings.providers;
    assert_eq!(providers.http.timeout_ms, 5000);
    assert_eq!(providers.http.retries, 2, "unset keys keep their defaults");
    assert_eq!(providers.local.page_size, 100);
    assert_eq!(providers.registries.crates_io.min_interval_ms, Some(2000));
    assert!(providers.registries.pypi.enabled);
    assert_eq!(
        providers.ecosystems.mailto.as_deref(),
        Some("ops@example.org")
    );
    assert!(providers.libraries_io.api_key.is_some());

    assert!(providers.github.tokens.is_empty());

    // Environment variables carry lists comma-separated.
    let tokens: Settings = serde_json::from_value(json!({
        "providers": {"github": {"tokens": "ghp_one, ghp_two,", "api_url": "https://ghe.example.com/api/v3"}}
    }))
    .unwrap();
    let github = tokens
        .providers
        .github
        .client_config(&tokens.providers.http);
    assert_eq!(github.tokens.len(), 2);
    assert_eq!(github.api_url, "https://ghe.example.com/api/v3");
    assert!(!format!("{:?}", tokens.providers).contains("ghp_one"));

    let unknown =
        serde_json::from_value::<Settings>(json!({"providers": {"local": {"rooot": "/x"}}}));
    assert!(unknown.unwrap_err().to_string().contains("rooot"));
    assert!(serde_json::from_value::<Settings>(json!({})).is_ok());
}

#[test]
fn wump_settings_carry_the_section_from_environment_variables() {
    let vars: std::collections::HashMap<String, String> = [
        ("WUMP__PROVIDERS__GITHUB__TOKENS", "ghp_a,ghp_b"),
        ("WUMP__PROVIDERS__LOCAL__ROOT", "/srv/repos"),
        ("WUMP__PROVIDERS__HTTP__TIMEOUT_MS", "5000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let environment = config::Environment::with_prefix("WUMP").source(Some(vars));
    let settings =
        wump_core::Settings::load_from(std::path::Path::new("/nonexistent"), None, environment)
            .unwrap();
    let providers: ProvidersConfig = settings.providers.read().unwrap();
    assert_eq!(providers.github.tokens.len(), 2);
    assert_eq!(providers.local.root, Some(PathBuf::from("/srv/repos")));
    assert_eq!(providers.http.timeout_ms, 5000);
    assert!(!format!("{settings:?}").contains("ghp_a"));

    let unset = wump_core::Settings::default()
        .providers
        .read::<ProvidersConfig>()
        .unwrap();
    assert!(unset.local.root.is_none());
}

#[tokio::test]
async fn configured_base_urls_are_used_and_fallback_names_who_answered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/packages/registries/npmjs.org/packages/left-pad"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/npm/left-pad"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "left-pad", "description": "String left pad",
            "dist-tags": {"latest": "1.3.0"}, "versions": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = ProvidersConfig {
        http: http_settings(),
        ..Default::default()
    };
    config.registries.npm.base_url = Some(format!("{}/npm/", server.uri()));
    config.registries.npm.min_interval_ms = Some(0);
    config.ecosystems.packages_url = format!("{}/packages", server.uri());
    config.ecosystems.repos_url = format!("{}/repos", server.uri());
    config.ecosystems.min_interval_ms = 0;
    let registry = ProviderRegistry::from_config(&config).unwrap();

    let package = PackageRef::new(Ecosystem::Npm, "left-pad");
    let answered = registry
        .fetch_with_fallback(&["ecosyste.ms", "npm"], |provider| {
            let package = package.clone();
            async move { provider.fetch_package(&package).await }
        })
        .await
        .unwrap();
    assert_eq!(answered.provider, "npm");
    assert_eq!(
        answered.value.description.as_deref(),
        Some("String left pad")
    );
    server.verify().await;
}

#[test]
fn forge_tokens_and_urls_come_from_environment_variables() {
    let vars: std::collections::HashMap<String, String> = [
        ("WUMP__PROVIDERS__GITLAB__TOKENS", "glpat-one, glpat-two"),
        (
            "WUMP__PROVIDERS__GITLAB__API_URL",
            "https://gitlab.example.com/api/v4",
        ),
        ("WUMP__PROVIDERS__GITEA__TOKENS", "gta-one"),
        ("WUMP__PROVIDERS__GITEA__ENABLED", "false"),
        (
            "WUMP__PROVIDERS__BITBUCKET__TOKENS",
            "ATCTT3xFfGN0-one,ATCTT3xFfGN0-two",
        ),
        ("WUMP__PROVIDERS__BITBUCKET__MIN_INTERVAL_MS", "1000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let environment = config::Environment::with_prefix("WUMP").source(Some(vars));
    let settings =
        wump_core::Settings::load_from(std::path::Path::new("/nonexistent"), None, environment)
            .unwrap();
    let providers: ProvidersConfig = settings.providers.read().unwrap();
    assert_eq!(providers.gitlab.tokens.len(), 2);
    assert_eq!(providers.gitea.tokens.len(), 1);
    assert_eq!(providers.bitbucket.tokens.len(), 2);
    assert_eq!(providers.bitbucket.min_interval_ms, 1000);
    assert!(!format!("{providers:?}").contains("glpat-one"));
    assert!(!format!("{providers:?}").contains("ATCTT3xFfGN0"));
    let registry = ProviderRegistry::from_config(&providers).unwrap();
    let gitlab = registry.get("gitlab").unwrap();
    assert!(gitlab.serves_host("gitlab.example.com"));
    assert!(!gitlab.serves_host("gitlab.com"));
    assert!(registry.get("gitea").is_none(), "disabled");
    assert!(
        registry
            .get("bitbucket")
            .unwrap()
            .serves_host("bitbucket.org")
    );
}

#[test]
fn the_documented_forge_sections_are_the_built_in_defaults() {
    // [providers.gitlab], [providers.gitea] and [providers.bitbucket] in config/default.toml,
    // uncommented (but for the example host), parse to the defaults.
    let file = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml"),
    )
    .unwrap();
    // They close the file.
    let start = file.find("[providers.gitlab]").unwrap();
    let mut toml = String::new();
    for line in file[start..].lines() {
        if line.starts_with('[') {
            toml.push_str(line);
            toml.push('\n');
        } else if let Some(setting) = line.strip_prefix("# ")
            && setting
                .split_once(" = ")
                .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            && !setting.starts_with("host")
        {
            toml.push_str(setting);
            toml.push('\n');
        }
    }
    assert!(toml.contains("min_interval_ms = 500"), "{toml}");
    assert!(toml.contains("[providers.bitbucket]"), "{toml}");
    let settings: Settings = config::Config::builder()
        .add_source(config::File::from_str(&toml, config::FileFormat::Toml))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    let (documented, built_in) = (settings.providers, ProvidersConfig::default());
    let gitlab = |c: &ProvidersConfig| {
        (
            c.gitlab.enabled,
            c.gitlab.api_url.clone(),
            c.gitlab.tokens.len(),
            c.gitlab.host.clone(),
            c.gitlab.min_interval_ms,
        )
    };
    let gitea = |c: &ProvidersConfig| {
        (
            c.gitea.enabled,
            c.gitea.api_url.clone(),
            c.gitea.tokens.len(),
            c.gitea.host.clone(),
            c.gitea.min_interval_ms,
        )
    };
    let bitbucket = |c: &ProvidersConfig| {
        (
            c.bitbucket.enabled,
            c.bitbucket.api_url.clone(),
            c.bitbucket.tokens.len(),
            c.bitbucket.host.clone(),
            c.bitbucket.min_interval_ms,
        )
    };
    assert_eq!(gitlab(&documented), gitlab(&built_in));
    assert_eq!(bitbucket(&documented), bitbucket(&built_in));
    assert_eq!(gitea(&documented), gitea(&built_in));
}
