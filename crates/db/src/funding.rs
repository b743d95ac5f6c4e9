//! Funding lists as `packages.funding` and `organizations.funding` store them: JSON arrays
//! of `{platform, url}` objects.

use wump_core::FundingLink;

/// Reads a stored JSON list of funding links, skipping entries that are not links.
pub fn funding_links(value: &serde_json::Value) -> Vec<FundingLink> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| serde_json::from_value(link.clone()).ok())
        .collect()
}

/// Encodes funding links for storage.
pub fn funding_json(links: &[FundingLink]) -> serde_json::Value {
    serde_json::Value::Array(
        links
            .iter()
            .map(|l| serde_json::json!({ "platform": l.platform, "url": l.url }))
            .collect(),
    )
}
