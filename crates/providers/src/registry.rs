//! The configured providers, by name and kind, and trying several in turn.

use std::{future::Future, sync::Arc};

use crate::{DataProvider, ProviderError, ProviderKind};

/// Every configured provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    providers: Vec<Arc<dyn DataProvider>>,
}

/// A value and the provider that gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered<T> {
    pub value: T,
    pub provider: String,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider; a later one with the same name replaces the earlier.
    pub fn register(&mut self, provider: Arc<dyn DataProvider>) -> &mut Self {
        self.providers.retain(|p| p.name() != provider.name());
        self.providers.push(provider);
        self
    }

    /// The provider configured under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn DataProvider>> {
        self.providers.iter().find(|p| p.name() == name).cloned()
    }

    /// Every provider of `kind`, in registration order.
    pub fn by_kind(&self, kind: ProviderKind) -> Vec<Arc<dyn DataProvider>> {
        self.providers
            .iter()
            .filter(|p| p.kind() == kind)
            .cloned()
            .collect()
    }

    /// The names of every provider, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    /// Asks the providers named in `order` in turn until one answers; returns the answer
    /// and who gave it. A provider that is unknown, cannot serve, or fails hands over to
    /// the next; when all fail, the most informative error is returned (anything but
    /// `Unsupported`, preferring the last).
    pub async fn fetch_with_fallback<T, F, Fut>(
        &self,
        order: &[&str],
        mut call: F,
    ) -> Result<Answered<T>, ProviderError>
    where
        F: FnMut(Arc<dyn DataProvider>) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut failure: Option<ProviderError> = None;
        for name in order {
            let Some(provider) = self.get(name) else {
                tracing::warn!(
                    provider = name,
                    "fallback names a provider that is not configured"
                );
                continue;
            };
            match call(provider).await {
                Ok(value) => {
                    return Ok(Answered {
                        value,
                        provider: (*name).to_owned(),
                    });
                }
                Err(err) => {
                    tracing::debug!(provider = name, error = %err, "provider failed, trying the next");
                    let keep_previous = matches!(err, ProviderError::Unsupported { .. })
                        && failure
                            .as_ref()
                            .is_some_and(|f| !matches!(f, ProviderError::Unsupported { .. }));
                    if !keep_previous {
                        failure = Some(err);
                    }
                }
            }
        }
        Err(failure.unwrap_or_else(|| ProviderError::Config {
            provider: order.join(", "),
            message: "none of these providers is configured".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use wump_core::{Ecosystem, PackageRef};

    use super::*;
    use crate::{Capability, PackageMetadata};

    /// A provider that answers package lookups with a fixed result.
    #[derive(Debug)]
    struct Scripted {
        name: &'static str,
        answer: Result<&'static str, ProviderError>,
    }

    #[async_trait]
    impl DataProvider for Scripted {
        fn name(&self) -> &str {
            self.name
        }
        fn kind(&self) -> ProviderKind {
            ProviderKind::Registry
        }
        async fn health(&self) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn fetch_package(
            &self,
            package: &PackageRef,
        ) -> Result<PackageMetadata, ProviderError> {
            let description = self.answer.clone()?;
            Ok(PackageMetadata {
                package: package.clone(),
                description: Some(description.into()),
                homepage_url: None,
                repository_url: None,
                latest_version: None,
                funding: Vec::new(),
            })
        }
    }

    fn registry(providers: Vec<Scripted>) -> ProviderRegistry {
        let mut registry = ProviderRegistry::new();
        for p in providers {
            registry.register(Arc::new(p));
        }
        registry
    }

    fn down(name: &str) -> ProviderError {
        ProviderError::Upstream {
            provider: name.into(),
            status: 503,
            message: "down".into(),
        }
    }

    async fn lookup(
        registry: &ProviderRegistry,
        order: &[&str],
    ) -> Result<Answered<String>, ProviderError> {
        let package = PackageRef::new(Ecosystem::Npm, "left-pad");
        registry
            .fetch_with_fallback(order, |p| {
                let package = package.clone();
                async move {
                    p.fetch_package(&package)
                        .await
                        .map(|m| m.description.unwrap_or_default())
                }
            })
            .await
    }

    #[tokio::test]
    async fn the_first_provider_that_answers_wins_and_is_named() {
        let registry = registry(vec![
            Scripted {
                name: "primary",
                answer: Err(down("primary")),
            },
            Scripted {
                name: "secondary",
                answer: Ok("from secondary"),
            },
            Scripted {
                name: "tertiary",
                answer: Ok("from tertiary"),
            },
        ]);
        let answered = lookup(&registry, &["primary", "missing", "secondary", "tertiary"])
            .await
            .unwrap();
        assert_eq!(
            answered,
            Answered {
                value: "from secondary".into(),
                provider: "secondary".into()
            }
        );
    }

    #[tokio::test]
    async fn when_all_fail_the_informative_error_is_kept_over_unsupported() {
        let registry = registry(vec![
            Scripted {
                name: "a",
                answer: Err(down("a")),
            },
            Scripted {
                name: "b",
                answer: Err(ProviderError::Unsupported {
                    provider: "b".into(),
                    capability: Capability::FetchPackage,
                }),
            },
        ]);
        assert_eq!(lookup(&registry, &["a", "b"]).await.unwrap_err(), down("a"));
        assert!(matches!(
            lookup(&registry, &["nobody"]).await.unwrap_err(),
            ProviderError::Config { .. }
        ));
    }

    #[tokio::test]
    async fn missing_capabilities_answer_unsupported() {
        let provider = Scripted {
            name: "npm",
            answer: Ok("x"),
        };
        let err = provider.fetch_owner("rust-lang").await.unwrap_err();
        assert_eq!(err.to_string(), "npm cannot fetch owner profiles");
        assert!(err.is_permanent());
    }
}
