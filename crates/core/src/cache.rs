//! Valkey keys shared by the writer (worker) and the reader (api) of the response cache.
//!
//! The api namespaces every cached response of a package or organization by a version
//! number; a writer invalidates every filter and page variant at once by incrementing it.

use crate::Ecosystem;

/// The version counter of everything cached about one package.
pub fn package_version_key(ecosystem: Ecosystem, normalized_name: &str) -> String {
    format!("wump:cache-version:package:{ecosystem}:{normalized_name}")
}

/// The version counter of everything cached about one organization.
pub fn organization_version_key(host: &str, login: &str) -> String {
    format!(
        "wump:cache-version:organization:{host}:{}",
        login.to_lowercase()
    )
}
