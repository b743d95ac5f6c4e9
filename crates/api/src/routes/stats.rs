//! Totals across the whole database.

use actix_web::{HttpRequest, HttpResponse, get, web};
use wump_db::views;

use super::{NoParams, connection};
use crate::{
    cache::{CacheClass, Fresh, Scope},
    problem::ApiError,
    state::AppState,
    views::StatsView,
};

/// Totals by ecosystem, repositories, organizations, edges, jobs by status, and when data
/// was last refreshed.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "stats",
    operation_id = "get_stats",
    responses((status = 200, description = "The totals", body = StatsView))
)]
#[get("/api/v1/stats")]
pub(crate) async fn stats(
    state: web::Data<AppState>,
    req: HttpRequest,
    _query: crate::params::Query<NoParams>,
) -> Result<HttpResponse, ApiError> {
    let cached = state
        .cache
        .get_or_load(&Scope::Global, CacheClass::Stats, "stats", || async {
            let mut conn = connection(&state).await?;
            let stats = views::stats(&mut conn).await?;
            Ok(Fresh::from(StatsView::from(stats)))
        })
        .await?;
    Ok(cached.respond(&req))
}
