//! One exported row in each form: the listing's own JSON item (JSON Lines), a flat CSV
//! record, a Markdown table row.

use std::borrow::Cow;

use serde::Serialize;

use super::markdown;
use crate::views::{DependentView, OrganizationUsageView};

/// A listing item an export can write.
pub(crate) trait ExportRow: Serialize + Send + 'static {
    /// The CSV header row.
    const CSV_HEADER: &'static [&'static str];
    /// The Markdown table's header and alignment rows.
    const MARKDOWN_HEADER: &'static str;
    /// Its CSV cells (not yet escaped against formulas).
    fn csv_record(&self) -> Vec<String>;
    /// Its Markdown table row, with a newline.
    fn markdown_row(&self) -> String;
}

/// The web address of `path` on `host` (`github.com/acme/app`).
fn url(host: &str, path: &str) -> String {
    format!("https://{host}/{path}")
}

/// A cell a spreadsheet would not run: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` (OWASP's advice for CSV exports).
pub(crate) fn safe_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl ExportRow for DependentView {
    const CSV_HEADER: &'static [&'static str] = &[
        "repository",
        "url",
        "stars",
        "pushed_at",
        "archived",
        "fork",
        "kind",
        "kinds",
        "direct",
        "requirement",
        "organization",
    ];
    const MARKDOWN_HEADER: &'static str = "| Repository | Stars |\n| --- | ---: |\n";

    fn csv_record(&self) -> Vec<String> {
        let r = &self.repository;
        vec![
            r.full_name.clone(),
            url(&r.host, &r.full_name),
            r.stars.to_string(),
            text(
                r.pushed_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ),
            r.archived.to_string(),
            r.fork.to_string(),
            self.usage.kind.clone(),
            self.usage.kinds.join(" "),
            text(self.usage.direct),
            self.usage.requirement.clone(),
            self.organization.clone(),
        ]
    }

    fn markdown_row(&self) -> String {
        let r = &self.repository;
        format!(
            "| {} | {} |\n",
            markdown::link(&r.full_name, &url(&r.host, &r.full_name)),
            r.stars
        )
    }
}

impl ExportRow for OrganizationUsageView {
    const CSV_HEADER: &'static [&'static str] = &[
        "login",
        "name",
        "kind",
        "repositories",
        "stars",
        "sponsors_url",
        "funding_links",
        "website",
    ];
    const MARKDOWN_HEADER: &'static str =
        "| Organization | Repositories | Stars | Funding |\n| --- | ---: | ---: | --- |\n";

    fn csv_record(&self) -> Vec<String> {
        let links: Vec<&str> = self.funding.links.iter().map(|l| l.url.as_str()).collect();
        vec![
            self.login.clone(),
            text(self.name.as_deref()),
            self.kind.clone(),
            self.repositories_count.to_string(),
            self.stars_sum.to_string(),
            text(self.funding.sponsors_listing_url.as_deref()),
            links.join(" "),
            text(self.funding.website_url.as_deref()),
        ]
    }

    fn markdown_row(&self) -> String {
        let funding = self
            .funding
            .sponsors_listing_url
            .iter()
            .map(|url| ("sponsors", url.as_str()))
            .chain(
                self.funding
                    .links
                    .iter()
                    .map(|l| (l.platform.as_str(), l.url.as_str())),
            )
            .map(|(name, url)| markdown::link(name, url))
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "| {} | {} | {} | {} |\n",
            markdown::link(&self.login, &url(&self.host, &self.login)),
            self.repositories_count,
            self.stars_sum,
            funding
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(safe_cell(cell), format!("'{cell}"));
        }
        for cell in ["acme/app", "", "1", "a=b"] {
            assert_eq!(safe_cell(cell), cell);
        }
    }
}
