//! The query string as a typed struct: every handler's `Query<T>`.
//!
//! Fields are typed where they are declared ([`PerPage`], [`Flag`], [`NonNegative`], our
//! sort enums, core's enums), and the OpenAPI document reads the same types. serde alone
//! would lose which parameter a bad value belongs to (`?per_page=abc` says only "invalid
//! digit"), so the string is deserialized through `serde_path_to_error`, and every error
//! becomes a 400 problem naming its parameter.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        ObjectBuilder, RefOr, Schema,
        schema::{KnownFormat, SchemaFormat, Type},
    },
};

use super::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use crate::problem::ApiError;

/// A handler's query parameters, deserialized as `T` (which denies unknown fields).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// `query` as `T`; a 400 naming the parameter at fault.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|err| {
        let message = err.inner().to_string();
        // Unknown and repeated parameters fail at the struct, not at a field: serde names
        // them in backticks.
        if message.starts_with("unknown field") {
            let parameter = super::backticked(&message).unwrap_or("query");
            return ApiError::invalid(parameter, "is not a parameter of this endpoint");
        }
        if message.starts_with("duplicate field") {
            let parameter = super::backticked(&message).unwrap_or("query");
            return ApiError::invalid(parameter, "is given more than once");
        }
        let path = err.path().to_string();
        let parameter = if path.is_empty() || path == "." || path == "?" {
            super::backticked(&message).unwrap_or("query").to_owned()
        } else {
            path
        };
        ApiError::invalid(parameter, message)
    })
}

/// The reason of a parameter error, as a serde error of the value being deserialized.
fn reason<E: serde::de::Error>(err: ApiError) -> E {
    match err {
        ApiError::InvalidParameter { reason, .. } => E::custom(reason),
        other => E::custom(other),
    }
}

/// `per_page`: an integer from 1 to [`MAX_PER_PAGE`], [`DEFAULT_PER_PAGE`] when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerPage(pub u32);

impl PerPage {
    /// The page size of an optional `per_page`.
    pub fn or_default(value: Option<PerPage>) -> u32 {
        value.map_or(DEFAULT_PER_PAGE, |p| p.0)
    }
}

impl<'de> Deserialize<'de> for PerPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        super::per_page(Some(&raw)).map(PerPage).map_err(reason)
    }
}

impl PartialSchema for PerPage {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(1))
            .maximum(Some(MAX_PER_PAGE))
            .into()
    }
}

impl ToSchema for PerPage {}

/// A boolean flag: `true`/`false`, also `1`/`0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Flag {
    /// The value of an optional flag, `default` when absent.
    pub fn or(value: Option<Flag>, default: bool) -> bool {
        value.map_or(default, |f| f.0)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        // The parameter's name is added by `parse`; the message does not repeat it.
        super::boolean(Some(&raw), "", false)
            .map(Flag)
            .map_err(reason)
    }
}

impl PartialSchema for Flag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).into()
    }
}

impl ToSchema for Flag {}

/// A non-negative integer that fits PostgreSQL's `int4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonNegative(pub i32);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        match super::non_negative(Some(&raw), "") {
            Ok(Some(n)) => Ok(NonNegative(n)),
            Ok(None) => Err(serde::de::Error::custom("must be given")),
            Err(err) => Err(reason(err)),
        }
    }
}

impl PartialSchema for NonNegative {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(0))
            .into()
    }
}

impl ToSchema for NonNegative {}

/// A point in time: an RFC 3339 timestamp (`2026-11-01T00:00:00Z`) or a day
/// (`2026-11-01`, its first instant in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment(pub DateTime<Utc>);

impl Moment {
    /// The day it falls on, in UTC.
    pub fn day(self) -> NaiveDate {
        self.0.date_naive()
    }
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let raw = raw.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Moment(at.with_timezone(&Utc)));
        }
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(day) => Ok(Moment(day.and_time(NaiveTime::MIN).and_utc())),
            Err(_) => Err(serde::de::Error::custom(format!(
                "`{raw}` is neither a day (2026-11-01) nor an RFC 3339 time (2026-11-01T08:00:00Z)"
            ))),
        }
    }
}

impl PartialSchema for Moment {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A day (`2026-11-01`, from its start in UTC) or an RFC 3339 time",
            ))
            .examples([serde_json::json!("2026-11-01")])
            .into()
    }
}

impl ToSchema for Moment {}

/// Implements `Deserialize` for a [`super::Choice`] enum through its spellings (trimmed,
/// and refused with the list of choices).
macro_rules! choice_param {
    ($choice:ty) => {
        impl<'de> serde::Deserialize<'de> for $choice {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $crate::params::choice(Some(&raw), "").map_err(|err| match err {
                    $crate::problem::ApiError::InvalidParameter { reason, .. } => {
                        serde::de::Error::custom(reason)
                    }
                    other => serde::de::Error::custom(other),
                })
            }
        }
    };
}
pub(crate) use choice_param;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        per_page: Option<PerPage>,
        include_forks: Option<Flag>,
        min_stars: Option<NonNegative>,
    }

    fn parameter_of(query: &str) -> String {
        match parse::<Params>(query).unwrap_err() {
            ApiError::InvalidParameter { parameter, .. } => parameter,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn moments_are_days_or_rfc3339_times_and_refused_otherwise() {
        #[derive(Debug, Deserialize)]
        struct P {
            since: Moment,
        }
        let day: P = parse("since=2026-11-01").unwrap();
        assert_eq!(day.since.to_string(), "2026-11-01T00:00:00Z");
        let at: P = parse("since=2026-11-01T08:30:00%2B02:00").unwrap();
        assert_eq!(at.since.to_string(), "2026-11-01T06:30:00Z");
        let err = parse::<P>("since=last+month").unwrap_err().to_string();
        assert!(
            err.contains("since") && err.contains("neither a day"),
            "{err}"
        );
    }

    #[test]
    fn typed_values_parse_and_errors_name_their_parameter() {
        let params: Params = parse("per_page=%207&include_forks=1&min_stars=0").unwrap();
        assert_eq!(params.per_page, Some(PerPage(7)));
        assert_eq!(params.include_forks, Some(Flag(true)));
        assert_eq!(params.min_stars, Some(NonNegative(0)));
        assert_eq!(
            PerPage::or_default(parse::<Params>("").unwrap().per_page),
            30
        );
        assert_eq!(parameter_of("per_page=abc"), "per_page");
        assert_eq!(parameter_of("per_page=101"), "per_page");
        assert_eq!(parameter_of("include_forks=yes"), "include_forks");
        assert_eq!(parameter_of("min_stars=-1"), "min_stars");
        assert_eq!(parameter_of("nope=1"), "nope");
        assert_eq!(parameter_of("per_page=1&per_page=2"), "per_page");
    }
}
