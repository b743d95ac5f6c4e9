//! A fresh, migrated PostgreSQL database per test, cheaply.
//!
//! The first test in any process migrates a template database (named after a hash of the
//! migrations, created under an advisory lock so parallel test binaries agree); every test
//! then gets `CREATE DATABASE … TEMPLATE` of it, dropped again when the test ends. The
//! server is the one `WUMP__DATABASE__URL` names (`just test` starts it); its role needs
//! `CREATEDB`.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::Path,
    time::Duration,
};

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;
use wump_core::settings::DatabaseSettings;

use crate::{DbPool, migrations};

/// A database of its own for one test; dropped with it.
pub struct TestDatabase {
    name: String,
    settings: DatabaseSettings,
    pool: DbPool,
}

/// Settings for the server's maintenance database, from `WUMP__DATABASE__URL`.
pub fn server_settings() -> DatabaseSettings {
    let mut settings = DatabaseSettings::default();
    if let Ok(url) = std::env::var("WUMP__DATABASE__URL") {
        settings.url = SecretString::from(url);
    }
    settings.pool_max_size = 4;
    settings
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

impl TestDatabase {
    /// Creates a fresh migrated database. Panics with a hint when the server is not running.
    pub async fn new() -> Self {
        let server = server_settings();
        let template = TEMPLATE.get_or_init(|| create_template(&server)).await;
        let name = format!("wump_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&server).await;
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        Self::open(name, &server)
    }

    /// Creates a fresh, empty database without running migrations.
    pub async fn empty() -> Self {
        let server = server_settings();
        let name = format!("wump_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&server).await;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        Self::open(name, &server)
    }

    fn open(name: String, server: &DatabaseSettings) -> Self {
        let mut settings = server.clone();
        settings.url = SecretString::from(with_database(server.url.expose_secret(), &name));
        let pool = crate::connect(&settings).expect("a pool for the test database");
        Self {
            name,
            settings,
            pool,
        }
    }

    /// Settings that point at this database.
    pub fn settings(&self) -> &DatabaseSettings {
        &self.settings
    }

    /// A pool of connections to this database.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// A connection outside the pool.
    pub async fn connection(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(self.settings.url.expose_secret())
            .await
            .expect("connecting to the test database")
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = server_settings();
        // Drop may run inside or outside a runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(server.url.expose_secret())
                    .await
                    .ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn admin_connection(server: &DatabaseSettings) -> AsyncPgConnection {
    AsyncPgConnection::establish(server.url.expose_secret())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test PostgreSQL server ({e}); start it with `just services-up` \
             or point WUMP__DATABASE__URL at one"
            )
        })
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    datname: String,
}

/// Creates (once per server and migration set) the migrated template; returns its name.
async fn create_template(server: &DatabaseSettings) -> String {
    let name = format!("wump_template_{:016x}", migrations_fingerprint());
    let mut admin = admin_connection(server).await;
    diesel::sql_query("SELECT pg_advisory_lock(736700)")
        .execute(&mut admin)
        .await
        .expect("template lock");
    let exists = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(&name)
        .load::<Exists>(&mut admin)
        .await
        .expect("looking up the template");
    if exists.is_empty() {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("dropping a half-built template");
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .await
            .expect("creating the template");
        let url = with_database(server.url.expose_secret(), &building);
        let conn = AsyncPgConnection::establish(&url)
            .await
            .expect("connecting to the template");
        migrations::run_pending(conn)
            .await
            .expect("migrating the template");
        // Renaming only once it is complete means a crash never leaves a broken template.
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .await
            .expect("publishing the template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock(736700)")
        .execute(&mut admin)
        .await
        .expect("template unlock");
    name
}

/// A hash of every migration file, so an edited migration gets a new template.
fn migrations_fingerprint() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// A key prefix of its own in the test Valkey server (`WUMP__VALKEY__URL`); every key under
/// it is deleted when the value is dropped.
pub struct TestValkey {
    prefix: String,
    settings: wump_core::settings::ValkeySettings,
    pool: crate::ValkeyPool,
}

impl std::fmt::Debug for TestValkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestValkey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Deletes every key matching a pattern, server-side, in one round trip.
const DELETE_MATCHING: &str = r#"
local cursor = "0"
local deleted = 0
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    deleted = deleted + redis.call("DEL", key)
  end
until cursor == "0"
return deleted
"#;

impl TestValkey {
    /// Connects to the test server with a fresh prefix. Panics with a hint when the server
    /// is not running.
    pub async fn new() -> Self {
        let mut settings = wump_core::settings::ValkeySettings::default();
        if let Ok(url) = std::env::var("WUMP__VALKEY__URL") {
            settings.url = SecretString::from(url);
        }
        settings.pool_size = 2;
        let pool = crate::connect_valkey(&settings).expect("a valid test valkey.url");
        // Every client of the pool, not only the one a ping reaches: code that skips a
        // client still connecting (the rate limiter does) would otherwise see Valkey "down"
        // now and then on a loaded machine.
        use fred::interfaces::ClientLike;
        let connected = tokio::time::timeout(Duration::from_secs(10), pool.wait_for_connect());
        if let Ok(Err(e)) = connected.await {
            panic!("cannot connect to the test Valkey server: {e}");
        }
        crate::valkey::ping(&pool).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach the test Valkey server ({e}); start it with `just services-up` \
                 or point WUMP__VALKEY__URL at one"
            )
        });
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        Self {
            prefix,
            settings,
            pool,
        }
    }

    /// The prefix every key of this test must start with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `name` under this test's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Settings that point at the test server.
    pub fn settings(&self) -> &wump_core::settings::ValkeySettings {
        &self.settings
    }

    /// A pool connected to the test server.
    pub fn pool(&self) -> &crate::ValkeyPool {
        &self.pool
    }

    /// Deletes every key under this test's prefix; returns how many there were.
    pub async fn clear(&self) -> i64 {
        use fred::interfaces::LuaInterface;
        self.pool
            .eval(
                DELETE_MATCHING,
                Vec::<String>::new(),
                vec![format!("{}*", self.prefix)],
            )
            .await
            .expect("deleting the test's keys")
    }
}

impl Drop for TestValkey {
    fn drop(&mut self) {
        let settings = self.settings.clone();
        let pattern = format!("{}*", self.prefix);
        let cleared = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use fred::interfaces::{ClientLike, LuaInterface};
                let pool = crate::connect_valkey(&settings).ok()?;
                pool.wait_for_connect().await.ok()?;
                let deleted: i64 = pool
                    .eval(DELETE_MATCHING, Vec::<String>::new(), vec![pattern])
                    .await
                    .ok()?;
                let _ = pool.quit().await;
                Some(deleted)
            })
        })
        .join();
        if !matches!(cleared, Ok(Some(_))) {
            eprintln!("warning: could not delete the keys under {}", self.prefix);
        }
    }
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    json: String,
}

async fn json(conn: &mut AsyncPgConnection, sql: &str) -> diesel::QueryResult<String> {
    Ok(diesel::sql_query(sql).get_result::<Json>(conn).await?.json)
}

/// The invariant every writer keeps: `(stored, recomputed)` pairs of the roll-ups
/// (`package_organizations`) and the packages' stored counts, each as JSON, the recomputed
/// side aggregated from scratch over the edges. Equal pairs mean nothing is inconsistent.
/// The property test in `crates/db/tests/db/edges.rs` and the chaos runs (`tests/chaos`)
/// both check it.
pub async fn stored_and_recomputed_counts(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<[(String, String); 2]> {
    let stored_rollups = json(
        conn,
        "SELECT coalesce(jsonb_agg(jsonb_build_array(package_id, organization_id, repositories_count, stars_sum)
                 ORDER BY package_id, organization_id), '[]')::text AS json FROM package_organizations",
    )
    .await?;
    let recomputed_rollups = json(
        conn,
        "SELECT coalesce(jsonb_agg(jsonb_build_array(package_id, organization_id, n, stars)
                 ORDER BY package_id, organization_id), '[]')::text AS json
           FROM (SELECT package_id, organization_id, count(*) AS n, sum(repo_stars) AS stars
                   FROM dependencies WHERE NOT repo_archived AND NOT repo_fork
                  GROUP BY package_id, organization_id) t",
    )
    .await?;
    let stored_counts = json(
        conn,
        "SELECT coalesce(jsonb_agg(jsonb_build_array(id, dependents_count, organizations_count) ORDER BY id), '[]')::text AS json
           FROM packages",
    )
    .await?;
    let recomputed_counts = json(
        conn,
        "SELECT coalesce(jsonb_agg(jsonb_build_array(p.id,
                    (SELECT count(*) FROM dependencies d WHERE d.package_id = p.id AND NOT d.repo_archived AND NOT d.repo_fork),
                    (SELECT count(DISTINCT d.organization_id) FROM dependencies d
                      WHERE d.package_id = p.id AND NOT d.repo_archived AND NOT d.repo_fork))
                 ORDER BY p.id), '[]')::text AS json
           FROM packages p",
    )
    .await?;
    Ok([
        (stored_rollups, recomputed_rollups),
        (stored_counts, recomputed_counts),
    ])
}

/// The tables the writers fill, in the order [`dump_tables`] prints them.
const DUMPED_TABLES: [&str; 5] = [
    "organizations",
    "repositories",
    "packages",
    "dependencies",
    "package_organizations",
];

/// Every row of every table the writers fill, as JSON in a stable order (one line per
/// table), leaving out the columns named in `without` (timestamps a re-run rewrites):
/// equal dumps before and after mean a writer or job changed nothing.
pub async fn dump_tables(conn: &mut AsyncPgConnection, without: &[&str]) -> String {
    let without: Vec<String> = without.iter().map(|c| (*c).to_owned()).collect();
    let mut out = String::new();
    for table in DUMPED_TABLES {
        // `table` is one of the constants above; the columns to drop are bound.
        let rows = diesel::sql_query(format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) - $1::text[] ORDER BY (to_jsonb(t) - $1::text[])::text), '[]')::text AS json FROM {table} t"
        ))
        .bind::<diesel::sql_types::Array<Text>, _>(&without)
        .get_result::<Json>(conn)
        .await
        .unwrap_or_else(|e| panic!("dumping {table}: {e}"));
        out.push_str(&rows.json);
        out.push('\n');
    }
    out
}

/// The environment of a `wump-worker` (or `wump-api`) process a test starts, as
/// `WUMP__…` variables: the worker tests and the chaos runs build theirs from one base.
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    vars: Vec<(String, String)>,
}

/// The package registries' provider sections, each turned off by [`ProcessEnv::offline`].
const REGISTRIES: [&str; 6] = [
    "NPM",
    "PYPI",
    "CRATES_IO",
    "MAVEN_CENTRAL",
    "RUBYGEMS",
    "PACKAGIST",
];

impl ProcessEnv {
    /// The servers at `database_url` and `valkey_url` (already migrated: no migrating on
    /// start), with every provider that would reach the internet turned off (GitHub,
    /// ecosystems.dev, the package registries).
    pub fn offline(database_url: &str, valkey_url: &str) -> Self {
        let mut env = Self::default()
            .set("WUMP__DATABASE__URL", database_url)
            .set("WUMP__DATABASE__MIGRATE_ON_START", "false")
            .set("WUMP__VALKEY__URL", valkey_url)
            .set("WUMP__PROVIDERS__GITHUB__ENABLED", "false")
            .set("WUMP__PROVIDERS__ECOSYSTEMS__ENABLED", "false");
        for registry in REGISTRIES {
            env = env.set(
                format!("WUMP__PROVIDERS__REGISTRIES__{registry}__ENABLED"),
                "false",
            );
        }
        env
    }

    /// [`ProcessEnv::offline`] over a test's own database and Valkey key prefix.
    pub fn for_test(db: &TestDatabase, valkey: &TestValkey) -> Self {
        Self::offline(
            db.settings().url.expose_secret(),
            valkey.settings().url.expose_secret(),
        )
        .set("WUMP__QUEUES__KEY_PREFIX", valkey.prefix())
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        match self.vars.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value,
            None => self.vars.push((key, value)),
        }
        self
    }

    /// The variables, in the order they were first set.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The variables, in the order they were first set.
    pub fn into_vars(self) -> Vec<(String, String)> {
        self.vars
    }
}
