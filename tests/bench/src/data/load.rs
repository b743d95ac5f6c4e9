//! Writes a planned [`Dataset`] into a migrated, empty database, with every count and
//! roll-up as the edge writers keep them.
//!
//! PostgreSQL's own advice for bulk loads ("Populating a Database" in its manual): drop
//! the secondary indexes and foreign keys, `COPY`, then build them once and analyze.
//! Their definitions are read from the catalog before they are dropped, so what comes back
//! is exactly what the migrations created. The counts are then computed by the database
//! from the edges, with the rules of `crates/db` (an edge counts unless its repository is
//! archived or a fork; a roll-up row per package and organization with counted edges).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio_postgres::{Client, NoTls};

use super::{
    copy::Copy,
    shape::{Dataset, manifest_path},
};

/// The tables the dataset fills, in the order their rows are written.
pub const TABLES: [&str; 5] = [
    "packages",
    "organizations",
    "repositories",
    "dependencies",
    "package_organizations",
];

/// Edge writers running at once: one per core here, each on its own connection.
const EDGE_STREAMS: usize = 2;

/// What a load did and how long each step took.
#[derive(Debug, Default)]
pub struct Loaded {
    pub packages: u64,
    pub organizations: u64,
    pub repositories: u64,
    pub edges: u64,
    pub rollups: u64,
    pub steps: Vec<(&'static str, Duration)>,
}

/// Connects a plain client (the databases this writes are local ones the bench created).
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| "connecting to PostgreSQL for COPY")?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            eprintln!("[bench] connection closed: {err}");
        }
    });
    Ok(client)
}

/// Loads `dataset` into the (migrated, empty) database at `url`.
pub async fn load(url: &str, dataset: Arc<Dataset>) -> anyhow::Result<Loaded> {
    let client = connect(url).await?;
    // The aggregates over ten million edges spill to disk with the default 4 MB, and index
    // builds sort in maintenance_work_mem: a bulk load is what these settings are for.
    client
        .batch_execute("SET work_mem = '256MB'; SET maintenance_work_mem = '1GB'")
        .await?;
    let mut loaded = Loaded::default();
    let mut step = Step::start();

    let rebuild = drop_secondary_structures(&client).await?;
    step.done(&mut loaded, "drop secondary indexes and foreign keys");

    loaded.packages = copy_packages(&client, &dataset).await?;
    loaded.organizations = copy_organizations(&client, &dataset).await?;
    loaded.repositories = copy_repositories(&client, &dataset).await?;
    step.done(&mut loaded, "COPY packages, organizations, repositories");

    let mut streams = Vec::new();
    for stream in 0..EDGE_STREAMS {
        let (url, dataset) = (url.to_owned(), Arc::clone(&dataset));
        streams.push(tokio::spawn(async move {
            copy_edges(&url, &dataset, stream).await
        }));
    }
    for stream in streams {
        loaded.edges += stream.await??;
    }
    step.done(&mut loaded, "COPY dependencies");

    loaded.rollups = compute_counts(&client).await?;
    step.done(&mut loaded, "compute roll-ups and counts");

    for statement in &rebuild {
        client
            .batch_execute(statement)
            .await
            .with_context(|| format!("rebuilding: {statement}"))?;
    }
    step.done(&mut loaded, "build indexes and foreign keys");

    client.batch_execute("VACUUM (ANALYZE)").await?;
    step.done(&mut loaded, "VACUUM (ANALYZE)");
    Ok(loaded)
}

struct Step(Instant);

impl Step {
    fn start() -> Step {
        Step(Instant::now())
    }

    fn done(&mut self, loaded: &mut Loaded, name: &'static str) {
        eprintln!("[bench] {name}: {:.1} s", self.0.elapsed().as_secs_f64());
        loaded.steps.push((name, self.0.elapsed()));
        self.0 = Instant::now();
    }
}

/// Drops the indexes that are not constraints and the foreign keys of [`TABLES`];
/// returns the statements that create them again, as the catalog defines them.
async fn drop_secondary_structures(client: &Client) -> anyhow::Result<Vec<String>> {
    let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    let indexes = client
        .query(
            "SELECT format('DROP INDEX %I', i.indexname), i.indexdef
               FROM pg_indexes i
              WHERE i.schemaname = 'public' AND i.tablename = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            &[&tables],
        )
        .await?;
    let foreign_keys = client
        .query(
            "SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
                    format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname,
                           pg_get_constraintdef(c.oid))
               FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
              WHERE c.contype = 'f' AND t.relname = ANY($1)",
            &[&tables],
        )
        .await?;
    let mut rebuild = Vec::new();
    for row in indexes.iter().chain(&foreign_keys) {
        let drop: String = row.get(0);
        client.batch_execute(&drop).await?;
        rebuild.push(row.get::<_, String>(1));
    }
    Ok(rebuild)
}

async fn copy_packages(client: &Client, dataset: &Dataset) -> anyhow::Result<u64> {
    let mut copy = Copy::start(
        client,
        "packages",
        &[
            "id",
            "ecosystem",
            "name",
            "normalized_name",
            "description",
            "latest_version",
            "metadata_refreshed_at",
        ],
    )
    .await?;
    let refreshed = super::shape::epoch();
    for (i, package) in dataset.packages.iter().enumerate() {
        copy.row(|row| {
            row.display(package.id)
                .text(package.ecosystem.as_str())
                .text(&package.name)
                .text(&package.normalized_name)
                .display(format_args!("Generated package {i}."))
                .text(&package.latest_version)
                .optional((i % 3 != 0).then_some(refreshed));
        })
        .await?;
    }
    copy.finish().await
}

async fn copy_organizations(client: &Client, dataset: &Dataset) -> anyhow::Result<u64> {
    let mut copy = Copy::start(
        client,
        "organizations",
        &[
            "id",
            "host",
            "login",
            "kind",
            "name",
            "description",
            "website_url",
            "sponsors_listing_url",
            "funding",
            "enriched_at",
        ],
    )
    .await?;
    let enriched = super::shape::epoch();
    for (i, org) in dataset.organizations.iter().enumerate() {
        let sponsors = org
            .sponsors
            .then(|| format!("https://github.com/sponsors/{}", org.login));
        let funding = match &sponsors {
            Some(url) => serde_json::json!([{ "platform": "github", "url": url }]).to_string(),
            None => "[]".to_owned(),
        };
        copy.row(|row| {
            row.display(org.id)
                .text(org.host)
                .text(&org.login)
                .text(if org.user { "user" } else { "organization" })
                .display(format_args!("Organization {i}"))
                .display(format_args!("Generated organization {i}."))
                .display(format_args!("https://{}.example", org.login))
                .optional(sponsors.as_deref())
                .text(&funding)
                .optional(org.enriched.then_some(enriched));
        })
        .await?;
    }
    copy.finish().await
}

async fn copy_repositories(client: &Client, dataset: &Dataset) -> anyhow::Result<u64> {
    let mut copy = Copy::start(
        client,
        "repositories",
        &[
            "id",
            "organization_id",
            "host",
            "full_name",
            "description",
            "language",
            "default_branch",
            "stars",
            "forks",
            "archived",
            "fork",
            "pushed_at",
            "change_token",
            "parsed_at",
        ],
    )
    .await?;
    let parsed = super::shape::epoch();
    for repository in &dataset.repositories {
        let org = &dataset.organizations[repository.organization as usize];
        copy.row(|row| {
            row.display(repository.id)
                .display(org.id)
                .text(org.host)
                .display(format_args!("{}/{}", org.login, repository.name))
                .display(format_args!("A {} project.", repository.ecosystem.as_str()))
                .text(language(repository.ecosystem))
                .text("main")
                .display(repository.stars)
                .display(repository.forks)
                .display(repository.archived)
                .display(repository.fork)
                .optional(repository.pushed_at)
                .optional(repository.pushed_at.map(|at| at.timestamp()))
                .display(parsed);
        })
        .await?;
    }
    copy.finish().await
}

/// The edges of every `EDGE_STREAMS`-th repository from `stream` on, on a connection of
/// its own.
async fn copy_edges(url: &str, dataset: &Dataset, stream: usize) -> anyhow::Result<u64> {
    let client = connect(url).await?;
    let mut copy = Copy::start(
        &client,
        "dependencies",
        &[
            "package_id",
            "repository_id",
            "kind",
            "kinds",
            "requirement",
            "resolved_version",
            "direct",
            "manifest_paths",
            "organization_id",
            "repo_stars",
            "repo_pushed_at",
            "repo_archived",
            "repo_fork",
        ],
    )
    .await?;
    for index in (stream..dataset.repositories.len()).step_by(EDGE_STREAMS) {
        let repository = &dataset.repositories[index];
        let org = &dataset.organizations[repository.organization as usize];
        let manifest = manifest_path(repository.ecosystem);
        for edge in dataset.edges(index) {
            let kinds: Vec<&str> = edge.kinds.iter().map(|k| k.as_str()).collect();
            copy.row(|row| {
                row.display(dataset.packages[edge.package as usize].id)
                    .display(repository.id)
                    .text(kinds[0])
                    .words(&kinds)
                    .text(&edge.requirement)
                    .optional(edge.resolved_version.as_deref())
                    .optional(edge.direct)
                    .display(format_args!("{{\"{manifest}\"}}"))
                    .display(org.id)
                    .display(repository.stars)
                    .optional(repository.pushed_at)
                    .display(repository.archived)
                    .display(repository.fork);
            })
            .await?;
        }
    }
    copy.finish().await
}

/// The roll-ups and stored counts, from the edges, by the writers' rules.
async fn compute_counts(client: &Client) -> anyhow::Result<u64> {
    let rollups = client
        .execute(
            "INSERT INTO package_organizations
                    (package_id, organization_id, repositories_count, stars_sum)
             SELECT package_id, organization_id, count(*)::int4, sum(repo_stars)::int8
               FROM dependencies
              WHERE NOT repo_archived AND NOT repo_fork
              GROUP BY package_id, organization_id",
            &[],
        )
        .await?;
    client
        .batch_execute(
            "UPDATE packages p
                SET dependents_count = c.dependents, organizations_count = c.organizations
               FROM (SELECT d.package_id, d.dependents, o.organizations
                       FROM (SELECT package_id, count(*)::int4 AS dependents FROM dependencies
                              WHERE NOT repo_archived AND NOT repo_fork GROUP BY package_id) d
                       JOIN (SELECT package_id, count(*)::int4 AS organizations
                               FROM package_organizations GROUP BY package_id) o
                         USING (package_id)) c
              WHERE p.id = c.package_id;
             UPDATE organizations o
                SET repositories_count = r.repositories, stars_total = r.stars
               FROM (SELECT organization_id, count(*)::int4 AS repositories,
                            sum(stars)::int8 AS stars
                       FROM repositories GROUP BY organization_id) r
              WHERE o.id = r.organization_id;",
        )
        .await?;
    Ok(rollups)
}

fn language(ecosystem: wump_core::Ecosystem) -> &'static str {
    use wump_core::Ecosystem as E;
    match ecosystem {
        E::Npm => "TypeScript",
        E::Pypi => "Python",
        E::Cargo => "Rust",
        E::Go => "Go",
        E::Rubygems => "Ruby",
        E::Maven => "Java",
        E::Packagist => "PHP",
        E::Nuget => "C#",
        E::Hex => "Elixir",
        E::Pub => "Dart",
        E::Swiftpm => "Swift",
        E::Cocoapods => "Objective-C",
        E::Actions => "Shell",
    }
}
