//! The dashboard's buttons on dead letters: replay (back onto its queue with fresh
//! attempts) or purge (delete), one job or every dead job of one queue. Signed-in
//! operators only, forms from our own pages only; each ends with a `303` back to the
//! dashboard, which says what was done.

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};
use uuid::Uuid;
use wump_db::queue::{DeadLetters, QueueError, Selection};

use super::{MAX_FORM_BYTES, session, sign_in::CROSS_SITE};
use crate::{
    pages::{PageError, same_origin},
    problem::ApiError,
    state::AppState,
};

/// What a button applies to.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Job(Uuid),
    Queue(String),
}

/// The form's `id` (one job) or `queue` (all of a queue's dead jobs).
fn target(body: &[u8]) -> Result<Target, ApiError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_FORM_BYTES,
        });
    }
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "id" => {
                return value
                    .parse()
                    .map(Target::Job)
                    .map_err(|_| ApiError::invalid("id", "must be a job id (a UUID)"));
            }
            "queue" if !value.is_empty() => return Ok(Target::Queue(value.into_owned())),
            _ => {}
        }
    }
    Err(ApiError::invalid("id", "name a dead job (id) or a queue"))
}

/// The dead jobs `target` names: one, or every one of a queue.
async fn selected(dead: &DeadLetters, target: &Target) -> Result<Vec<Uuid>, QueueError> {
    Ok(match target {
        Target::Job(id) => vec![*id],
        Target::Queue(queue) => dead
            .list()
            .await?
            .into_iter()
            .filter(|job| &job.queue == queue)
            .map(|job| job.id)
            .collect(),
    })
}

/// Checks the request may act: a form of ours, from a signed-in operator.
async fn authorised(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
    same_origin(req, CROSS_SITE)?;
    session::current(state, req)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("sign in to the dashboard first".to_owned()))
}

fn back(outcome: &str, count: usize) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/admin?{outcome}={count}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `POST /admin/dead-letters/replay`: puts the selected dead jobs back on their queues.
#[post("/dead-letters/replay")]
pub(super) async fn replay(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = authorised(&state, &req).await?;
    let target = target(&body)?;
    let dead = state.queues.get().await?.dead_letters();
    let mut replayed = 0;
    for id in selected(&dead, &target).await.map_err(ApiError::from)? {
        replayed += dead
            .replay(Selection::One(id))
            .await
            .map_err(ApiError::from)?
            .len();
    }
    tracing::info!(
        by = who,
        replayed,
        "dead letters replayed from the dashboard"
    );
    Ok(back("replayed", replayed))
}

/// `POST /admin/dead-letters/purge`: deletes the selected dead jobs.
#[post("/dead-letters/purge")]
pub(super) async fn purge(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = authorised(&state, &req).await?;
    let target = target(&body)?;
    let dead = state.queues.get().await?.dead_letters();
    let mut purged = 0;
    for id in selected(&dead, &target).await.map_err(ApiError::from)? {
        purged += dead
            .purge(Selection::One(id))
            .await
            .map_err(ApiError::from)?;
    }
    if purged == 0
        && let Target::Job(id) = target
    {
        return Err(ApiError::NotFound(format!("no dead job with id {id}")).into());
    }
    tracing::info!(by = who, purged, "dead letters purged from the dashboard");
    Ok(back(
        "purged",
        usize::try_from(purged).unwrap_or(usize::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::{Target, target};

    #[test]
    fn a_button_names_one_job_or_one_queue() {
        let id = uuid::Uuid::nil();
        assert_eq!(
            target(format!("id={id}").as_bytes()).unwrap(),
            Target::Job(id)
        );
        assert_eq!(
            target(b"queue=%7Bwump%3Adiscover%3Anormal%7D").unwrap(),
            Target::Queue("{wump:discover:normal}".to_owned())
        );
        assert!(target(b"id=nope").is_err());
        assert!(target(b"queue=").is_err());
        assert!(target(&vec![b'a'; 10_000]).is_err());
    }
}
