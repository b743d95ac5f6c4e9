//! Keyset pagination as clients see it: an opaque cursor and a `Link: <…>; rel="next"`.
//!
//! A cursor is base64url (no padding) of a small versioned JSON document — which listing
//! and sort it belongs to, the last row's sort value and id — followed by six bytes of its
//! SHA-256, so a garbled or edited cursor is refused (400 `cursor`) rather than silently
//! starting somewhere else. It is not a secret: it only says where the previous page ended.
//! A cursor from another listing or sort is refused too.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::problem::ApiError;

const VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 6;
/// Longer input cannot be a cursor of ours; refuse it before decoding.
const MAX_CURSOR_LEN: usize = 512;

/// The sort value of the last row of a page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    /// Stars, a count or a star sum.
    #[serde(rename = "n")]
    Number(i64),
    /// A timestamp that may be absent (never-pushed repositories sort last).
    #[serde(rename = "t")]
    Time(Option<DateTime<Utc>>),
    /// A search hit: similarity, then weight.
    #[serde(rename = "s")]
    Score(f32, i64),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    /// The listing and sort, e.g. `dependents:stars`.
    l: String,
    k: SortKey,
    id: Uuid,
}

/// Where a page ended, for the listing named `listing` (e.g. `dependents:stars`).
pub fn encode(listing: &str, key: SortKey, id: Uuid) -> String {
    let wire = Wire {
        v: VERSION,
        l: listing.to_owned(),
        k: key,
        id,
    };
    let mut bytes = serde_json::to_vec(&wire).unwrap_or_default();
    let checksum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&checksum[..CHECKSUM_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The sort value and id a cursor for `listing` carries; 400 `cursor` for anything else.
pub fn decode(raw: &str, listing: &str) -> Result<(SortKey, Uuid), ApiError> {
    let garbled = || ApiError::invalid("cursor", "is not a cursor this API issued");
    if raw.len() > MAX_CURSOR_LEN {
        return Err(garbled());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| garbled())?;
    if bytes.len() <= CHECKSUM_LEN {
        return Err(garbled());
    }
    let (payload, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if Sha256::digest(payload)[..CHECKSUM_LEN] != *checksum {
        return Err(garbled());
    }
    let wire: Wire = serde_json::from_slice(payload).map_err(|_| garbled())?;
    if wire.v != VERSION {
        return Err(ApiError::invalid(
            "cursor",
            "comes from an older version of the API; start again without it",
        ));
    }
    if wire.l != listing {
        return Err(ApiError::invalid(
            "cursor",
            format!(
                "belongs to the `{}` listing, not `{listing}`; keep the sort of the page it came from",
                wire.l
            ),
        ));
    }
    Ok((wire.k, wire.id))
}

/// A number sort value, or 400 when the cursor carries another kind.
pub fn number(key: SortKey) -> Result<i64, ApiError> {
    match key {
        SortKey::Number(n) => Ok(n),
        _ => Err(foreign_cursor()),
    }
}

/// A number sort value of an `int4` column (stars, counts).
pub fn int4(value: i64) -> Result<i32, ApiError> {
    i32::try_from(value).map_err(|_| foreign_cursor())
}

/// The 400 for a cursor that decodes but cannot be one of this listing's.
pub fn foreign_cursor() -> ApiError {
    ApiError::invalid("cursor", "is not a cursor this API issued")
}

/// A listing's normalized query parameters (without the cursor), in a fixed order: the
/// cache variant and the `Link` header are built from it, so equal requests share both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Canonical(Vec<(&'static str, String)>);

/// What the query component must escape: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a path must escape to go into a header: controls, spaces and delimiters.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'?')
    .add(b'#');

impl Canonical {
    /// Adds `name=value`.
    pub fn push(&mut self, name: &'static str, value: impl ToString) -> &mut Self {
        self.0.push((name, value.to_string()));
        self
    }

    /// Adds `name=value` when there is a value.
    pub fn push_some(&mut self, name: &'static str, value: Option<impl ToString>) -> &mut Self {
        if let Some(value) = value {
            self.push(name, value);
        }
        self
    }

    /// `a=1&b=2`, percent-encoded.
    pub fn query(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The cache variant of this page: route, parameters and cursor.
    pub fn variant(&self, route: &str, cursor: Option<&str>) -> String {
        match cursor {
            Some(cursor) => format!("{route}?{}&cursor={cursor}", self.query()),
            None => format!("{route}?{}", self.query()),
        }
    }

    /// `Link: <path?query&cursor=next>; rel="next"`, relative to the request's host.
    pub fn next_link(&self, path: &str, next_cursor: &str) -> String {
        format!("<{}>; rel=\"next\"", self.next_href(path, next_cursor))
    }

    /// The path and query of the page after `next_cursor`, as a link in a page points to it.
    pub fn next_href(&self, path: &str, next_cursor: &str) -> String {
        let path = utf8_percent_encode(path, PATH);
        let query = self.query();
        let separator = if query.is_empty() { "" } else { "&" };
        format!("{path}?{query}{separator}cursor={next_cursor}")
    }
}

/// The rows of one page and the cursor after its last row, from `per_page + 1` rows read.
pub fn split_page<T>(
    mut rows: Vec<T>,
    per_page: u32,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let per_page = per_page as usize;
    if rows.len() <= per_page {
        return (rows, None);
    }
    rows.truncate(per_page);
    let next = rows.last().map(cursor_of);
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_its_own_listing() {
        let id = Uuid::now_v7();
        for key in [
            SortKey::Number(42),
            SortKey::Time(None),
            SortKey::Time(Some(Utc::now())),
            SortKey::Score(0.317_f32, 12),
        ] {
            let cursor = encode("dependents:stars", key, id);
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(decode(&cursor, "dependents:stars").unwrap(), (key, id));
        }
    }

    #[test]
    fn garbled_edited_or_foreign_cursors_are_400s_naming_cursor() {
        let cursor = encode("dependents:stars", SortKey::Number(7), Uuid::now_v7());
        let mut edited = cursor.clone().into_bytes();
        edited[10] = if edited[10] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        for (raw, listing) in [
            ("garbage!", "dependents:stars"),
            ("", "dependents:stars"),
            (edited.as_str(), "dependents:stars"),
            (&cursor[..cursor.len() - 2], "dependents:stars"),
            (cursor.as_str(), "dependents:pushed_at"),
        ] {
            match decode(raw, listing) {
                Err(ApiError::InvalidParameter { parameter, .. }) => {
                    assert_eq!(parameter, "cursor")
                }
                other => panic!("{raw:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_next_link_keeps_the_query_and_replaces_the_cursor() {
        let mut params = Canonical::default();
        params
            .push("sort", "stars")
            .push("per_page", 2)
            .push_some("kind", Some("dev dep"));
        assert_eq!(
            params.next_link("/api/v1/packages/npm/%40scope%2Fname/dependents", "abc"),
            "</api/v1/packages/npm/%40scope%2Fname/dependents?sort=stars&per_page=2&kind=dev%20dep&cursor=abc>; rel=\"next\""
        );
        assert_eq!(
            Canonical::default().next_link("/x", "c"),
            "</x?cursor=c>; rel=\"next\""
        );
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_more_rows_exist() {
        let (rows, next) = split_page(vec![1, 2, 3], 3, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2, 3], None));
        let (rows, next) = split_page(vec![1, 2, 3, 4], 3, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2, 3], Some("3".into())));
    }
}
