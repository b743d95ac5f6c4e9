//! The browser console, through chromedriver's log endpoint (`POST
//! /session/{id}/se/log`), which fantoccini has no method for.

use fantoccini::{Client, wd::WebDriverCompatibleCommand};

#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// The console's `SEVERE` (error) and `WARNING` entries since the last read.
pub(super) async fn severe(client: &Client) -> Vec<String> {
    let entries = client.issue_cmd(BrowserLog).await.unwrap();
    entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}
