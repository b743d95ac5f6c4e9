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
