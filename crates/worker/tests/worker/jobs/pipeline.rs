//! scrape → parse → enrich over the fixture tree, re-runs, edits and deletions.

use std::collections::BTreeMap;

use wump_core::{DependencyKind, Ecosystem, jobs::JobType};
use wump_db::{
    AsyncPgConnection,
    funding::funding_links,
    tables::{organizations, packages},
    test_support::dump_tables,
    views::{self, DependentsQuery, OrganizationsSort},
};
use wump_worker::jobs::{FollowUpJob, Job};

use super::{Harness, write};

/// `(full name, stars)` of the dependents of a package, most-starred first.
pub(crate) async fn dependents(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> Vec<(String, i32)> {
    let Some(package) = packages::by_name(conn, ecosystem, name).await.unwrap() else {
        return Vec::new();
    };
    let query = DependentsQuery {
        limit: 100,
        ..DependentsQuery::default()
    };
    views::dependents(conn, package.id, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.repository.full_name, d.edge.repo_stars))
        .collect()
}

/// `(login, repositories, stars)` of the organizations using a package, by stars.
async fn users(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> Vec<(String, i32, i64)> {
    let package = packages::by_name(conn, ecosystem, name)
        .await
        .unwrap()
        .unwrap();
    views::organizations_using(
        conn,
        package.id,
        OrganizationsSort::Stars,
        &Default::default(),
        None,
        100,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|u| (u.organization.login, u.repositories_count, u.stars_sum))
    .collect()
}

/// `(dependents_count, organizations_count)` stored on a package.
pub(crate) async fn counts(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
) -> (i32, i32) {
    let p = packages::by_name(conn, ecosystem, name)
        .await
        .unwrap()
        .unwrap();
    (p.dependents_count, p.organizations_count)
}

pub(crate) fn s(name: &str, stars: i32) -> (String, i32) {
    (name.to_owned(), stars)
}

fn u(login: &str, repositories: i32, stars: i64) -> (String, i32, i64) {
    (login.to_owned(), repositories, stars)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_stores_exactly_what_the_fixture_implies() {
    let h = Harness::new().await;
    let runs = h.scrape_all().await;

    // One scrape, a parse per repository, an enrichment per organization.
    let count = |t: JobType| runs.iter().filter(|(j, _)| j.job_type() == t).count();
    assert_eq!(count(JobType::Scrape), 1);
    assert_eq!(count(JobType::Parse), 7);
    assert_eq!(count(JobType::Enrich), 3);
    assert_eq!(runs[0].1.records_processed, 7);

    let mut conn = h.conn().await;
    use Ecosystem::{Cargo, Npm, Pypi};
    assert_eq!(
        dependents(&mut conn, Npm, "lodash").await,
        vec![s("acme/web", 100), s("globex/site", 30), s("acme/tools", 5)]
    );
    assert_eq!(
        users(&mut conn, Npm, "lodash").await,
        vec![u("acme", 2, 105), u("globex", 1, 30)]
    );
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (3, 2));
    assert_eq!(
        dependents(&mut conn, Npm, "react").await,
        vec![s("acme/web", 100), s("globex/site", 30)]
    );
    assert_eq!(
        dependents(&mut conn, Npm, "jest").await,
        vec![s("acme/web", 100)]
    );
    assert_eq!(
        dependents(&mut conn, Cargo, "serde").await,
        vec![s("acme/api", 50), s("initech/lib", 10)]
    );
    assert_eq!(
        users(&mut conn, Cargo, "serde").await,
        vec![u("acme", 1, 50), u("initech", 1, 10)]
    );
    assert_eq!(
        dependents(&mut conn, Pypi, "requests").await,
        vec![s("globex/ml", 200), s("acme/tools", 5)]
    );
    assert_eq!(
        dependents(&mut conn, Pypi, "django").await,
        vec![s("acme/tools", 5)]
    );
    assert_eq!(
        dependents(&mut conn, Pypi, "flask").await,
        vec![s("globex/broken", 1)]
    );
    // Installed code and local path dependencies are no dependencies.
    for (ecosystem, name) in [(Npm, "evil"), (Npm, "left-pad"), (Cargo, "mine")] {
        assert!(
            packages::by_name(&mut conn, ecosystem, name)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }

    // The edge of a package used two ways names both, and where.
    let (_, edges) = views::repository_with_dependencies(&mut conn, "local", "acme/web")
        .await
        .unwrap()
        .unwrap();
    let summary: Vec<(String, String, Vec<String>, String)> = edges
        .iter()
        .map(|(edge, package)| {
            (
                package.normalized_name.clone(),
                edge.kind.to_string(),
                edge.manifest_paths.clone(),
                edge.requirement.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "jest".into(),
                DependencyKind::Development.as_str().into(),
                vec!["package.json".into()],
                "^29.0.0".into()
            ),
            (
                "lodash".into(),
                "runtime".into(),
                vec!["package.json".into()],
                "^4.17.21".into()
            ),
            (
                "react".into(),
                "runtime".into(),
                vec!["package.json".into()],
                "^18.2.0".into()
            ),
        ]
    );

    // The malformed package.json is skipped; the repository's other manifest still counts.
    let (broken, edges) = views::repository_with_dependencies(&mut conn, "local", "globex/broken")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].1.normalized_name, "flask");
    assert!(broken.parsed_at.is_some());
    let broken_run = runs
        .iter()
        .find(|(j, _)| matches!(j, Job::Parse(p) if p.repository.to_string() == "globex/broken"))
        .unwrap();
    let skipped = broken_run.1.metadata["skipped"].to_string();
    assert!(
        skipped.contains("package.json") && skipped.contains("malformed"),
        "{skipped}"
    );

    // Organization roll-ups and funding.
    let acme = organizations::by_login(&mut conn, "local", "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme.name.as_deref(), Some("Acme Corp"));
    assert_eq!(acme.website_url.as_deref(), Some("https://acme.example"));
    assert_eq!((acme.repositories_count, acme.stars_total), (3, 155));
    assert!(acme.enriched_at.is_some());
    let funding: Vec<String> = funding_links(&acme.funding)
        .into_iter()
        .map(|l| l.url)
        .collect();
    assert_eq!(
        funding,
        vec![
            "https://github.com/sponsors/acme",
            "https://opencollective.com/acme",
            "https://acme.example/donate",
        ]
    );
    let globex = organizations::by_login(&mut conn, "local", "globex")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((globex.repositories_count, globex.stars_total), (3, 231));
    assert_eq!(funding_links(&globex.funding), vec![]);
    let initech = organizations::by_login(&mut conn, "local", "initech")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            initech.kind.as_str(),
            initech.repositories_count,
            initech.stars_total
        ),
        ("user", 1, 10)
    );
    let used: Vec<(String, i32)> = views::organization_dependencies(&mut conn, acme.id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.package.normalized_name, d.repositories_count))
        .collect();
    assert_eq!(used[0], ("lodash".into(), 2));
    assert_eq!(used.len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn running_everything_again_changes_nothing() {
    let h = Harness::new().await;
    h.scrape_all().await;
    let mut conn = h.conn().await;
    let before = dump_tables(&mut conn, &[]).await;
    let before_unstamped = dump_tables(&mut conn, &["parsed_at"]).await;
    let versions = h.cache_versions().await;
    assert!(!versions.is_empty());

    // Nothing moved: the scrape asks for nothing.
    let again = h.scrape_all().await;
    assert_eq!(again.len(), 1);
    assert!(again[0].1.follow_ups.is_empty());
    assert_eq!(dump_tables(&mut conn, &[]).await, before);

    // Parsing and enriching everything anyway writes nothing but the parse stamps.
    for repo in [
        "acme/web",
        "acme/api",
        "acme/tools",
        "globex/site",
        "globex/ml",
        "globex/broken",
        "initech/lib",
    ] {
        let outcome = h.parse(repo).await;
        assert!(outcome.touched_packages.is_empty(), "{repo}");
    }
    for login in ["acme", "globex", "initech"] {
        let job = Job::Enrich(wump_core::jobs::EnrichJob {
            host: "local".into(),
            organization: login.into(),
        });
        let outcome = super::run(&h.ctx, &job).await.unwrap();
        assert_eq!(outcome.metadata["profile_changed"], false, "{login}");
    }
    assert_eq!(
        dump_tables(&mut conn, &["parsed_at"]).await,
        before_unstamped
    );
    assert_eq!(h.cache_versions().await, versions);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_repository_updates_edges_roll_ups_and_exactly_the_touched_cache_versions() {
    let h = Harness::new().await;
    h.scrape_all().await;
    let before = h.cache_versions().await;

    // acme/web drops lodash and adds axios.
    write(
        h.root.path(),
        "acme/web/package.json",
        r#"{"name": "web", "dependencies": {"react": "^18.2.0", "axios": "^1.6.0"},
            "devDependencies": {"jest": "^29.0.0"}}"#,
    );
    let runs = h.scrape_all().await;
    let parses: Vec<String> = runs
        .iter()
        .flat_map(|(_, o)| &o.follow_ups)
        .map(|f| match &f.job {
            FollowUpJob::Parse(p) => p.repository.to_string(),
            FollowUpJob::Enrich(e) => format!("enrich {}", e.organization),
        })
        .collect();
    assert_eq!(parses, vec!["acme/web".to_owned()]);

    let mut conn = h.conn().await;
    use Ecosystem::Npm;
    assert_eq!(
        dependents(&mut conn, Npm, "lodash").await,
        vec![s("globex/site", 30), s("acme/tools", 5)]
    );
    assert_eq!(
        users(&mut conn, Npm, "lodash").await,
        vec![u("globex", 1, 30), u("acme", 1, 5)]
    );
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (2, 2));
    assert_eq!(
        dependents(&mut conn, Npm, "axios").await,
        vec![s("acme/web", 100)]
    );
    assert_eq!(counts(&mut conn, Npm, "axios").await, (1, 1));
    assert_eq!(counts(&mut conn, Npm, "react").await, (2, 2));

    let after = h.cache_versions().await;
    let bumped: BTreeMap<&String, i64> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0)))
        .collect();
    let expected: BTreeMap<String, i64> = [
        ("wump:cache-version:package:npm:axios", 1),
        ("wump:cache-version:package:npm:lodash", 1),
        ("wump:cache-version:organization:local:acme", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(
        bumped
            .into_iter()
            .map(|(k, v)| (k.clone(), v))
            .collect::<BTreeMap<_, _>>(),
        expected
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_repository_loses_its_edges() {
    let h = Harness::new().await;
    h.scrape_all().await;
    std::fs::remove_dir_all(h.path("globex/site")).unwrap();

    let outcome = h.parse("globex/site").await;
    assert_eq!(outcome.metadata["gone"], true);
    assert_eq!(outcome.metadata["edges_deleted"], 2);

    let mut conn = h.conn().await;
    use Ecosystem::Npm;
    assert_eq!(
        dependents(&mut conn, Npm, "react").await,
        vec![s("acme/web", 100)]
    );
    assert_eq!(
        users(&mut conn, Npm, "lodash").await,
        vec![u("acme", 2, 105)]
    );
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (2, 1));
    // Parsing the vanished repository again is a no-op.
    assert!(h.parse("globex/site").await.touched_packages.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_of_one_owner_stores_only_its_repositories() {
    let h = Harness::new().await;
    let runs = h
        .drain(Job::Scrape(wump_core::jobs::ScrapeJob {
            provider: "local".into(),
            query: Some("owner:globex".into()),
        }))
        .await;
    assert_eq!(runs[0].1.records_processed, 3);
    let mut conn = h.conn().await;
    assert!(
        organizations::by_login(&mut conn, "local", "acme")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        dependents(&mut conn, Ecosystem::Npm, "lodash").await,
        vec![s("globex/site", 30)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_over_the_size_limit_are_skipped_with_their_reason() {
    let mut h = Harness::new().await;
    h.scrape_all().await;
    // package.json of acme/web is well over 100 bytes; nothing else there is.
    h.ctx.limits.max_file_bytes = 100;
    let outcome = h.parse("acme/web").await;
    let skipped = outcome.metadata["skipped"].to_string();
    assert!(
        skipped.contains("package.json") && skipped.contains("limit"),
        "{skipped}"
    );
    assert_eq!(outcome.metadata["edges"]["deleted"], 3);
    let mut conn = h.conn().await;
    assert_eq!(
        dependents(&mut conn, Ecosystem::Npm, "react").await,
        vec![s("globex/site", 30)]
    );
}

/// Collects what a run hands over, call by call.
#[derive(Debug, Default)]
struct Collect(std::sync::Mutex<Vec<Vec<wump_worker::jobs::FollowUp>>>);

#[async_trait::async_trait]
impl wump_worker::jobs::FollowUpSink for Collect {
    async fn enqueue(
        &self,
        follow_ups: Vec<wump_worker::jobs::FollowUp>,
    ) -> Result<(), wump_worker::jobs::JobError> {
        self.0.lock().unwrap().push(follow_ups);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_takes_follow_ups_batch_by_batch_instead_of_the_outcome() {
    let mut h = Harness::new().await;
    let sink = std::sync::Arc::new(Collect::default());
    h.ctx.follow_up_sink = Some(sink.clone());
    h.ctx.upsert_batch = 1;
    let outcome = super::run(
        &h.ctx,
        &Job::Scrape(wump_core::jobs::ScrapeJob {
            provider: "local".into(),
            query: None,
        }),
    )
    .await
    .unwrap();
    assert!(outcome.follow_ups.is_empty());
    assert_eq!(outcome.metadata["follow_ups_enqueued"], 10);
    let calls = sink.0.lock().unwrap();
    // One repository a batch: every call carries its parse, and the owner's enrichment
    // the first time the owner is seen.
    assert_eq!(calls.len(), 7);
    assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 10);
}

/// `(kinds, requirement, manifest paths)` of a package's edge from one repository.
async fn edge(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
    repository: &str,
) -> Option<(Vec<DependencyKind>, String, Vec<String>)> {
    let package = packages::by_name(conn, ecosystem, name).await.unwrap()?;
    let query = DependentsQuery {
        limit: 100,
        ..DependentsQuery::default()
    };
    views::dependents(conn, package.id, &query)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.repository.full_name == repository)
        .map(|d| {
            (
                d.edge.kinds.into_iter().collect(),
                d.edge.requirement,
                d.edge.manifest_paths,
            )
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn build_scripts_and_projects_are_parsed_with_their_repositorys_catalogs_and_central_versions()
 {
    let h = Harness::new().await;
    h.scrape_all().await;
    for (path, text) in [
        (
            "acme/api/gradle/libs.versions.toml",
            "[versions]\nokhttp = \"4.12.0\"\n[libraries]\n\
             okhttp = { module = \"com.squareup.okhttp3:okhttp\", version.ref = \"okhttp\" }\n\
             junit = \"junit:junit:4.13.2\"\nunused = \"com.example:unused:1.0\"",
        ),
        (
            "acme/api/app/build.gradle.kts",
            "dependencies {\n implementation(libs.okhttp)\n testImplementation(libs.junit)\n}",
        ),
        (
            "acme/api/Directory.Packages.props",
            r#"<Project><ItemGroup><PackageVersion Include="Dapper" Version="2.1.35" /></ItemGroup></Project>"#,
        ),
        (
            "acme/api/src/Api/Api.csproj",
            r#"<Project><ItemGroup><PackageReference Include="Dapper" /></ItemGroup></Project>"#,
        ),
    ] {
        write(h.root.path(), path, text);
    }
    let outcome = h.parse("acme/api").await;
    assert_eq!(outcome.metadata["skipped"], serde_json::json!([]));

    let mut conn = h.conn().await;
    use DependencyKind::{Runtime, Test};
    use Ecosystem::{Maven, Nuget};
    let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        edge(&mut conn, Maven, "com.squareup.okhttp3:okhttp", "acme/api").await,
        Some((
            vec![Runtime],
            "4.12.0".into(),
            paths(&["app/build.gradle.kts", "gradle/libs.versions.toml"])
        ))
    );
    // The catalog lists junit without a kind; the script says it is for tests only.
    assert_eq!(
        edge(&mut conn, Maven, "junit:junit", "acme/api").await,
        Some((
            vec![Test],
            "4.13.2".into(),
            paths(&["app/build.gradle.kts", "gradle/libs.versions.toml"])
        ))
    );
    assert_eq!(
        edge(&mut conn, Maven, "com.example:unused", "acme/api")
            .await
            .map(|e| e.0),
        Some(vec![Runtime])
    );
    assert_eq!(
        edge(&mut conn, Nuget, "Dapper", "acme/api").await,
        Some((
            vec![Runtime],
            "2.1.35".into(),
            paths(&["src/Api/Api.csproj"])
        ))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_go_module_is_found_under_the_module_required_and_its_replacement() {
    let h = Harness::new().await;
    h.scrape_all().await;
    write(
        h.root.path(),
        "acme/api/go.mod",
        "module example.com/acme/api\n\ngo 1.22\n\n\
         require (\n\tgolang.org/x/net v0.30.0\n\texample.com/lib v1.0.0\n)\n\n\
         replace golang.org/x/net => github.com/acme/net v0.30.1-acme\n\
         replace example.com/lib => ./lib\n",
    );
    h.parse("acme/api").await;
    let mut conn = h.conn().await;
    use Ecosystem::Go;
    for (module, requirement) in [
        ("golang.org/x/net", "v0.30.0"),
        ("github.com/acme/net", "v0.30.1-acme"),
    ] {
        assert_eq!(
            edge(&mut conn, Go, module, "acme/api").await,
            Some((
                vec![DependencyKind::Runtime],
                requirement.into(),
                vec!["go.mod".to_owned()]
            )),
            "{module}"
        );
        assert_eq!(counts(&mut conn, Go, module).await, (1, 1), "{module}");
    }
    // Replaced by a directory of the repository: its own code, no package.
    assert_eq!(
        edge(&mut conn, Go, "example.com/lib", "acme/api").await,
        None
    );
}
