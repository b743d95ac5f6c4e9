//! README badges: `/badges/{ecosystem}/{name}/{metric}.svg` and `.json`, read from the
//! stored counts through the response cache, outside `/api/v1` (no key, no rate limit).

use quick_xml::{Reader, events::Event};
use wump_api::cache::Scope;
use wump_core::{Ecosystem, settings::TierLimit};

use crate::{
    TestApp, bump,
    seed::{Edge, Repo, Seed, standard},
};

/// What a badge SVG shows: its width, title, aria-label and each drawn text (the visible
/// ones, not their shadows) with its centre `x` and `textLength`, in tenths of a pixel.
#[derive(Debug)]
struct Svg {
    width: u32,
    title: String,
    aria_label: String,
    texts: Vec<(String, u32, u32)>,
    fills: Vec<String>,
}

fn parse_svg(body: &str) -> Svg {
    let mut reader = Reader::from_str(body);
    let mut svg = Svg {
        width: 0,
        title: String::new(),
        aria_label: String::new(),
        texts: Vec::new(),
        fills: Vec::new(),
    };
    // The element whose text is being read: "title", or a visible "text" (x, textLength).
    let mut inside: Option<(String, u32, u32)> = None;
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let attr = |key: &str| {
                    e.attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == key)
                        .map(|a| {
                            let raw = a.value.to_string();
                            quick_xml::escape::unescape(&raw).unwrap().into_owned()
                        })
                };
                match name.as_str() {
                    "svg" => {
                        svg.width = attr("width").unwrap().parse().unwrap();
                        svg.aria_label = attr("aria-label").unwrap();
                        assert_eq!(attr("role").as_deref(), Some("img"));
                    }
                    "rect" => svg.fills.extend(attr("fill")),
                    "title" => inside = Some(("title".into(), 0, 0)),
                    "text" if attr("aria-hidden").is_none() => {
                        let number = |key| attr(key).unwrap().parse().unwrap();
                        inside = Some(("text".into(), number("x"), number("textLength")));
                    }
                    "g" if attr("font-family").is_some() => assert_eq!(
                        attr("font-family").as_deref(),
                        Some("Verdana,Geneva,DejaVu Sans,sans-serif")
                    ),
                    _ => {}
                }
            }
            Event::Text(t) if inside.is_some() => {
                text.push_str(&t);
            }
            Event::GeneralRef(r) if inside.is_some() => {
                let name: &str = &r;
                text.push_str(quick_xml::escape::resolve_predefined_entity(name).unwrap());
            }
            Event::End(_) => {
                if let Some((what, x, length)) = inside.take() {
                    let content = std::mem::take(&mut text);
                    if what == "title" {
                        svg.title = content;
                    } else {
                        svg.texts.push((content, x, length));
                    }
                }
            }
            Event::Eof => return svg,
            _ => {}
        }
    }
}

/// `GET path`: status, headers, body.
async fn get(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn left_pad() -> Scope {
    Scope::Package {
        ecosystem: Ecosystem::Npm,
        normalized_name: "left-pad".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_badge_shows_the_stored_count_with_widths_from_the_font_metrics() {
    let app = TestApp::spawn().await;
    standard(&app).await;

    let (status, headers, body) = get(&app, "/badges/npm/left-pad/repositories.svg").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "content-type"), Some("image/svg+xml"));
    let svg = parse_svg(&body);
    // Five counted dependents (the archived one and the fork are not counted).
    assert_eq!(svg.title, "used by: 5 repositories");
    assert_eq!(svg.aria_label, "used by: 5 repositories");
    // DejaVu Sans at 11px: "used by" is 8088 of 2048 units per em = 43.4 px → 45 (odd);
    // "5 repositories" 14039 units = 75.4 px → 77; each box 5 px padding either side.
    assert_eq!(svg.width, (45 + 10) + (77 + 10));
    assert_eq!(
        svg.texts,
        vec![
            ("used by".to_owned(), 275, 450),
            ("5 repositories".to_owned(), 550 + 435, 770),
        ]
    );
    assert!(svg.fills.contains(&"#007ec6".to_owned()), "{:?}", svg.fills);

    let (_, _, body) = get(&app, "/badges/npm/left-pad/organizations.svg").await;
    assert_eq!(parse_svg(&body).title, "used by: 3 organizations");
    // The stars of the five counted dependents: 100 + 50 + 100 + 3 + 10.
    let (_, _, body) = get(&app, "/badges/npm/left-pad/stars.svg").await;
    let svg = parse_svg(&body);
    assert_eq!(svg.title, "dependents' stars: 263");
    // "dependents' stars" 18394 units = 98.8 px → 99; "263" 3909 units = 21.0 px → 21.
    assert_eq!(svg.width, (99 + 10) + (21 + 10));

    // A name with `/`, percent-encoded as the JSON API takes it; one dependent: singular.
    let (status, _, body) = get(&app, "/badges/npm/%40scope%2Fpkg/repositories.svg").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse_svg(&body).title, "used by: 1 repository");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_twin_is_shields_endpoint_schema() {
    let app = TestApp::spawn().await;
    standard(&app).await;
    let (status, headers, body) = get(&app, "/badges/npm/left-pad/repositories.json").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"schemaVersion": 1, "label": "used by",
            "message": "5 repositories", "color": "blue"})
    );
    let (_, _, body) = get(&app, "/badges/npm/left-pad/stars.json?label=my%20users").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (json["label"].as_str(), json["message"].as_str()),
        (Some("my users"), Some("263"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn style_and_label_change_the_drawing_and_bad_ones_are_400_problems() {
    let app = TestApp::spawn().await;
    standard(&app).await;
    let (status, _, flat) = get(&app, "/badges/npm/left-pad/repositories.svg?style=flat").await;
    assert_eq!(status, 200);
    assert!(flat.contains("rx=\"3\""), "flat has rounded corners");
    let (status, _, square) = get(
        &app,
        "/badges/npm/left-pad/repositories.svg?style=flat-square",
    )
    .await;
    assert_eq!(status, 200);
    assert!(!square.contains("rx=\"3\"") && !square.contains("linearGradient"));

    let (status, _, body) = get(
        &app,
        "/badges/npm/left-pad/organizations.svg?label=%3Cb%3E%20%26%20co",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("&lt;b&gt; &amp; co"), "escaped: {body}");
    assert_eq!(parse_svg(&body).title, "<b> & co: 3 organizations");

    for (query, parameter) in [
        ("style=plastic", "style"),
        ("style=", "style"),
        (&*format!("label={}", "x".repeat(65)), "label"),
        ("label=", "label"),
        ("colour=red", "colour"),
    ] {
        let answer = app
            .get_json(&format!("/badges/npm/left-pad/repositories.svg?{query}"))
            .await;
        answer.assert_problem(400, Some(parameter));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_packages_metrics_and_ecosystems_get_a_grey_404_badge() {
    let app = TestApp::spawn().await;
    standard(&app).await;
    for path in [
        "/badges/npm/no-such-package/repositories.svg",
        "/badges/npm/left-pad/downloads.svg",
        "/badges/npmx/left-pad/repositories.svg",
        "/badges/npm/left-pad/repositories",
    ] {
        let (status, headers, body) = get(&app, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("image/svg+xml"),
            "{path}"
        );
        let svg = parse_svg(&body);
        assert_eq!(svg.title, "used by: unknown", "{path}");
        assert!(
            svg.fills.contains(&"#9f9f9f".to_owned()),
            "{path}: {:?}",
            svg.fills
        );
    }
    let (status, _, body) = get(&app, "/badges/npm/no-such-package/stars.json").await;
    assert_eq!(status, 404);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["message"], "unknown");
    assert_eq!(json["color"], "lightgrey");
    assert_eq!(json["isError"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn badges_are_cached_answer_304_and_show_a_new_count_after_a_bump() {
    let app = TestApp::spawn().await;
    let ids = standard(&app).await;
    let path = "/badges/npm/left-pad/repositories.svg";
    let (status, headers, body) = get(&app, path).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-cache"), Some("MISS"));
    let etag = header(&headers, "etag").unwrap().to_owned();
    let cache_control = header(&headers, "cache-control").unwrap();
    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
    assert_eq!(parse_svg(&body).title, "used by: 5 repositories");

    let response = app
        .client
        .get(app.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 304);
    assert_eq!(header(response.headers(), "x-cache"), Some("HIT"));

    // The worker writes a sixth dependent; until it bumps the package, the cached count.
    let mut seed = Seed::new(&app).await;
    let org = seed.organization("newco").await;
    let repo = seed.repository(org, "newco/app", Repo::stars(1)).await;
    seed.depends(repo, &[Edge::runtime(ids.left_pad)]).await;
    let (_, headers, body) = get(&app, path).await;
    assert_eq!(header(&headers, "x-cache"), Some("HIT"));
    assert_eq!(parse_svg(&body).title, "used by: 5 repositories");

    bump(&app.state, &app.valkey, &left_pad()).await;
    let (status, headers, body) = get(&app, path).await;
    assert_eq!(status, 200);
    assert_eq!(parse_svg(&body).title, "used by: 6 repositories");
    assert_ne!(header(&headers, "etag"), Some(etag.as_str()));
    let (_, _, body) = get(&app, "/badges/npm/left-pad/organizations.json").await;
    assert!(body.contains("\"4 organizations\""), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn badges_need_no_key_and_are_not_rate_limited_per_caller() {
    let app = TestApp::spawn_with(|settings| {
        settings.api.rate_limits.anonymous = TierLimit {
            per_minute: 1,
            burst: 1,
        };
    })
    .await;
    standard(&app).await;
    // One image proxy address fetching many READMEs' badges.
    for _ in 0..5 {
        let (status, headers, _) = get(&app, "/badges/npm/left-pad/repositories.svg").await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "ratelimit-limit"), None);
    }
    // The JSON API from the same address is limited.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            app.get("/api/v1/packages/npm/left-pad")
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}
