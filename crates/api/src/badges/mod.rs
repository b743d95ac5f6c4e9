//! Badges for READMEs: how many repositories or organizations use a package, or the stars
//! of its dependents, drawn as shields.io draws them ([`svg`]) or as shields.io's endpoint
//! JSON (`https://img.shields.io/endpoint?url=…`). The routes are in `routes::badges`.

pub(crate) mod svg;
pub(crate) mod widths;

use serde::Serialize;

/// What a badge counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    /// The package's `dependents_count`.
    Repositories,
    /// Its `organizations_count`.
    Organizations,
    /// The stars of its counted dependents.
    Stars,
}

impl Metric {
    /// The metric named in a badge's path, e.g. `repositories`.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "repositories" => Some(Metric::Repositories),
            "organizations" => Some(Metric::Organizations),
            "stars" => Some(Metric::Stars),
            _ => None,
        }
    }

    /// Its name in paths and cache variants.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Metric::Repositories => "repositories",
            Metric::Organizations => "organizations",
            Metric::Stars => "stars",
        }
    }

    /// The label unless the request overrides it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Metric::Repositories | Metric::Organizations => "used by",
            Metric::Stars => "dependents' stars",
        }
    }

    /// The message for `count`: `1.2k repositories`, `1 organization`, `3.4M`.
    pub(crate) fn message(self, count: i64) -> String {
        let short = shorten(count);
        match self {
            Metric::Repositories if count == 1 => format!("{short} repository"),
            Metric::Repositories => format!("{short} repositories"),
            Metric::Organizations if count == 1 => format!("{short} organization"),
            Metric::Organizations => format!("{short} organizations"),
            Metric::Stars => short,
        }
    }
}

/// Colours by shields.io's names, with the hex its SVGs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    /// A count: shields.io `blue`.
    Blue,
    /// Nothing to count (unknown package or metric): shields.io `lightgrey`.
    LightGrey,
}

impl Color {
    /// The name the endpoint JSON gives.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::LightGrey => "lightgrey",
        }
    }

    /// The fill the SVG gives.
    pub(crate) fn hex(self) -> &'static str {
        match self {
            Color::Blue => "#007ec6",
            Color::LightGrey => "#9f9f9f",
        }
    }
}

/// One badge: a label on grey, a message on a colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Badge {
    pub(crate) label: String,
    pub(crate) message: String,
    pub(crate) color: Color,
}

impl Badge {
    /// The badge of a count.
    pub(crate) fn count(metric: Metric, count: i64, label: Option<&str>) -> Self {
        Self {
            label: label.unwrap_or(metric.label()).to_owned(),
            message: metric.message(count),
            color: Color::Blue,
        }
    }

    /// The grey `unknown` badge of a package (or metric) wump does not know.
    pub(crate) fn unknown(metric: Option<Metric>, label: Option<&str>) -> Self {
        Self {
            label: label
                .unwrap_or(metric.map_or("used by", Metric::label))
                .to_owned(),
            message: "unknown".to_owned(),
            color: Color::LightGrey,
        }
    }

    /// shields.io's endpoint schema (version 1); `isError` on the unknown badge.
    pub(crate) fn endpoint_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Endpoint<'a> {
            schema_version: u8,
            label: &'a str,
            message: &'a str,
            color: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            is_error: bool,
        }
        let endpoint = Endpoint {
            schema_version: 1,
            label: &self.label,
            message: &self.message,
            color: self.color.name(),
            is_error: self.color == Color::LightGrey,
        };
        serde_json::to_vec(&endpoint).unwrap_or_default()
    }
}

/// Metric prefixes, as shields.io's `metric()` uses them.
const PREFIXES: [&str; 6] = ["k", "M", "G", "T", "P", "E"];

/// A count shortened as shields.io shortens it: `999`, `1.2k`, `12k`, `1.2M`, `1M` (one
/// decimal below ten of a unit unless it is 0, rounded half up; `999.96k` becomes `1M`).
pub(crate) fn shorten(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let abs = n.unsigned_abs();
    for (i, prefix) in PREFIXES.iter().enumerate().rev() {
        let unit = 1000u64.pow(i as u32 + 1);
        if abs < unit {
            continue;
        }
        // Tenths of the unit, rounded half up (exact integer arithmetic).
        let tenths = (u128::from(abs) * 10 + u128::from(unit) / 2) / u128::from(unit);
        if tenths < 100 && tenths % 10 != 0 {
            return format!("{sign}{}.{}{prefix}", tenths / 10, tenths % 10);
        }
        let whole = (u128::from(abs) + u128::from(unit) / 2) / u128::from(unit);
        return match (whole < 1000, PREFIXES.get(i + 1)) {
            (true, _) | (false, None) => format!("{sign}{whole}{prefix}"),
            (false, Some(next)) => format!("{sign}1{next}"),
        };
    }
    format!("{sign}{abs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_shorten_like_shields() {
        let cases = [
            (0, "0"),
            (1, "1"),
            (999, "999"),
            (1_000, "1k"),
            (1_049, "1k"),
            (1_050, "1.1k"),
            (1_234, "1.2k"),
            (9_949, "9.9k"),
            (9_950, "10k"),
            (12_345, "12k"),
            (999_499, "999k"),
            (999_500, "1M"),
            (1_200_000, "1.2M"),
            (3_400_000, "3.4M"),
            (12_000_000_000, "12G"),
            (-1_500, "-1.5k"),
        ];
        for (n, short) in cases {
            assert_eq!(shorten(n), short, "{n}");
        }
    }

    #[test]
    fn messages_agree_in_number() {
        assert_eq!(Metric::Repositories.message(1), "1 repository");
        assert_eq!(Metric::Repositories.message(0), "0 repositories");
        assert_eq!(Metric::Repositories.message(1_234), "1.2k repositories");
        assert_eq!(Metric::Organizations.message(1), "1 organization");
        assert_eq!(Metric::Organizations.message(42), "42 organizations");
        assert_eq!(Metric::Stars.message(3_400_000), "3.4M");
    }

    #[test]
    fn the_endpoint_json_is_shields_schema() {
        let json: serde_json::Value = serde_json::from_slice(
            &Badge::count(Metric::Repositories, 1_200, None).endpoint_json(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"schemaVersion": 1, "label": "used by",
                "message": "1.2k repositories", "color": "blue"})
        );
        let json: serde_json::Value =
            serde_json::from_slice(&Badge::unknown(None, None).endpoint_json()).unwrap();
        assert_eq!(json["isError"], true);
        assert_eq!(json["message"], "unknown");
    }
}
