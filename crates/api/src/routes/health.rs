//! Health checks for load balancers, orchestrators and operators.
//!
//! Each answers `200` with a status body when healthy and `503` (with `Retry-After`) with
//! the same body saying what is wrong when not. `/health` touches no dependency, so an
//! outage never gets healthy tasks restarted; the others check one thing each, with a
//! bounded wait.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::{Value, json};
use wump_db::DbPool;

use crate::{
    problem::{ApiError, UNAVAILABLE_RETRY_AFTER},
    state::AppState,
};

/// Liveness: the process serves requests.
#[get("/health")]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers. 503 while it does not.
#[get("/health/ready")]
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let healthy = ping_db(&state, &state.db).await;
    let database = if healthy { "ok" } else { "unavailable" };
    status(healthy, json!({ "database": database }))
}

/// The database: a `SELECT 1` through the pool (and the read replica's, when configured),
/// the circuit breaker's state and the pools' usage.
#[get("/health/db")]
pub(crate) async fn db(state: web::Data<AppState>) -> HttpResponse {
    let primary = ping_db(&state, &state.db).await;
    let mut body = json!({
        "database": if primary { "ok" } else { "unavailable" },
        "breaker": state.breaker.state().as_str(),
        "pool": pool_status(&state.db),
    });
    let mut healthy = primary;
    if let Some(read_db) = &state.read_db {
        let replica = ping_db(&state, read_db).await;
        healthy &= replica;
        body["read_replica"] = json!(if replica { "ok" } else { "unavailable" });
        body["read_pool"] = pool_status(read_db);
    }
    status(healthy, body)
}

/// Valkey (cache, rate limits): a `PING` within the command timeout.
#[get("/health/valkey")]
pub(crate) async fn valkey(state: web::Data<AppState>) -> HttpResponse {
    let timeout = Duration::from_millis(state.settings.valkey.command_timeout_ms);
    let healthy = matches!(
        tokio::time::timeout(timeout, wump_db::valkey::ping(&state.valkey)).await,
        Ok(Ok(()))
    );
    status(
        healthy,
        json!({ "valkey": if healthy { "ok" } else { "unavailable" } }),
    )
}

/// The background jobs: every queue's depth, the dead-letter size, and when each job type
/// last succeeded. 503 when the queues or the database cannot be read, or when more jobs
/// than `[api.health] dead_letter_threshold` wait in the dead-letter list (they need a
/// person: `wump-worker dlq list`).
#[get("/health/jobs")]
pub(crate) async fn jobs(state: web::Data<AppState>) -> HttpResponse {
    let timeout = check_timeout(&state);
    let snapshot = match tokio::time::timeout(timeout, queues_snapshot(&state)).await {
        Ok(Ok(snapshot)) => Some(snapshot),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "job health: the queues cannot be read");
            None
        }
        Err(_) => {
            tracing::warn!("job health: reading the queues timed out");
            None
        }
    };
    let last_successes = match tokio::time::timeout(timeout, last_successes(&state)).await {
        Ok(Ok(rows)) => Some(rows),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "job health: job_executions cannot be read");
            None
        }
        Err(_) => None,
    };
    let threshold = state.settings.api.health.dead_letter_threshold;
    let dead_letters = snapshot.as_ref().map(|s| s.dead_letters);
    let too_many_dead = threshold > 0 && dead_letters.is_some_and(|n| n > threshold);
    let healthy = snapshot.is_some() && last_successes.is_some() && !too_many_dead;
    let queues: Option<serde_json::Map<String, Value>> = snapshot.as_ref().map(|s| {
        s.queues
            .iter()
            .map(|(name, depth)| (name.clone(), json!(depth)))
            .collect()
    });
    let last_success: Option<serde_json::Map<String, Value>> =
        last_successes.as_ref().map(|rows| {
            rows.iter()
                .map(|(job_type, at)| (job_type.to_string(), json!(at)))
                .collect()
        });
    status(
        healthy,
        json!({
            "queues": queues,
            "dead_letters": dead_letters,
            "dead_letter_threshold": threshold,
            "last_success": last_success,
        }),
    )
}

/// How long one check may take: the pool's wait plus a second for the query itself.
fn check_timeout(state: &AppState) -> Duration {
    state.settings.database.pool_wait_timeout() + Duration::from_secs(1)
}

async fn ping_db(state: &AppState, pool: &DbPool) -> bool {
    match tokio::time::timeout(check_timeout(state), wump_db::pool::ping(pool)).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database health check failed");
            false
        }
        Err(_) => {
            tracing::warn!("database health check timed out");
            false
        }
    }
}

fn pool_status(pool: &DbPool) -> Value {
    let status = pool.status();
    json!({
        "max_size": status.max_size,
        "size": status.size,
        "available": status.available,
        "waiting": status.waiting,
    })
}

async fn queues_snapshot(state: &AppState) -> Result<wump_db::queue::QueuesSnapshot, ApiError> {
    Ok(state.queues.get().await?.snapshot().await?)
}

async fn last_successes(
    state: &AppState,
) -> Result<
    Vec<(
        wump_core::jobs::JobType,
        Option<chrono::DateTime<chrono::Utc>>,
    )>,
    wump_db::DbError,
> {
    wump_db::pool::bounded(state.read_db(), async {
        let mut conn = wump_db::pool::checkout(state.read_db()).await?;
        Ok(wump_db::tables::job_executions::last_successes(&mut conn).await?)
    })
    .await
}

/// `200 {"status": "ok", ..body}` or `503 {"status": "unavailable", ..body}` with Retry-After.
fn status(healthy: bool, mut body: Value) -> HttpResponse {
    body["status"] = json!(if healthy { "ok" } else { "unavailable" });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", UNAVAILABLE_RETRY_AFTER.as_secs().to_string()))
            .json(body)
    }
}
