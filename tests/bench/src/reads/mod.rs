//! `wump-bench reads`: uncached reads through the real API binary (cache off) against the
//! `wump_bench_<size>` datasets: latency percentiles of sequential requests per case, the
//! API's peak resident memory, and each case's statement under `EXPLAIN (ANALYZE,
//! BUFFERS)`, a deep page by cursor contrasted with the same page by OFFSET.

pub mod cases;
pub mod measure;
pub mod section;
pub mod server;

use std::path::PathBuf;

use anyhow::Context as _;
use diesel::{
    pg::Pg,
    query_builder::{AstPass, QueryFragment, QueryId},
    sql_types::BigInt,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use wump_db::{
    explain,
    views::{self, DependentsCursor},
};

use self::{
    cases::{Case, Statement, Subject},
    measure::Summary,
    server::Api,
};
use crate::data::{self, Size, load};

/// What `wump-bench reads` is told.
#[derive(Debug, Clone)]
pub struct Options {
    /// The PostgreSQL server (its database name is replaced per size).
    pub server_url: SecretString,
    pub valkey_url: SecretString,
    /// The release `wump-api`.
    pub api_binary: PathBuf,
    pub sizes: Vec<Size>,
    pub warmup: usize,
    pub samples: usize,
}

/// One size's run, or why there is none.
#[derive(Debug)]
pub enum SizeOutcome {
    /// Its database does not exist.
    Missing {
        size: Size,
        database: String,
    },
    Measured(Box<SizeRun>),
}

/// The measurements of one dataset.
#[derive(Debug)]
pub struct SizeRun {
    pub size: Size,
    pub database: String,
    pub edges: i64,
    pub subjects: Vec<Subject>,
    pub cases: Vec<Measured>,
    /// The API's `VmHWM` at the end, bytes.
    pub peak_rss: u64,
}

/// One case: its latencies through HTTP, and its statement's plan.
#[derive(Debug)]
pub struct Measured {
    pub case: Case,
    /// The latencies, or why the API did not answer 200 (e.g. its query timeout).
    pub latency: Result<Summary, String>,
    /// The statement as diesel prints it, binds listed.
    pub sql: String,
    pub plan: String,
    /// A deep page: the same page by OFFSET, its plan.
    pub offset_plan: Option<String>,
}

impl Measured {
    /// The statement's own execution time in its plan, ms.
    pub fn execution_ms(&self) -> Option<f64> {
        execution_ms(&self.plan)
    }
}

/// `Execution Time: N ms` of an `EXPLAIN ANALYZE` output.
pub fn execution_ms(plan: &str) -> Option<f64> {
    plan.lines()
        .find_map(|l| l.trim().strip_prefix("Execution Time: "))
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|ms| ms.parse().ok())
}

/// Measures every size of `options`; a missing database is a [`SizeOutcome::Missing`]
/// except the small one's, which is an error.
pub async fn run(options: &Options) -> anyhow::Result<Vec<SizeOutcome>> {
    let mut outcomes = Vec::new();
    for &size in &options.sizes {
        let database = data::database_name(size);
        if !exists(options.server_url.expose_secret(), &database).await? {
            anyhow::ensure!(
                size.name != Size::SMALL.name,
                "database {database} is missing: run `just bench-data small` first"
            );
            eprintln!(
                "[bench] {database} is missing (`just bench-data {}`)",
                size.name
            );
            outcomes.push(SizeOutcome::Missing { size, database });
            continue;
        }
        outcomes.push(SizeOutcome::Measured(Box::new(
            measure_size(options, size, database).await?,
        )));
    }
    Ok(outcomes)
}

async fn exists(server_url: &str, database: &str) -> anyhow::Result<bool> {
    let client = load::connect(server_url).await?;
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&database],
        )
        .await?;
    Ok(row.get(0))
}

async fn measure_size(options: &Options, size: Size, database: String) -> anyhow::Result<SizeRun> {
    let url = wump_db::test_support::with_database(options.server_url.expose_secret(), &database);
    eprintln!("[bench] {database}: starting wump-api (it applies pending migrations)");
    let api = Api::start(
        &options.api_binary,
        &url,
        options.valkey_url.expose_secret(),
    )
    .await?;
    let client = load::connect(&url).await?;
    let edges: i64 = client
        .query_one(
            "SELECT reltuples::int8 FROM pg_class WHERE relname = 'dependencies'",
            &[],
        )
        .await?
        .get(0);
    let subjects = vec![
        subject(&client, "top", "ORDER BY dependents_count DESC, id").await?,
        subject(
            &client,
            "median",
            "WHERE dependents_count = (SELECT percentile_disc(0.5) WITHIN GROUP
                 (ORDER BY dependents_count) FROM packages WHERE dependents_count > 0)
             ORDER BY id",
        )
        .await?,
    ];
    let mut all = Vec::new();
    for s in &subjects {
        all.extend(cases::package_cases(s));
    }
    all.extend(cases::search_cases(&subjects[0].name));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let mut conn = AsyncPgConnection::establish(&url).await?;
    let mut measured = Vec::new();
    for case in all {
        measured.push(measure_case(options, &api, &http, &mut conn, case).await?);
    }
    let peak_rss = api.peak_rss()?;
    api.stop().await?;
    Ok(SizeRun {
        size,
        database,
        edges,
        subjects,
        cases: measured,
        peak_rss,
    })
}

/// The first package in `order` over `packages`, and the organization with the most of
/// its dependents.
async fn subject(
    client: &tokio_postgres::Client,
    role: &'static str,
    order: &str,
) -> anyhow::Result<Subject> {
    let row = client
        .query_one(
            &format!(
                "SELECT id::text, ecosystem, name, dependents_count FROM packages {order} LIMIT 1"
            ),
            &[],
        )
        .await
        .with_context(|| format!("picking the {role} package"))?;
    let id: Uuid = row.get::<_, &str>(0).parse()?;
    let organization = match client
        .query_opt(
            "SELECT o.id::text, o.login FROM package_organizations po
               JOIN organizations o ON o.id = po.organization_id
              WHERE po.package_id = $1::text::uuid
              ORDER BY po.repositories_count DESC, o.id LIMIT 1",
            &[&id.to_string()],
        )
        .await?
    {
        Some(r) => Some((r.get::<_, &str>(0).parse()?, r.get(1))),
        None => None,
    };
    Ok(Subject {
        role,
        id,
        ecosystem: row.get(1),
        name: row.get(2),
        dependents: row.get(3),
        organization,
    })
}

async fn measure_case(
    options: &Options,
    api: &Api,
    http: &reqwest::Client,
    conn: &mut AsyncPgConnection,
    mut case: Case,
) -> anyhow::Result<Measured> {
    let mut offset_plan = None;
    let mut walked = Ok(());
    if let Statement::Dependents {
        package_id,
        query,
        skip_pages,
    } = &mut case.statement
        && *skip_pages > 0
    {
        let first = query.clone();
        query.after = db_cursor(conn, *package_id, query, *skip_pages).await?;
        match http_cursor(http, &api.base, &case.path, *skip_pages).await {
            Ok(cursor) => case.path = format!("{}&cursor={}", case.path, urlencode(&cursor)),
            Err(err) => walked = Err(err),
        }
        let rows = (*skip_pages) * (first.limit - 1);
        offset_plan = Some(
            explain::explain(
                conn,
                Offset(views::dependents_query(*package_id, &first), rows),
            )
            .await?,
        );
    }
    let url = format!("{}{}", api.base, case.path);
    let latency = match walked {
        Ok(()) => measure::sample(http, &url, options.warmup, options.samples).await,
        Err(err) => Err(err),
    }
    .map_err(|err| format!("{err:#}"));
    if latency.is_err() {
        // A request that ran into the query timeout opened the api's circuit breaker:
        // the next case starts once it has closed again (`api.breaker.open_ms`).
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    }
    let (sql, plan) = match &case.statement {
        Statement::Dependents {
            package_id, query, ..
        } => {
            let q = views::dependents_query(*package_id, query);
            (explain::sql(&q), explain::explain(conn, q).await?)
        }
        Statement::Organizations {
            package_id,
            sort,
            has_funding,
        } => {
            let q = views::organizations_using_query(
                *package_id,
                *sort,
                &views::OrganizationsFilter {
                    has_funding: *has_funding,
                    since: None,
                },
                None,
                cases::PAGE + 1,
            );
            (explain::sql(&q), explain::explain(conn, q).await?)
        }
        Statement::Search { target, text } => {
            let q = views::search_query(*target, text, None, cases::PAGE + 1);
            (explain::sql(&q), explain::explain(conn, q).await?)
        }
    };
    match &latency {
        Ok(l) => eprintln!(
            "[bench] {} {} {}: p50 {:.2} ms, p99 {:.2} ms",
            case.subject,
            case.group_name(),
            case.name,
            l.p50,
            l.p99
        ),
        Err(err) => eprintln!(
            "[bench] {} {} {}: failed: {err}",
            case.subject,
            case.group_name(),
            case.name
        ),
    }
    Ok(Measured {
        case,
        latency,
        sql,
        plan,
        offset_plan,
    })
}

/// The cursor after `pages` pages of `query`, walked through the database query itself.
async fn db_cursor(
    conn: &mut AsyncPgConnection,
    package_id: Uuid,
    query: &wump_db::views::DependentsQuery,
    pages: i64,
) -> anyhow::Result<Option<DependentsCursor>> {
    let mut walk = query.clone();
    walk.limit = query.limit - 1;
    for _ in 0..pages {
        let page = views::dependents(conn, package_id, &walk).await?;
        let last = page
            .last()
            .context("the listing ended before the deep page")?;
        walk.after = Some(last.cursor(walk.sort));
    }
    Ok(walk.after)
}

/// The `next_cursor` after `pages` pages of `path`, walked through the API.
async fn http_cursor(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    pages: i64,
) -> anyhow::Result<String> {
    let mut url = format!("{base}{path}");
    let mut cursor = String::new();
    for _ in 0..pages {
        let body: serde_json::Value = serde_json::from_slice(&measure::get(http, &url).await?)?;
        cursor = body["next_cursor"]
            .as_str()
            .context("the listing ended before the deep page")?
            .to_owned();
        url = format!("{base}{path}&cursor={}", urlencode(&cursor));
    }
    Ok(cursor)
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Case {
    fn group_name(&self) -> &'static str {
        match self.group {
            cases::Group::Dependents => "dependents",
            cases::Group::Organizations => "organizations",
            cases::Group::Search => "search",
        }
    }
}

/// A statement with `OFFSET n` after its `LIMIT`: the deep page the way the API does not
/// read it, for contrast.
struct Offset<Q>(Q, i64);

impl<Q> QueryId for Offset<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Offset<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.1)
    }
}

/// The command line of `wump-bench reads`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Requests measured per case, one after the other.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Unmeasured requests before them.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Only these sizes (`small`, `large`); both by default.
    #[arg(long, value_delimiter = ',', default_values_t = ["small".to_owned(), "large".to_owned()])]
    sizes: Vec<String>,
    /// The release wump-api to start.
    #[arg(long, default_value = "target/release/wump-api")]
    api: PathBuf,
    /// Where the figures go.
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: PathBuf,
    /// The PostgreSQL server (its database name is replaced by `wump_bench_<size>`).
    #[arg(long, env = "WUMP__DATABASE__URL", hide_env_values = true)]
    database_url: String,
    /// The Valkey the api connects to (its limiter; the cache is off).
    #[arg(long, env = "WUMP__VALKEY__URL", hide_env_values = true)]
    valkey_url: String,
}

/// `wump-bench reads`: measures, writes the `bench-reads` section, fails when a size
/// required is missing.
pub async fn main(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let sizes = args
        .sizes
        .iter()
        .map(|name| Size::named(name).with_context(|| format!("unknown size `{name}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = Options {
        server_url: SecretString::from(args.database_url),
        valkey_url: SecretString::from(args.valkey_url),
        api_binary: args.api,
        sizes,
        warmup: args.warmup,
        samples: args.samples,
    };
    let outcomes = run(&options).await?;
    let provenance = crate::report::Provenance::detect();
    let body = section::render(&outcomes, &provenance, options.samples);
    crate::report::write_section(&args.report, "bench-reads", "just bench-reads", &body)?;
    eprintln!("[bench] written to {}", args.report.display());
    Ok(std::process::ExitCode::SUCCESS)
}
