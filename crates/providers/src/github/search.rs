//! Repository search past GitHub's 1,000-result cap.
//!
//! GitHub's search answers at most 1,000 results per query (10 pages of 100). A search is
//! therefore walked as a stack of star windows (`stars:lo..hi`), highest first: when a
//! window's first page reports `total_count > 1000`, the window is halved and the halves
//! searched instead. The page token carries the stack and the page, so a job can stop and
//! resume anywhere.

use serde::{Deserialize, Serialize};

use crate::{PageToken, ProviderError};

/// Results GitHub serves for one query.
pub(crate) const RESULT_CAP: u64 = 1_000;
pub(crate) const PER_PAGE: u32 = 100;

/// Repositories with `lo ≤ stars ≤ hi` (`hi = None`: no upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StarWindow {
    pub(crate) lo: u32,
    pub(crate) hi: Option<u32>,
}

impl StarWindow {
    /// The `stars:` qualifier for this window.
    pub(crate) fn qualifier(self) -> String {
        match self.hi {
            Some(hi) if hi == self.lo => format!("stars:{hi}"),
            Some(hi) => format!("stars:{}..{hi}", self.lo),
            None => format!("stars:>={}", self.lo),
        }
    }

    /// The two halves, the higher first; `None` when it cannot be split (`lo == hi`, or an
    /// open window, which needs the highest star count seen to close first).
    pub(crate) fn halves(self) -> Option<(StarWindow, StarWindow)> {
        let hi = self.hi?;
        if hi <= self.lo {
            return None;
        }
        let mid = self.lo + (hi - self.lo) / 2;
        Some((
            StarWindow {
                lo: mid + 1,
                hi: Some(hi),
            },
            StarWindow {
                lo: self.lo,
                hi: Some(mid),
            },
        ))
    }
}

/// Where a search is: the windows still to walk (the last is current) and the page of the
/// current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SearchCursor {
    pub(crate) windows: Vec<StarWindow>,
    pub(crate) page: u32,
}

impl SearchCursor {
    pub(crate) fn start(window: StarWindow) -> Self {
        Self {
            windows: vec![window],
            page: 1,
        }
    }

    pub(crate) fn current(&self) -> Option<StarWindow> {
        self.windows.last().copied()
    }

    /// Replaces the current window by its halves (the higher is walked first).
    pub(crate) fn split(&mut self, higher: StarWindow, lower: StarWindow) {
        self.windows.pop();
        self.windows.push(lower);
        self.windows.push(higher);
        self.page = 1;
    }

    /// Closes an open window at the highest star count seen in it.
    pub(crate) fn close(&mut self, hi: u32) {
        if let Some(window) = self.windows.last_mut() {
            window.hi = Some(hi.max(window.lo));
        }
    }

    /// After a page with `returned` items of a window reporting `total` results: the next
    /// page of this window, or the next window, or the end.
    pub(crate) fn advance(mut self, returned: usize, total: u64) -> Option<Self> {
        let served = u64::from(self.page) * u64::from(PER_PAGE);
        if returned > 0 && served < total.min(RESULT_CAP) {
            self.page += 1;
            return Some(self);
        }
        self.windows.pop();
        self.page = 1;
        (!self.windows.is_empty()).then_some(self)
    }

    pub(crate) fn to_token(&self) -> PageToken {
        PageToken(serde_json::to_string(self).unwrap_or_default())
    }

    pub(crate) fn from_token(token: &PageToken) -> Result<Self, ProviderError> {
        serde_json::from_str(&token.0).map_err(|e| ProviderError::Config {
            provider: super::PROVIDER.to_owned(),
            message: format!("not a GitHub search page token: {e}"),
        })
    }
}

/// Splits a search query into the rest of the query and the star window its `stars:`
/// qualifier asks for (`None` when there is none: every star count). A qualifier we
/// cannot read is left in the query, and the window is `None`: such a search is capped.
pub(crate) fn split_stars(query: &str) -> (String, Option<StarWindow>) {
    let mut rest = Vec::new();
    let mut window = Some(StarWindow { lo: 0, hi: None });
    for term in query.split_whitespace() {
        match term.strip_prefix("stars:") {
            Some(spec) => match parse_stars(spec) {
                Some(w) => window = window.map(|_| w),
                None => {
                    rest.push(term);
                    window = None;
                }
            },
            None => rest.push(term),
        }
    }
    (rest.join(" "), window)
}

fn parse_stars(spec: &str) -> Option<StarWindow> {
    let number = |s: &str| s.parse::<u32>().ok();
    if let Some(n) = spec.strip_prefix(">=") {
        return Some(StarWindow {
            lo: number(n)?,
            hi: None,
        });
    }
    if let Some(n) = spec.strip_prefix('>') {
        return Some(StarWindow {
            lo: number(n)?.checked_add(1)?,
            hi: None,
        });
    }
    if let Some(n) = spec.strip_prefix("<=") {
        return Some(StarWindow {
            lo: 0,
            hi: Some(number(n)?),
        });
    }
    if let Some(n) = spec.strip_prefix('<') {
        return Some(StarWindow {
            lo: 0,
            hi: Some(number(n)?.checked_sub(1)?),
        });
    }
    if let Some((lo, hi)) = spec.split_once("..") {
        let lo = if lo == "*" { 0 } else { number(lo)? };
        let hi = if hi == "*" { None } else { Some(number(hi)?) };
        return Some(StarWindow { lo, hi }).filter(|w| w.hi.is_none_or(|hi| hi >= w.lo));
    }
    let n = number(spec)?;
    Some(StarWindow { lo: n, hi: Some(n) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(lo: u32, hi: Option<u32>) -> StarWindow {
        StarWindow { lo, hi }
    }

    #[test]
    fn reads_every_documented_stars_qualifier() {
        let cases = [
            ("language:rust", Some(w(0, None))),
            ("stars:>1000 language:rust", Some(w(1001, None))),
            ("stars:>=500", Some(w(500, None))),
            ("stars:<10", Some(w(0, Some(9)))),
            ("stars:<=10", Some(w(0, Some(10)))),
            ("stars:10..50", Some(w(10, Some(50)))),
            ("stars:10..*", Some(w(10, None))),
            ("stars:*..10", Some(w(0, Some(10)))),
            ("stars:42", Some(w(42, Some(42)))),
            ("stars:lots", None),
        ];
        for (query, window) in cases {
            assert_eq!(split_stars(query).1, window, "{query}");
        }
        assert_eq!(split_stars("stars:>1000  language:rust").0, "language:rust");
        assert_eq!(split_stars("stars:lots topic:x").0, "stars:lots topic:x");
    }

    #[test]
    fn halves_walk_high_stars_first_and_pages_stop_at_the_cap() {
        assert_eq!(w(0, Some(100)).qualifier(), "stars:0..100");
        assert_eq!(w(7, None).qualifier(), "stars:>=7");
        assert_eq!(w(7, Some(7)).halves(), None);
        let mut cursor = SearchCursor::start(w(0, Some(100)));
        let (high, low) = cursor.current().unwrap().halves().unwrap();
        assert_eq!((high, low), (w(51, Some(100)), w(0, Some(50))));
        cursor.split(high, low);
        assert_eq!(cursor.current(), Some(high));
        let cursor = cursor.advance(100, 250).unwrap();
        assert_eq!(cursor.page, 2);
        let cursor = cursor.advance(100, 250).unwrap().advance(50, 250).unwrap();
        assert_eq!((cursor.current(), cursor.page), (Some(low), 1));
        assert_eq!(cursor.advance(100, 100), None);
        let at_cap = SearchCursor {
            windows: vec![w(5, Some(5))],
            page: 10,
        };
        assert_eq!(at_cap.advance(100, 5_000), None, "GitHub serves no page 11");
        let token = SearchCursor::start(w(3, None)).to_token();
        assert_eq!(
            SearchCursor::from_token(&token).unwrap(),
            SearchCursor::start(w(3, None))
        );
    }
}
