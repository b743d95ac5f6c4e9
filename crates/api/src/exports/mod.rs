//! Whole-list exports of a package's dependents and organizations as CSV, JSON Lines or
//! Markdown: `format=` on the listings (or `Accept`), streamed in keyset batches of
//! `[api.exports] batch_rows` rows from the listings' own queries, never the whole list in
//! memory, never cached, cut at the caller's tier bound (`max_rows`).
//!
//! Headers go before the body, so what an export holds is decided before its first byte:
//! `Wump-Export-Truncated` (and `Wump-Export-Rows` when the count is known) come from the
//! package's stored count, or, for filters that count cannot bound, from one probe row at
//! the bound ([`wump_db::views::dependents_exceed`]). Errors before the first byte are the
//! usual problems; an error in the middle ends the stream without its last chunk (the
//! client sees an incomplete transfer) and is logged.

mod format;
mod markdown;
mod rows;
mod stream;

pub(crate) use self::format::{ExportFormat, FormatParam, negotiate};
pub(crate) use self::stream::{Charge, Export, Source};

use std::future::Future;

use wump_core::{settings::ExportSettings, tier::Tier};

/// The most rows `tier` may export (`None`: unlimited).
pub(crate) fn max_rows(settings: &ExportSettings, tier: Tier) -> Option<u64> {
    let rows = &settings.max_rows;
    let max = match tier {
        Tier::Anonymous => rows.anonymous,
        Tier::Free => rows.free,
        Tier::Standard => rows.standard,
        Tier::Premium => rows.premium,
        Tier::Admin => rows.admin,
    };
    (max > 0).then_some(max)
}

/// What the stored count says about a listing's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// Exactly this many rows (the default filters).
    Exactly(u64),
    /// At most this many (filters that only narrow).
    AtMost(u64),
    /// Nothing (filters that widen: archived repositories, forks).
    Nothing,
}

/// The 400 for a paging parameter given with an export.
pub(crate) fn no_paging(parameter: &str) -> crate::problem::ApiError {
    crate::problem::ApiError::invalid(
        parameter,
        "cannot be combined with an export (format=csv|jsonl|markdown or an Accept asking \
         for one): an export is the whole list",
    )
}

/// `text` as Markdown inline code (fenced with enough backticks, as CommonMark allows).
pub(crate) fn markdown_code(text: &str) -> String {
    let mut run = 0;
    let mut most = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        most = most.max(run);
    }
    let fence = "`".repeat(most + 1);
    format!("{fence} {} {fence}", text.replace(['\r', '\n'], " "))
}

/// Whether an export is cut, and how many rows it holds when that is known, decided before
/// its first byte; `exceeds(n)` asks the database whether the listing has more than `n`
/// rows, and runs only when the stored count cannot tell.
pub(crate) async fn plan<F, Fut>(
    known: Known,
    max_rows: Option<u64>,
    exceeds: F,
) -> Result<(bool, Option<u64>), crate::problem::ApiError>
where
    F: FnOnce(u64) -> Fut,
    Fut: Future<Output = Result<bool, crate::problem::ApiError>>,
{
    let Some(max) = max_rows else {
        let rows = match known {
            Known::Exactly(n) => Some(n),
            _ => None,
        };
        return Ok((false, rows));
    };
    Ok(match known {
        Known::Exactly(n) => (n > max, Some(n.min(max))),
        Known::AtMost(n) if n <= max => (false, None),
        _ if exceeds(max).await? => (true, Some(max)),
        _ => (false, None),
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn every_tier_has_its_bound_and_admin_none() {
        let settings = ExportSettings::default();
        assert_eq!(max_rows(&settings, Tier::Anonymous), Some(1_000));
        assert_eq!(max_rows(&settings, Tier::Free), Some(10_000));
        assert_eq!(max_rows(&settings, Tier::Standard), Some(100_000));
        assert_eq!(max_rows(&settings, Tier::Premium), Some(1_000_000));
        assert_eq!(max_rows(&settings, Tier::Admin), None);
    }

    /// `plan` with a probe answering `exceeds`, and whether the probe ran.
    fn run(known: Known, max: Option<u64>, exceeds: bool) -> ((bool, Option<u64>), bool) {
        let probed = Cell::new(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let planned = runtime
            .block_on(plan(known, max, |n| {
                probed.set(true);
                assert_eq!(Some(n), max);
                async move { Ok(exceeds) }
            }))
            .unwrap();
        (planned, probed.get())
    }

    #[test]
    fn the_count_decides_when_it_can_and_one_probe_when_it_cannot() {
        // Exact counts: no probe.
        assert_eq!(
            run(Known::Exactly(5), Some(3), false),
            ((true, Some(3)), false)
        );
        assert_eq!(
            run(Known::Exactly(3), Some(3), true),
            ((false, Some(3)), false)
        );
        assert_eq!(
            run(Known::Exactly(7), None, true),
            ((false, Some(7)), false)
        );
        // An upper bound within the limit: whole, count unknown.
        assert_eq!(run(Known::AtMost(3), Some(3), true), ((false, None), false));
        // Otherwise the probe says.
        assert_eq!(
            run(Known::AtMost(9), Some(3), true),
            ((true, Some(3)), true)
        );
        assert_eq!(run(Known::AtMost(9), Some(3), false), ((false, None), true));
        assert_eq!(run(Known::Nothing, Some(3), true), ((true, Some(3)), true));
        assert_eq!(run(Known::Nothing, None, true), ((false, None), false));
    }

    #[test]
    fn inline_code_fences_outrun_the_backticks_inside() {
        assert_eq!(markdown_code("left-pad"), "` left-pad `");
        assert_eq!(markdown_code("a``b"), "``` a``b ```");
        assert_eq!(markdown_code("x\ny"), "` x y `");
    }
}
