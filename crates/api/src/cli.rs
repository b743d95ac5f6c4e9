//! `wump-api keys …`: API keys for operators. A new key goes to stdout alone on its line
//! (so scripts can capture it), everything said about it to stderr. Exit code 0 on
//! success, 1 with a message for an unknown prefix or an invalid value, 2 for a usage
//! error.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use secrecy::ExposeSecret;
use wump_db::{AsyncPgConnection, tables::api_keys::ApiKey};

use crate::auth::{
    LastKnown, Tier,
    manage::{self, KeySpec},
};

/// Operations on API keys.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it; it cannot be shown again.
    Create {
        /// Who or what the key is for.
        #[arg(long)]
        name: String,
        /// free, standard, premium or admin.
        #[arg(long, value_parser = parse_tier)]
        tier: Tier,
        /// Days until the key expires (default: never).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
        /// Requests per minute instead of the tier's limit.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// List every key (prefix, name, tier, created, expires, last used, revoked).
    List,
    /// Revoke the key with this prefix now.
    Revoke {
        /// The key's prefix (`wump_<prefix>_…`).
        prefix: String,
    },
    /// Replace the key with this prefix by a new one (same name, tier, limit and expiry)
    /// and revoke the old one, now or after a grace period.
    Rotate {
        /// The key's prefix (`wump_<prefix>_…`).
        prefix: String,
        /// Minutes the old key keeps working.
        #[arg(long, value_name = "MINUTES", default_value_t = 0)]
        grace: u32,
    },
}

fn parse_tier(s: &str) -> Result<Tier, String> {
    s.parse()
        .map_err(|e: crate::auth::UnknownTier| e.to_string())
}

/// Runs one keys command; `out` gets keys and listings, `err` the messages about them.
/// Revocations and rotations also go to `last_known`, so API instances that cannot reach
/// PostgreSQL refuse a revoked key at once.
pub async fn keys(
    command: &KeysCommand,
    conn: &mut AsyncPgConnection,
    last_known: &LastKnown,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            name,
            tier,
            expires,
            limit,
        } => {
            let spec = KeySpec {
                name: name.clone(),
                tier: *tier,
                expires_in_days: *expires,
                rate_limit: *limit,
            };
            let created = manage::create(conn, &spec).await?;
            writeln!(out, "{}", created.key.expose_secret())?;
            writeln!(
                err,
                "Created key {} ({}, tier {}, expires {}).\n\
                 Store it now: it cannot be shown again (wump keeps only its hash).",
                created.stored.prefix,
                created.stored.name,
                created.stored.tier,
                when(created.stored.expires_at, "never"),
            )?;
        }
        KeysCommand::List => {
            let keys = manage::list(conn).await?;
            write_table(out, &keys)?;
        }
        KeysCommand::Revoke { prefix } => {
            let revoked = manage::revoke(conn, prefix).await?;
            let shared = last_known.remember_stored(&revoked).await;
            writeln!(
                err,
                "Revoked key {} ({}) at {}; running API instances refuse it within their key cache TTL (at once where PostgreSQL is unreachable).",
                revoked.prefix,
                revoked.name,
                when(revoked.revoked_at, "-"),
            )?;
            warn_unshared(err, shared)?;
        }
        KeysCommand::Rotate { prefix, grace } => {
            let (created, old) = manage::rotate(conn, prefix, *grace).await?;
            let shared = last_known.remember_stored(&old).await
                & last_known.remember_stored(&created.stored).await;
            writeln!(out, "{}", created.key.expose_secret())?;
            writeln!(
                err,
                "Created key {} to replace {} ({}); {} stops working at {}.\n\
                 Store the new key now: it cannot be shown again.",
                created.stored.prefix,
                old.prefix,
                old.name,
                old.prefix,
                when(old.revoked_at, "-"),
            )?;
            warn_unshared(err, shared)?;
        }
    }
    Ok(())
}

/// Says so when the revocation could not be written to Valkey: instances that cannot
/// reach PostgreSQL then go on accepting the key on its last known validity.
fn warn_unshared(err: &mut impl Write, shared: bool) -> std::io::Result<()> {
    if shared {
        return Ok(());
    }
    writeln!(
        err,
        "Warning: valkey could not be reached, so the revocation is in PostgreSQL only: an \
         API instance that cannot reach PostgreSQL may accept the key on its last known \
         validity until it can (at most api.auth.outage_grace_secs)."
    )
}

fn when(at: Option<DateTime<Utc>>, none: &str) -> String {
    at.map_or_else(
        || none.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

/// Keys as an aligned table, never their hashes.
fn write_table(out: &mut impl Write, keys: &[ApiKey]) -> std::io::Result<()> {
    let rows: Vec<[String; 7]> = keys
        .iter()
        .map(|k| {
            [
                k.prefix.clone(),
                k.name.clone(),
                k.tier.to_string(),
                when(Some(k.created_at), "-"),
                when(k.expires_at, "never"),
                when(k.last_used_at, "never"),
                when(k.revoked_at, "-"),
            ]
        })
        .collect();
    let header = [
        "PREFIX",
        "NAME",
        "TIER",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "REVOKED",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}
