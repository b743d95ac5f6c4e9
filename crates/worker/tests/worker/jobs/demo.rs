//! The bundled demo (`demo/repos`) loaded as `just up` loads it: `enqueue scrape --provider
//! local`, then `run --until-idle` on the real queues. The facts asserted here are the ones
//! `demo/README.md` promises; loading it again changes nothing.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::{Command, Output},
};

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use fred::interfaces::LuaInterface;
use wump_core::Ecosystem;
use wump_db::{
    AsyncPgConnection,
    funding::funding_links,
    tables::{organizations, packages},
    test_support::{ProcessEnv, dump_tables},
    views::{self, DependentsQuery, OrganizationsSort},
};

use super::{
    Harness,
    cleanup::invariant_violations,
    pipeline::{counts, dependents, s},
};

/// The demo tree in the repository.
fn demo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/repos")
}

/// Runs `wump-worker ARGS` over the demo tree against the harness' database and Valkey
/// prefix, with every provider that would reach the internet turned off.
fn wump_worker(h: &Harness, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wump-worker"));
    command
        .current_dir(dir.path())
        .env_remove("WUMP_ENV")
        .envs(ProcessEnv::for_test(&h.db, &h.valkey).vars())
        .env("WUMP__QUEUES__POLL_INTERVAL_MS", "50")
        .env("WUMP__WORKER__HEALTH_BIND", "127.0.0.1:0")
        .env("WUMP__PROVIDERS__LOCAL__ROOT", demo_root())
        .env("RUST_LOG", "warn");
    let output = command.args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Loads the demo through the queues, as `scripts/demo.sh` does.
fn load(h: &Harness) {
    wump_worker(h, &["enqueue", "scrape", "--provider", "local"]);
    wump_worker(h, &["run", "--until-idle"]);
}

/// `(login, repositories, stars)` of the organizations using a package.
async fn users(
    conn: &mut AsyncPgConnection,
    ecosystem: Ecosystem,
    name: &str,
    sort: OrganizationsSort,
    has_funding: bool,
) -> Vec<(String, i32, i64)> {
    let package = packages::by_name(conn, ecosystem, name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no package {ecosystem}/{name}"));
    views::organizations_using(
        conn,
        package.id,
        sort,
        &views::OrganizationsFilter {
            has_funding,
            since: None,
        },
        None,
        100,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|u| (u.organization.login, u.repositories_count, u.stars_sum))
    .collect()
}

fn u(login: &str, repositories: i32, stars: i64) -> (String, i32, i64) {
    (login.to_owned(), repositories, stars)
}

/// Every cache-version key under the test's prefix (where the queues keep their keys too)
/// and its value.
async fn cache_versions(h: &Harness) -> BTreeMap<String, String> {
    let flat: Vec<String> = h
        .valkey
        .pool()
        .eval(
            r#"local out = {}
               for _, key in ipairs(redis.call("KEYS", ARGV[1])) do
                 table.insert(out, key)
                 table.insert(out, redis.call("GET", key))
               end
               return out"#,
            Vec::<String>::new(),
            vec![format!("{}wump:cache-version:*", h.valkey.prefix())],
        )
        .await
        .unwrap();
    flat.chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_loads_through_the_queues_and_answers_what_its_readme_promises() {
    let h = Harness::new().await;
    load(&h);
    let mut conn = h.conn().await;
    use Ecosystem::{Actions, Cargo, Go, Maven, Npm, Packagist, Pypi, Rubygems};
    use OrganizationsSort::{Repositories, Stars};

    // Every job succeeded at its first attempt: parses of different organizations sharing
    // packages run side by side without deadlocking.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM job_executions WHERE status <> 'completed' OR attempt > 1"
        )
        .await,
        0
    );

    // The shape: 12 owners, 36 repositories, every one parsed and every owner enriched.
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM organizations").await,
        12
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM repositories").await,
        36
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM repositories WHERE parsed_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM organizations WHERE enriched_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(DISTINCT ecosystem) AS n FROM packages"
        )
        .await,
        8
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM dependencies").await,
        150
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM packages").await,
        53
    );

    // actions/checkout: 11 of 12 owners; the ranking depends on what you rank by.
    assert_eq!(
        counts(&mut conn, Actions, "actions/checkout").await,
        (25, 11)
    );
    let by_stars = users(&mut conn, Actions, "actions/checkout", Stars, false).await;
    assert_eq!(
        by_stars,
        vec![
            u("emberlabs", 2, 8900),
            u("northwind", 4, 8690),
            u("kestrel-io", 3, 7450),
            u("tidewater", 2, 6300),
            u("harborworks", 2, 3750),
            u("lumen-analytics", 2, 3380),
            u("quillstack", 2, 2440),
            u("brightgem", 2, 1545),
            u("palisade", 2, 1170),
            u("civicdata", 2, 790),
            u("mira-chen", 2, 95),
        ]
    );
    let by_repositories = users(&mut conn, Actions, "actions/checkout", Repositories, false).await;
    assert_eq!(
        by_repositories[..2],
        [u("northwind", 4, 8690), u("kestrel-io", 3, 7450)]
    );
    // Whom to ask for sponsorship: those with a sponsors listing or FUNDING.yml links.
    let funded: Vec<String> = users(&mut conn, Actions, "actions/checkout", Stars, true)
        .await
        .into_iter()
        .map(|(login, _, _)| login)
        .collect();
    assert_eq!(
        funded,
        [
            "emberlabs",
            "northwind",
            "kestrel-io",
            "quillstack",
            "brightgem",
            "palisade",
            "civicdata",
            "mira-chen"
        ]
    );

    // jquery: only archived repositories use it, so nothing counts it.
    assert_eq!(counts(&mut conn, Npm, "jquery").await, (0, 0));
    assert_eq!(dependents(&mut conn, Npm, "jquery").await, vec![]);
    let jquery = packages::by_name(&mut conn, Npm, "jquery")
        .await
        .unwrap()
        .unwrap();
    let archived: Vec<(String, i32)> = views::dependents(
        &mut conn,
        jquery.id,
        &DependentsQuery {
            include_archived: true,
            limit: 100,
            ..DependentsQuery::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|d| (d.repository.full_name, d.edge.repo_stars))
    .collect();
    assert_eq!(
        archived,
        vec![
            s("northwind/legacy-admin", 300),
            s("tidewater/old-dashboard", 210)
        ]
    );
    assert_eq!(counts(&mut conn, Pypi, "nose").await, (0, 0));

    // Scoped npm names; a workspace or file: reference is no dependency.
    assert_eq!(
        dependents(&mut conn, Npm, "@northwind/ui-kit").await,
        vec![
            s("northwind/storefront", 4200),
            s("mira-chen/tiny-blog", 60)
        ]
    );
    assert_eq!(
        dependents(&mut conn, Npm, "@kestrel/client").await,
        vec![
            s("northwind/storefront", 4200),
            s("lumen-analytics/lumen", 2900)
        ]
    );
    assert_eq!(counts(&mut conn, Npm, "lodash").await, (4, 3));
    assert_eq!(
        users(&mut conn, Npm, "lodash", Stars, false).await,
        vec![
            u("northwind", 2, 6800),
            u("civicdata", 1, 730),
            u("quillstack", 1, 340)
        ]
    );

    // PyPI: requests across five owners; the archived repositories do not count.
    assert_eq!(counts(&mut conn, Pypi, "requests").await, (7, 5));
    assert_eq!(
        users(&mut conn, Pypi, "requests", Stars, false).await[0],
        u("tidewater", 3, 6420)
    );
    assert_eq!(
        dependents(&mut conn, Pypi, "tide-ml").await,
        vec![s("tidewater/notebooks", 120)]
    );

    // Cargo: forks do not count; a path dependency is local.
    assert_eq!(counts(&mut conn, Cargo, "serde").await, (3, 2));
    assert_eq!(
        users(&mut conn, Cargo, "serde", Stars, false).await,
        vec![u("emberlabs", 2, 8900), u("tidewater", 1, 900)]
    );
    assert_eq!(
        dependents(&mut conn, Cargo, "ember-kv").await,
        vec![s("tidewater/ingest", 900)]
    );

    // Go module paths with slashes.
    assert_eq!(
        counts(&mut conn, Go, "github.com/spf13/cobra").await,
        (5, 4)
    );
    assert_eq!(
        users(&mut conn, Go, "github.com/spf13/cobra", Stars, false).await,
        vec![
            u("kestrel-io", 2, 7180),
            u("northwind", 1, 1800),
            u("palisade", 1, 1100),
            u("harborworks", 1, 410),
        ]
    );
    assert_eq!(
        dependents(&mut conn, Go, "github.com/kestrel-io/kestrel").await,
        vec![
            s("northwind/checkout-api", 1800),
            s("palisade/palisade-scanner", 1100),
            s("kestrel-io/kestrel-operator", 880),
        ]
    );

    // Maven group:artifact, from pom.xml and build.gradle.kts alike.
    assert_eq!(
        users(
            &mut conn,
            Maven,
            "com.fasterxml.jackson.core:jackson-databind",
            Stars,
            false
        )
        .await,
        vec![u("harborworks", 2, 3750), u("lumen-analytics", 1, 480)]
    );
    // Composer and RubyGems.
    assert_eq!(
        users(&mut conn, Packagist, "guzzlehttp/guzzle", Stars, false).await,
        vec![u("quillstack", 2, 2440), u("lumen-analytics", 1, 190)]
    );
    assert!(
        packages::by_name(&mut conn, Packagist, "php")
            .await
            .unwrap()
            .is_none(),
        "platform requirements are no packages"
    );
    assert_eq!(
        users(&mut conn, Rubygems, "rake", Stars, false).await,
        vec![u("brightgem", 2, 1545), u("mira-chen", 1, 60)]
    );

    // Profiles and funding: the owner's FUNDING.yml plus those of its top repositories.
    let northwind = organizations::by_login(&mut conn, "local", "northwind")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (northwind.repositories_count, northwind.stars_total),
        (5, 8990)
    );
    assert_eq!(
        northwind.website_url.as_deref(),
        Some("https://northwind.example")
    );
    let links: Vec<String> = funding_links(&northwind.funding)
        .into_iter()
        .map(|l| l.url)
        .collect();
    assert_eq!(
        links,
        [
            "https://github.com/sponsors/northwind",
            "https://opencollective.com/northwind",
            "https://northwind.example/open-source",
        ]
    );
    let ember = organizations::by_login(&mut conn, "local", "emberlabs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ember.sponsors_listing_url.as_deref(),
        Some("https://github.com/sponsors/emberlabs")
    );
    let mira = organizations::by_login(&mut conn, "local", "mira-chen")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mira.kind.as_str(), "user");
    assert_eq!(
        funding_links(&mira.funding)
            .into_iter()
            .map(|l| l.url)
            .collect::<Vec<_>>(),
        ["https://ko-fi.com/mirachen"]
    );
    let tidewater = organizations::by_login(&mut conn, "local", "tidewater")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(funding_links(&tidewater.funding), vec![]);

    let mut used: Vec<(String, i32)> =
        views::organization_dependencies(&mut conn, ember.id, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.package.normalized_name, d.repositories_count))
            .collect();
    // Ties are in no particular order.
    used[..2].sort();
    assert_eq!(
        used[..3],
        [
            ("actions/checkout".into(), 2),
            ("serde".into(), 2),
            (used[2].0.clone(), 1)
        ]
    );

    // Every package's counts and roll-ups equal what its listings return.
    assert_eq!(invariant_violations(&mut conn).await, 0);

    // Loading it again finds nothing new: no row and no cache version changes.
    let before = dump_tables(&mut conn, &[]).await;
    let versions = cache_versions(&h).await;
    // Every package and every organization was invalidated while loading.
    assert_eq!(versions.len(), 53 + 12);
    load(&h);
    assert_eq!(dump_tables(&mut conn, &[]).await, before);
    assert_eq!(cache_versions(&h).await, versions);
}
