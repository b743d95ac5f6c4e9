//! Validated path and query parameters, shared by every handler.
//!
//! Query structs declare their fields typed ([`PerPage`], [`Flag`], [`NonNegative`], sort
//! enums, core's enums) and are extracted by [`Query`], whose errors name the parameter
//! they are about (serde's own messages for `?per_page=abc` do not). Unknown query
//! parameters are rejected by `#[serde(deny_unknown_fields)]` on each struct;
//! [`path_config`] turns path-segment errors into problems too, so no plain-text 400 from
//! actix ever reaches a client.
//!
//! Limits (documented in docs/api.md):
//! - package names: 1 to [`MAX_NAME_LEN`] bytes after trimming, no control characters;
//!   npm allows 214, Go module paths and Maven coordinates run longer, 256 covers them.
//! - organization logins and repository names: 1 to [`MAX_LOGIN_LEN`] bytes, no `/`.
//! - `per_page`: 1 to [`MAX_PER_PAGE`], default [`DEFAULT_PER_PAGE`].

mod purl;
pub(crate) mod query;

use actix_web::{HttpRequest, error::PathError, web};
use wump_core::Ecosystem;

pub use self::purl::parse_purl;
pub(crate) use self::query::choice_param;
pub use self::query::{Flag, Moment, NonNegative, PerPage, Query, parse as parse_query};
use crate::problem::ApiError;

/// Longest package name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Longest organization login or repository name segment accepted, in bytes.
pub const MAX_LOGIN_LEN: usize = 100;
/// Page size when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u32 = 30;
/// Largest `per_page` accepted.
pub const MAX_PER_PAGE: u32 = 100;

/// A package as a request names it: ecosystem, the name as given and its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageKey {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub normalized_name: String,
}

impl PackageKey {
    /// From path segments: an unknown ecosystem is a 404 (no such resource), a bad name 400.
    pub fn from_path(ecosystem: &str, name: &str) -> Result<Self, ApiError> {
        let ecosystem: Ecosystem = ecosystem.parse().map_err(|e| ApiError::NotFoundParameter {
            parameter: "ecosystem".into(),
            reason: format!("{e}"),
        })?;
        Self::new(ecosystem, name)
    }

    /// Validates `name` for `ecosystem`.
    pub fn new(ecosystem: Ecosystem, name: &str) -> Result<Self, ApiError> {
        let name = package_name(name, "name")?;
        let normalized_name = ecosystem.normalize_name(&name);
        Ok(Self {
            ecosystem,
            name,
            normalized_name,
        })
    }
}

/// A package name: trimmed, non-empty, at most [`MAX_NAME_LEN`] bytes, no control characters.
pub fn package_name(raw: &str, parameter: &str) -> Result<String, ApiError> {
    bounded_text(raw, parameter, MAX_NAME_LEN)
}

/// An organization login or a repository owner/name segment: like a package name, at most
/// [`MAX_LOGIN_LEN`] bytes and without `/`.
pub fn login(raw: &str, parameter: &str) -> Result<String, ApiError> {
    let login = bounded_text(raw, parameter, MAX_LOGIN_LEN)?;
    if login.contains('/') {
        return Err(ApiError::invalid(parameter, "must not contain `/`"));
    }
    Ok(login)
}

/// A forge host such as `github.com` (`local` for the local provider).
pub fn host(raw: &str) -> Result<String, ApiError> {
    let host = bounded_text(raw, "host", MAX_LOGIN_LEN)?;
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(ApiError::invalid("host", "must be a host name"));
    }
    Ok(host.to_ascii_lowercase())
}

fn bounded_text(raw: &str, parameter: &str, max: usize) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ApiError::invalid(parameter, "must not be empty"));
    }
    if text.len() > max {
        return Err(ApiError::invalid(
            parameter,
            format!("must be at most {max} bytes long"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            parameter,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// `per_page`: default [`DEFAULT_PER_PAGE`], else an integer in 1..=[`MAX_PER_PAGE`].
pub fn per_page(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PER_PAGE);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            "per_page",
            format!("must be an integer from 1 to {MAX_PER_PAGE}"),
        )),
    }
}

/// A boolean flag: `true`/`false` (also `1`/`0`), `default` when absent.
pub fn boolean(raw: Option<&str>, parameter: &str, default: bool) -> Result<bool, ApiError> {
    match raw.map(str::trim) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(ApiError::invalid(parameter, "must be `true` or `false`")),
    }
}

/// A non-negative integer that fits PostgreSQL's `int4`.
pub fn non_negative(raw: Option<&str>, parameter: &str) -> Result<Option<i32>, ApiError> {
    raw.map(|raw| {
        raw.trim()
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::invalid(
                    parameter,
                    format!("must be an integer from 0 to {}", i32::MAX),
                )
            })
    })
    .transpose()
}

/// One of a fixed set of values, each with its spelling in the API.
pub trait Choice: Sized + Copy + 'static {
    /// Every value with its spelling; the first is the default.
    const CHOICES: &'static [(&'static str, Self)];

    /// The value given, else the default.
    fn or_default(value: Option<Self>) -> Self {
        value.unwrap_or(Self::CHOICES[0].1)
    }
}

/// The value of an enum parameter, the first choice when absent.
pub fn choice<T: Choice>(raw: Option<&str>, parameter: &str) -> Result<T, ApiError> {
    let Some(raw) = raw else {
        return Ok(T::CHOICES[0].1);
    };
    T::CHOICES
        .iter()
        .find(|(name, _)| *name == raw.trim())
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<_> = T::CHOICES.iter().map(|(n, _)| format!("`{n}`")).collect();
            ApiError::invalid(parameter, format!("must be one of {}", names.join(", ")))
        })
}

/// The spelling of an enum parameter's value.
pub fn choice_name<T: Choice + PartialEq>(value: T) -> &'static str {
    T::CHOICES
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("", |(n, _)| n)
}

/// Path-segment errors as problems (every handler takes its segments as strings, so this
/// only fires on segments that are not valid UTF-8 once decoded).
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req: &HttpRequest| {
        let PathError::Deserialize(cause) = &err else {
            return ApiError::invalid("path", err.to_string()).into();
        };
        ApiError::invalid("path", cause.to_string()).into()
    })
}

/// The first `` `quoted` `` word of a serde message: the field it is about.
fn backticked(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter_of(err: ApiError) -> String {
        match err {
            ApiError::InvalidParameter { parameter, .. }
            | ApiError::NotFoundParameter { parameter, .. } => parameter,
            other => panic!("not a parameter error: {other:?}"),
        }
    }

    #[test]
    fn per_page_defaults_to_30_and_accepts_1_to_100() {
        assert_eq!(per_page(None).unwrap(), 30);
        assert_eq!(per_page(Some("1")).unwrap(), 1);
        assert_eq!(per_page(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "abc", "", "-1", "1.5"] {
            assert_eq!(parameter_of(per_page(Some(bad)).unwrap_err()), "per_page");
        }
    }

    #[test]
    fn an_unknown_ecosystem_in_a_path_is_404() {
        let err = PackageKey::from_path("npmx", "left-pad").unwrap_err();
        assert!(
            matches!(err, ApiError::NotFoundParameter { ref parameter, .. } if parameter == "ecosystem")
        );
    }

    #[test]
    fn names_are_trimmed_normalized_and_bounded() {
        let key = PackageKey::from_path("npm", " @Babel/Core ").unwrap();
        assert_eq!(key.name, "@Babel/Core");
        assert_eq!(key.normalized_name, "@babel/core");
        assert!(PackageKey::from_path("npm", &"a".repeat(MAX_NAME_LEN)).is_ok());
        for bad in ["a".repeat(MAX_NAME_LEN + 1), "  ".into(), "a\u{0}b".into()] {
            assert_eq!(
                parameter_of(PackageKey::from_path("npm", &bad).unwrap_err()),
                "name"
            );
        }
    }

    #[test]
    fn booleans_and_choices_name_their_parameter() {
        assert!(boolean(Some("true"), "include_forks", false).unwrap());
        assert!(!boolean(None, "include_forks", false).unwrap());
        assert_eq!(
            parameter_of(boolean(Some("yes"), "include_forks", false).unwrap_err()),
            "include_forks"
        );
        assert_eq!(
            parameter_of(non_negative(Some("-3"), "min_stars").unwrap_err()),
            "min_stars"
        );
    }

    #[test]
    fn serde_messages_name_the_field_in_backticks() {
        assert_eq!(
            backticked("unknown field `foo`, expected one of `a`, `b`"),
            Some("foo")
        );
        assert_eq!(backticked("no quotes"), None);
    }

    #[test]
    fn logins_and_hosts_reject_what_cannot_be_one() {
        assert_eq!(login("rust-lang", "login").unwrap(), "rust-lang");
        assert_eq!(parameter_of(login("a/b", "login").unwrap_err()), "login");
        assert_eq!(host("GitHub.com").unwrap(), "github.com");
        assert_eq!(parameter_of(host("a b").unwrap_err()), "host");
    }
}
