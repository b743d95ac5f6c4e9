//! Exports of the dependents and organizations listings: `format=csv|jsonl|markdown` (or
//! `Accept`), the whole list streamed, cut at the tier's bound and saying so.

use wump_core::Ecosystem;

use crate::{
    TestApp,
    seed::{Edge, Repo, Seed, full_names, standard},
};

/// A raw answer: status, headers, body text.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> Raw {
    let mut request = app.client.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// The records of a CSV export (header row first).
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn jsonl_items(body: &str) -> Vec<serde_json::Value> {
    assert!(body.is_empty() || body.ends_with('\n'), "{body:?}");
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The standard fixture with a batch of two rows, so every export takes several queries.
async fn app_with(configure: impl FnOnce(&mut wump_core::Settings)) -> TestApp {
    let app = TestApp::spawn_with(|settings| {
        settings.api.exports.batch_rows = 2;
        configure(settings);
    })
    .await;
    standard(&app).await;
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_holds_what_walking_the_json_pages_gives() {
    let app = app_with(|_| {}).await;
    let base = "/api/v1/packages/npm/left-pad";
    for filters in [
        "",
        "include_archived=true&include_forks=true",
        "kind=runtime&min_stars=5&sort=pushed_at",
        "organization=acme",
        "organization=nobody",
    ] {
        let walked = app
            .walk(&format!("{base}/dependents?{filters}&per_page=2"))
            .await;
        let path = |format: &str| format!("{base}/dependents?{filters}&format={format}");

        let jsonl = get(&app, &path("jsonl"), None).await;
        assert_eq!(jsonl.status, 200, "{}", jsonl.body);
        assert_eq!(jsonl.header("content-type"), Some("application/jsonl"));
        assert_eq!(jsonl_items(&jsonl.body), walked, "{filters}");

        let csv = get(&app, &path("csv"), None).await;
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        let rows = csv_rows(&csv.body);
        assert_eq!(
            rows[0],
            [
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
                "organization"
            ]
        );
        assert!(csv.body.contains("\r\n"), "RFC 4180 line ends");
        let expected: Vec<Vec<String>> = walked
            .iter()
            .map(|item| {
                let repo = &item["repository"];
                let usage = &item["usage"];
                vec![
                    repo["full_name"].as_str().unwrap().to_owned(),
                    format!("https://github.com/{}", repo["full_name"].as_str().unwrap()),
                    repo["stars"].to_string(),
                    repo["pushed_at"].as_str().unwrap_or("").to_owned(),
                    repo["archived"].to_string(),
                    repo["fork"].to_string(),
                    usage["kind"].as_str().unwrap().to_owned(),
                    usage["kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(" "),
                    usage["direct"]
                        .as_bool()
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    usage["requirement"].as_str().unwrap().to_owned(),
                    item["organization"].as_str().unwrap().to_owned(),
                ]
            })
            .collect();
        assert_eq!(rows[1..], expected[..], "{filters}");

        let markdown = get(&app, &path("markdown"), None).await;
        assert_eq!(
            markdown.header("content-type"),
            Some("text/markdown; charset=utf-8")
        );
        assert!(
            markdown
                .body
                .starts_with("# Dependents of the npm package ` left-pad `"),
            "{}",
            markdown.body
        );
        assert!(markdown.body.contains("| Repository | Stars |"));
        let linked: Vec<String> = markdown
            .body
            .lines()
            .filter_map(|l| l.strip_prefix("| ["))
            .map(|l| l.split(']').next().unwrap().to_owned())
            .collect();
        assert_eq!(linked, full_names(&walked), "{filters}");
        assert_eq!(markdown.header("wump-export-truncated"), Some("false"));
    }

    for filters in ["", "sort=repositories", "has_funding=true"] {
        let walked = app
            .walk(&format!("{base}/organizations?{filters}&per_page=1"))
            .await;
        let jsonl = get(
            &app,
            &format!("{base}/organizations?{filters}&format=jsonl"),
            None,
        )
        .await;
        assert_eq!(jsonl_items(&jsonl.body), walked, "{filters}");
        let csv = get(
            &app,
            &format!("{base}/organizations?{filters}&format=csv"),
            None,
        )
        .await;
        let rows = csv_rows(&csv.body);
        assert_eq!(
            rows[0],
            [
                "login",
                "name",
                "kind",
                "repositories",
                "stars",
                "sponsors_url",
                "funding_links",
                "website"
            ]
        );
        let logins: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        let walked_logins: Vec<&str> = walked
            .iter()
            .map(|i| i["login"].as_str().unwrap())
            .collect();
        assert_eq!(logins, walked_logins, "{filters}");
        for (row, item) in rows[1..].iter().zip(&walked) {
            assert_eq!(row[3], item["repositories_count"].to_string());
            assert_eq!(row[4], item["stars_sum"].to_string());
            assert_eq!(
                row[5],
                item["funding"]["sponsors_listing_url"]
                    .as_str()
                    .unwrap_or("")
            );
        }
        let markdown = get(
            &app,
            &format!("{base}/organizations?{filters}&format=markdown"),
            None,
        )
        .await;
        assert!(
            markdown
                .body
                .contains("| Organization | Repositories | Stars | Funding |")
        );
        assert_eq!(
            markdown
                .body
                .lines()
                .filter(|l| l.starts_with("| ["))
                .count(),
            walked.len()
        );
    }
    let markdown = get(&app, &format!("{base}/organizations?format=markdown"), None).await;
    assert!(
        markdown.body.contains(
            "| [acme](https://github.com/acme) | 2 | 150 | [sponsors](https://github.com/sponsors/acme) [github](https://github.com/sponsors/acme) |"
        ),
        "{}",
        markdown.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tier_bound_cuts_an_export_and_says_so_before_the_first_byte() {
    let app = app_with(|settings| settings.api.exports.max_rows.anonymous = 3).await;
    let base = "/api/v1/packages/npm/left-pad";

    // Five counted dependents: the stored count says it is cut.
    let cut = get(&app, &format!("{base}/dependents?format=jsonl"), None).await;
    assert_eq!(cut.status, 200);
    assert_eq!(cut.header("wump-export-truncated"), Some("true"));
    assert_eq!(cut.header("wump-export-rows"), Some("3"));
    assert_eq!(cut.header("wump-export-limit"), Some("3"));
    let walked = app.walk(&format!("{base}/dependents?per_page=3")).await;
    assert_eq!(jsonl_items(&cut.body), walked[..3]);

    // Archived and forks too: the count cannot bound it, one probe row does.
    let cut = get(
        &app,
        &format!("{base}/dependents?format=csv&include_archived=true"),
        None,
    )
    .await;
    assert_eq!(cut.header("wump-export-truncated"), Some("true"));
    assert_eq!(cut.header("wump-export-rows"), Some("3"));
    assert_eq!(csv_rows(&cut.body).len(), 1 + 3);

    // Three of at most five have 50 stars or more: the probe says it is whole.
    let whole = get(
        &app,
        &format!("{base}/dependents?format=csv&min_stars=50"),
        None,
    )
    .await;
    assert_eq!(whole.header("wump-export-truncated"), Some("false"));
    assert_eq!(whole.header("wump-export-rows"), None, "not known up front");
    assert_eq!(csv_rows(&whole.body).len(), 1 + 3);

    // Markdown closes with a line saying so.
    let cut = get(&app, &format!("{base}/dependents?format=markdown"), None).await;
    assert!(
        cut.body
            .trim_end()
            .ends_with("_Only the first 3 repositories: the export limit of this caller's tier._"),
        "{}",
        cut.body
    );
    let whole = get(&app, &format!("{base}/organizations?format=markdown"), None).await;
    assert_eq!(whole.header("wump-export-truncated"), Some("false"));
    assert_eq!(whole.header("wump-export-rows"), Some("3"));
    assert!(!whole.body.contains("_Only the first"));
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_asks_for_an_export_and_format_wins() {
    let app = app_with(|_| {}).await;
    let path = "/api/v1/packages/npm/left-pad/dependents";
    for (accept, content_type) in [
        ("text/csv", "text/csv; charset=utf-8"),
        ("application/jsonl", "application/jsonl"),
        ("application/x-ndjson", "application/jsonl"),
        ("text/markdown", "text/markdown; charset=utf-8"),
        (
            "application/json;q=0.5, text/csv",
            "text/csv; charset=utf-8",
        ),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/html, */*;q=0.8", "application/json"),
    ] {
        let answer = get(&app, path, Some(accept)).await;
        assert_eq!(answer.status, 200, "{accept}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            Some(content_type),
            "{accept}"
        );
        assert_eq!(answer.header("vary"), Some("Accept"), "{accept}");
    }
    let answer = get(&app, &format!("{path}?format=json"), Some("text/csv")).await;
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let answer = get(
        &app,
        "/api/v1/packages/npm/left-pad/organizations",
        Some("text/csv"),
    )
    .await;
    assert_eq!(
        answer.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        answer.header("content-disposition"),
        Some("attachment; filename=\"npm-left-pad-organizations.csv\"")
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_export_requests_are_problems_before_the_first_byte() {
    let app = app_with(|_| {}).await;
    let base = "/api/v1/packages/npm/left-pad";
    for (query, parameter) in [
        ("dependents?format=csv&per_page=10", "per_page"),
        ("dependents?format=jsonl&cursor=abc", "cursor"),
        ("organizations?format=markdown&per_page=10", "per_page"),
        ("organizations?format=csv&cursor=abc", "cursor"),
        ("dependents?format=xml", "format"),
        ("organizations?format=", "format"),
        ("dependents?format=csv&min_stars=-1", "min_stars"),
    ] {
        app.get_json(&format!("{base}/{query}"))
            .await
            .assert_problem(400, Some(parameter));
    }
    // Accept asking for an export with paging parameters: the same 400.
    let answer = get(
        &app,
        &format!("{base}/dependents?per_page=10"),
        Some("text/csv"),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("\"parameter\":\"per_page\""),
        "{}",
        answer.body
    );
    for path in [
        "/api/v1/packages/npm/no-such-package/dependents?format=csv",
        "/api/v1/packages/npm/no-such-package/organizations?format=jsonl",
    ] {
        app.get_json(path).await.assert_problem(404, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_cells_cannot_run_as_spreadsheet_formulas() {
    let app = app_with(|_| {}).await;
    let mut seed = Seed::new(&app).await;
    let package = seed.package(Ecosystem::Npm, "@scope/formula").await;
    let evil = seed.organization("@evil").await;
    let repo = seed
        .repository(evil, "=cmd|' /C calc'!A0", Repo::stars(5))
        .await;
    seed.depends(repo, &[Edge::runtime(package)]).await;
    let other = seed.organization("-minus").await;
    let repo = seed.repository(other, "+plus/x", Repo::stars(4)).await;
    seed.depends(repo, &[Edge::runtime(package)]).await;

    let csv = get(
        &app,
        "/api/v1/packages/npm/%40scope%2Fformula/dependents?format=csv",
        None,
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"npm-_scope_formula-dependents.csv\"")
    );
    let rows = csv_rows(&csv.body);
    assert_eq!(rows[1][0], "'=cmd|' /C calc'!A0");
    assert_eq!(rows[1][10], "'@evil");
    assert_eq!(rows[2][0], "'+plus/x");
    assert_eq!(rows[2][10], "'-minus");
    let csv = get(
        &app,
        "/api/v1/packages/npm/%40scope%2Fformula/organizations?format=csv",
        None,
    )
    .await;
    let logins: Vec<String> = csv_rows(&csv.body)[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(logins, ["'@evil", "'-minus"]);
    // The same names in JSON Lines are data, unchanged.
    let jsonl = get(
        &app,
        "/api/v1/packages/npm/%40scope%2Fformula/dependents?format=jsonl",
        None,
    )
    .await;
    assert_eq!(jsonl_items(&jsonl.body)[0]["organization"], "@evil");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_in_the_middle_ends_the_stream_incomplete() {
    use diesel_async::RunQueryDsl;

    let app = app_with(|_| {}).await;
    // The least-starred counted dependent (initech/old, 3 stars) gets a row the API cannot
    // read: with batches of two, the third batch fails after four rows went out.
    let mut conn = app.db.connection().await;
    diesel::sql_query("ALTER TABLE dependencies DROP CONSTRAINT dependencies_kind_check")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(
        "UPDATE dependencies SET kind = 'not-a-kind' WHERE repository_id =
            (SELECT id FROM repositories WHERE full_name = 'initech/old')",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let mut response = app
        .get("/api/v1/packages/npm/left-pad/dependents?format=jsonl")
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["wump-export-truncated"]
            .to_str()
            .unwrap(),
        "false"
    );
    let mut body = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break "complete",
            Err(_) => break "incomplete",
        }
    };
    assert_eq!(ended, "incomplete", "{}", String::from_utf8_lossy(&body));
    let names: Vec<String> = jsonl_items(std::str::from_utf8(&body).unwrap())
        .iter()
        .map(|i| i["repository"]["full_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["acme/app", "initech/api", "acme/site", "globex/tool"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_format_and_the_export_types() {
    let app = TestApp::spawn().await;
    let document = app.get_json("/api/v1/openapi.json").await.body;
    for path in [
        "/api/v1/packages/{ecosystem}/{name}/dependents",
        "/api/v1/packages/{ecosystem}/{name}/organizations",
    ] {
        let operation = &document["paths"][path]["get"];
        let format = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "format")
            .unwrap_or_else(|| panic!("{path} has no format: {operation:#}"));
        assert_eq!(format["in"], "query");
        let schema = serde_json::to_string(&format["schema"]).unwrap();
        for choice in ["json", "csv", "jsonl", "markdown"] {
            assert!(
                schema.contains(&format!("\"{choice}\"")),
                "{path}: {schema}"
            );
        }
        let content = &operation["responses"]["200"]["content"];
        for media in [
            "application/json",
            "text/csv",
            "application/jsonl",
            "text/markdown",
        ] {
            assert!(content.get(media).is_some(), "{path}: {content:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_down_exports_and_uncached_badges_are_503_problems() {
    use secrecy::ExposeSecret;
    use wump_db::{
        test_proxy::{Mode, Proxy},
        test_support::{TestDatabase, TestValkey},
    };

    use crate::outages::{address_of, via};

    let db = TestDatabase::new().await;
    let valkey = TestValkey::new().await;
    let db_url = db.settings().url.expose_secret().to_owned();
    let proxy = Proxy::start(address_of(&db_url)).await.unwrap();
    let mut settings = crate::test_settings(&db, &valkey);
    settings.database.url = via(&db_url, proxy.address());
    settings.database.pool_wait_timeout_ms = 1_000;
    settings.database.connect_timeout_ms = 1_000;
    let api = crate::start(settings, &valkey);
    crate::seed::standard_into(&mut Seed::connect(&db_url).await).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("http://{api}{path}")).send();

    let cached = get("/badges/npm/left-pad/repositories.svg").await.unwrap();
    assert_eq!(cached.status().as_u16(), 200);

    proxy.set(Mode::Cut);
    for path in [
        "/api/v1/packages/npm/left-pad/dependents?format=csv",
        "/api/v1/packages/npm/left-pad/organizations?format=markdown",
        "/badges/npm/left-pad/organizations.svg",
    ] {
        let answer = get(path).await.unwrap();
        assert_eq!(answer.status().as_u16(), 503, "{path}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(answer.headers().contains_key("retry-after"), "{path}");
    }
    // A badge the cache holds is still drawn.
    let cached = get("/badges/npm/left-pad/repositories.svg").await.unwrap();
    assert_eq!(cached.status().as_u16(), 200);
    assert!(cached.text().await.unwrap().contains("5 repositories"));
    proxy.set(Mode::Pass);
}

/// How far ahead of now (µs) the anonymous local caller's TAT is in Valkey.
async fn tat_ahead(app: &TestApp) -> i64 {
    use fred::interfaces::KeysInterface;
    let key = app.state.keys.rate_limit("ip:127.0.0.1");
    let tat: Option<i64> = app.valkey.pool().next().get(key).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    tat.map_or(0, |tat| tat - now)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_costs_one_request_per_rows_per_request_rows_sent() {
    for (rows_per_request, spent) in [(2, 3), (0, 1)] {
        let app = app_with(|s| {
            s.api.rate_limits.anonymous = wump_core::settings::TierLimit {
                per_minute: 1,
                burst: 10,
            };
            s.api.exports.rows_per_request = rows_per_request;
        })
        .await;
        let export = get(
            &app,
            "/api/v1/packages/npm/left-pad/dependents?format=csv",
            None,
        )
        .await;
        assert_eq!(export.status, 200);
        assert_eq!(
            csv_rows(&export.body).len(),
            1 + 5,
            "a header and five repositories"
        );
        // Charged once the stream has ended: wait until Valkey shows it.
        let minute: i64 = 60_000_000;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while tat_ahead(&app).await < (spent - 1) * minute + minute / 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "no charge of {spent} requests"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Five rows at two per request cost three requests; unlimited rows, one.
        let next = get(&app, "/api/v1/stats", None).await;
        assert_eq!(
            next.header("ratelimit-remaining"),
            Some(&*(10 - spent - 1).to_string()),
            "rows_per_request = {rows_per_request}"
        );
    }
}
