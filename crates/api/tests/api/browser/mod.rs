//! A real headless Chromium, driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed on demand by `scripts/services.sh`). Each test starts its
//! own chromedriver on a free port with a fresh profile and stops it when done.
//!
//! Without the browser the tests skip with one line, except in CI (`CI` set), where a
//! missing browser is a failure: it means the setup forgot to install it.

mod log;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The vendored axe-core (`crates/api/tests/vendor/axe-core`).
const AXE: &str = include_str!("../../vendor/axe-core/axe.min.js");

/// Desktop and phone viewports (CSS pixels) every page is looked at in.
pub(crate) const VIEWPORTS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 390, 844)];

/// A browser session and the chromedriver behind it.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn binary(variable: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (after saying so) when they are
    /// not installed and this is not CI.
    pub(crate) async fn start() -> Option<Self> {
        let chromium = binary("WUMP_CHROMIUM", "/usr/bin/chromium");
        let driver = binary("WUMP_CHROMEDRIVER", "/usr/bin/chromedriver");
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium or chromedriver missing in CI: scripts/services.sh browser installs them"
            );
            eprintln!(
                "skipping a browser test: no /usr/bin/chromium and /usr/bin/chromedriver \
                 (`scripts/services.sh browser` installs them)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // As root in a sandbox with no network: no sandbox of its own, no calls home.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connected = ClientBuilder::rustls()
                .unwrap()
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match connected {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Opens `url` and waits for the document to load.
    pub(crate) async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Clicks the element matching `css` and waits for the page it leads to.
    pub(crate) async fn click_through(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The old document's root goes stale once the new document replaced it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "clicking {css} led nowhere");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        loop {
            let state = self
                .client
                .execute("return document.readyState;", Vec::new())
                .await
                .unwrap();
            if state == "complete" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the page after {css} never loaded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The browser console's warnings and errors since the last call.
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        log::severe(&self.client).await
    }

    /// The text of every element matching `css`.
    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap().trim().to_owned());
        }
        texts
    }

    /// The path and query the browser is at.
    pub(crate) async fn location(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// axe-core's serious and critical violations on the current page, as `id: help (n)`.
    pub(crate) async fn accessibility_violations(&self) -> Vec<String> {
        // WebDriver's scripts are not subject to the page's CSP, which allows none.
        self.client.execute(AXE, Vec::new()).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                        targets: v.nodes.map(n => n.target.join(' ')).slice(0, 3) }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: 0, targets: [] }]));",
                Vec::new(),
            )
            .await
            .unwrap();
        result
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{}: {} ({} nodes: {})",
                    v["id"], v["help"], v["nodes"], v["targets"]
                )
            })
            .collect()
    }

    /// Saves the whole page at `width` pixels wide as `<dir>/<name>-<label>.png`.
    pub(crate) async fn screenshot(
        &self,
        dir: &Path,
        name: &str,
        label: &str,
        width: u32,
        height: u32,
    ) {
        self.client.set_window_size(width, height).await.unwrap();
        // The window grows to the page's height so the picture holds all of it.
        let full: Value = self
            .client
            .execute("return document.documentElement.scrollHeight;", Vec::new())
            .await
            .unwrap();
        let full = full
            .as_u64()
            .unwrap_or(u64::from(height))
            .clamp(u64::from(height), 6_000) as u32;
        self.client.set_window_size(width, full).await.unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
        self.client.set_window_size(width, height).await.unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends with its driver; Chromium goes with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the tests write their screenshots: `target/tmp/screenshots`.
pub(crate) fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}
