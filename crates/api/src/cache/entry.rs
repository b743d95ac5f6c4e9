//! One cached answer as Valkey stores it: a small binary header, then the JSON body as is
//! (no second JSON encoding, no base64).
//!
//! Layout, integers big-endian: `b'W'`, format `1`, stored-at ms (u64), fresh-until ms
//! (u64), ETag length (u16) and ETag, Link length (u32, `u32::MAX` for none) and Link, body.

use actix_web::web::Bytes;

const MAGIC: u8 = b'W';
const FORMAT: u8 = 1;
const NO_LINK: u32 = u32::MAX;

/// A cached answer with its logical expiry; Valkey keeps it longer, for stale answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) body: Bytes,
    pub(crate) etag: String,
    pub(crate) link: Option<String>,
    /// Milliseconds since the Unix epoch when it was loaded.
    pub(crate) stored_at_ms: u64,
    /// Until when it is served as a HIT (ms since the epoch); after, only as STALE.
    pub(crate) fresh_until_ms: u64,
}

impl Entry {
    /// Whether it may still be served as a HIT at `now_ms`.
    pub(crate) fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.fresh_until_ms
    }

    /// The stored form.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let link = self.link.as_deref().unwrap_or("");
        let mut out = Vec::with_capacity(24 + self.etag.len() + link.len() + self.body.len());
        out.extend_from_slice(&[MAGIC, FORMAT]);
        out.extend_from_slice(&self.stored_at_ms.to_be_bytes());
        out.extend_from_slice(&self.fresh_until_ms.to_be_bytes());
        // ETags are ours (34 bytes); a longer one cannot happen, so truncating is moot.
        let etag = &self.etag.as_bytes()[..self.etag.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(etag.len() as u16).to_be_bytes());
        out.extend_from_slice(etag);
        match &self.link {
            Some(link) if link.len() < NO_LINK as usize => {
                out.extend_from_slice(&(link.len() as u32).to_be_bytes());
                out.extend_from_slice(link.as_bytes());
            }
            _ => out.extend_from_slice(&NO_LINK.to_be_bytes()),
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads the stored form; `None` when it is not one (another format, or damaged), which
    /// the cache treats as a miss.
    pub(crate) fn decode(stored: Bytes) -> Option<Self> {
        let mut reader = Reader {
            data: &stored,
            at: 0,
        };
        if reader.take(2)? != [MAGIC, FORMAT] {
            return None;
        }
        let stored_at_ms = u64::from_be_bytes(reader.take(8)?.try_into().ok()?);
        let fresh_until_ms = u64::from_be_bytes(reader.take(8)?.try_into().ok()?);
        let etag_len = u16::from_be_bytes(reader.take(2)?.try_into().ok()?);
        let etag = std::str::from_utf8(reader.take(etag_len.into())?)
            .ok()?
            .to_owned();
        let link_len = u32::from_be_bytes(reader.take(4)?.try_into().ok()?);
        let link = if link_len == NO_LINK {
            None
        } else {
            Some(
                std::str::from_utf8(reader.take(link_len as usize)?)
                    .ok()?
                    .to_owned(),
            )
        };
        let at = reader.at;
        Some(Entry {
            // Shares the buffer Valkey's reply came in: no copy of the body.
            body: stored.slice(at..),
            etag,
            link,
            stored_at_ms,
            fresh_until_ms,
        })
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.data.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(link: Option<&str>) -> Entry {
        Entry {
            body: Bytes::from_static(br#"{"name":"serde"}"#),
            etag: "\"0123456789abcdef0123456789abcdef\"".into(),
            link: link.map(str::to_owned),
            stored_at_ms: 1_700_000_000_000,
            fresh_until_ms: 1_700_000_600_000,
        }
    }

    #[test]
    fn entries_round_trip_with_and_without_a_link() {
        for link in [None, Some(""), Some("</api/v1/x?cursor=abc>; rel=\"next\"")] {
            let original = entry(link);
            let decoded = Entry::decode(Bytes::from(original.encode())).unwrap();
            assert_eq!(decoded, original);
        }
    }

    #[test]
    fn foreign_or_truncated_values_are_misses_not_errors() {
        assert_eq!(Entry::decode(Bytes::from_static(b"{\"json\":1}")), None);
        let encoded = entry(Some("<x>")).encode();
        for cut in [1, 10, 19, 20, 25, 56, 60] {
            assert_eq!(
                Entry::decode(Bytes::from(encoded[..cut].to_vec())),
                None,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn freshness_ends_at_fresh_until() {
        let e = entry(None);
        assert!(e.is_fresh(e.fresh_until_ms - 1));
        assert!(!e.is_fresh(e.fresh_until_ms));
    }
}
