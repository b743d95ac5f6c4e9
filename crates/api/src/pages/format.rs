//! How numbers and dates read on a page.

use chrono::{DateTime, Utc};

/// `1234567` as `1,234,567`.
pub(crate) fn count(n: impl Into<i64>) -> String {
    let n = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `n` and the noun that counts it: `1 repository`, `2,000 repositories`.
pub(crate) fn counted(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The name a funding platform goes by (the ids are FUNDING.yml's keys).
pub(crate) fn platform(id: &str) -> &str {
    match id {
        "github" => "GitHub Sponsors",
        "patreon" => "Patreon",
        "open_collective" => "Open Collective",
        "ko_fi" => "Ko-fi",
        "tidelift" => "Tidelift",
        "community_bridge" => "LFX Mentorship",
        "liberapay" => "Liberapay",
        "issuehunt" => "IssueHunt",
        "lfx_crowdfunding" => "LFX Crowdfunding",
        "polar" => "Polar",
        "buy_me_a_coffee" => "Buy Me a Coffee",
        "thanks_dev" => "thanks.dev",
        "custom" => "Donate",
        other => other,
    }
}

/// A day, or `never` for a repository never pushed to.
pub(crate) fn day(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-45_000), "-45,000");
    }

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(
            super::counted(1, "repository", "repositories"),
            "1 repository"
        );
        assert_eq!(super::counted(0, "star", "stars"), "0 stars");
        assert_eq!(super::counted(2_500, "star", "stars"), "2,500 stars");
    }
}
