//! Cache-aside for JSON responses, namespaced by the cache versions the worker bumps.
//!
//! CONTRACT (handlers call only this; the implementation behind it is being built):
//! - [`ResponseCache::get_or_load`] answers from Valkey when it can, else runs `load`
//!   (single-flight per key) and stores its answer for the [`CacheClass`]'s TTL.
//! - Keys are namespaced by the [`Scope`]'s version counter
//!   ([`wump_core::cache::package_version_key`] / `organization_version_key`), so one
//!   increment by the worker invalidates every filter and page of a package.
//! - [`Cached::respond`] writes the body with `ETag`, `Cache-Control`, `X-Cache` and the
//!   `Link` header, and answers `304` to a matching `If-None-Match`.

use std::{future::Future, time::Duration};

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
    web::Bytes,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use wump_core::Ecosystem;
use wump_db::ValkeyPool;

use crate::problem::ApiError;

/// Whose data a response shows: decides which version counter namespaces its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Package {
        ecosystem: Ecosystem,
        normalized_name: String,
    },
    Organization {
        host: String,
        login: String,
    },
    /// Search and stats: no version counter; they live for their TTL.
    Global,
}

/// Kinds of response, each with its own TTL (from `[api.cache]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheClass {
    Package,
    Dependents,
    Organizations,
    Organization,
    Repository,
    Search,
    Stats,
}

/// Where an answer came from, as the `X-Cache` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    /// Expired, served because the database could not answer.
    Stale,
}

impl CacheStatus {
    /// The `X-Cache` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
        }
    }
}

/// A freshly loaded answer: the body and, for pages, the `Link` header to the next one.
#[derive(Debug)]
pub struct Fresh<T> {
    pub body: T,
    pub link: Option<String>,
}

impl<T> From<T> for Fresh<T> {
    fn from(body: T) -> Self {
        Fresh { body, link: None }
    }
}

/// A JSON answer ready to send.
#[derive(Debug, Clone)]
pub struct Cached {
    pub body: Bytes,
    /// Strong validator over the body, quoted as the header wants it.
    pub etag: String,
    pub link: Option<String>,
    pub status: CacheStatus,
    /// How long shared caches (CDNs) may keep it.
    pub max_age: Duration,
}

/// The response cache (cheap to clone).
#[derive(Clone)]
pub struct ResponseCache {
    #[allow(dead_code)]
    valkey: ValkeyPool,
    #[allow(dead_code)]
    key_prefix: String,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

impl ResponseCache {
    /// A cache over `valkey` whose keys start with `key_prefix`.
    pub fn new(valkey: ValkeyPool, key_prefix: String) -> Self {
        Self { valkey, key_prefix }
    }

    /// The cached answer for (`scope`, `class`, `variant`), or `load`'s. `variant` names
    /// everything else the answer depends on (route, filters, sort, cursor, page size).
    pub async fn get_or_load<T, F, Fut>(
        &self,
        _scope: &Scope,
        _class: CacheClass,
        _variant: &str,
        load: F,
    ) -> Result<Cached, ApiError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh<T>, ApiError>>,
    {
        let fresh = load().await?;
        let body =
            Bytes::from(serde_json::to_vec(&fresh.body).map_err(|e| ApiError::Internal(e.into()))?);
        Ok(Cached {
            etag: etag_of(&body),
            body,
            link: fresh.link,
            status: CacheStatus::Miss,
            max_age: Duration::ZERO,
        })
    }
}

/// A strong ETag: the first 128 bits of the body's SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

impl Cached {
    /// The response: `304` when `If-None-Match` names this ETag, else `200` with the body.
    pub fn respond(self, request: &HttpRequest) -> HttpResponse {
        let not_modified = request
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == self.etag
            });
        let mut response = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header((header::ETAG, self.etag.as_str()))
            .insert_header((
                header::CACHE_CONTROL,
                format!("public, max-age={}", self.max_age.as_secs()),
            ))
            .insert_header(("X-Cache", self.status.as_str()));
        if let Some(link) = self
            .link
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            response.insert_header((header::LINK, link));
        }
        if not_modified {
            response.finish()
        } else {
            response.content_type("application/json").body(self.body)
        }
    }
}
