//! Webhook subscriptions (docs/webhooks.md): create, list, show, change, delete, rotate
//! the secret, enable again, and the deliveries of each. A subscription belongs to the API
//! key that created it; any other key gets 404 for it, anonymous callers 401.

use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, delete,
    dev::Payload,
    get,
    http::{StatusCode, header},
    patch, post, web,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wump_core::{
    Ecosystem, EventKind,
    webhooks::{MAX_URL_LEN, SigningSecret},
};
use wump_db::tables::{
    packages,
    webhook_deliveries::{self, Delivery},
    webhook_subscriptions::{self, NewSubscription, Scope, Subscription, SubscriptionChanges},
};

use crate::{
    auth::{Caller, Free, RequireTier},
    body::JsonBody,
    pagination::{self, SortKey},
    params::{self, PerPage, Query},
    problem::ApiError,
    state::AppState,
};

/// Most packages one subscription follows.
const MAX_PACKAGES: usize = 100;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// A package, by ecosystem and name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackageName {
    ecosystem: Ecosystem,
    name: String,
}

/// An organization, by host and login.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrganizationName {
    /// e.g. `github.com`.
    host: String,
    login: String,
}

/// A new subscription: a URL, the events wanted, and exactly one of `packages` or
/// `organization`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhook {
    /// Where deliveries are POSTed: https (http only where the operator allows it), a
    /// public address (private, loopback and link-local ones are refused).
    url: String,
    /// For you (up to 500 characters).
    #[serde(default)]
    description: Option<String>,
    /// Default: all four (`dependent.added`, `dependent.removed`, `organization.added`,
    /// `organization.removed`).
    #[serde(default)]
    events: Option<Vec<EventKind>>,
    /// Only events whose repository (or the organization's repositories, summed) have at
    /// least this many stars. Default 0.
    #[serde(default)]
    min_stars: Option<i64>,
    /// 1 to 100 packages to follow.
    #[serde(default)]
    packages: Option<Vec<PackageName>>,
    /// Or every package whose repository is under this organization.
    #[serde(default)]
    organization: Option<OrganizationName>,
}

/// Changes to a subscription; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateWebhook {
    #[serde(default)]
    url: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[serde(default)]
    events: Option<Vec<EventKind>>,
    #[serde(default)]
    min_stars: Option<i64>,
}

/// A field that may be given as `null`: `Some(None)`, told apart from an absent one.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A subscription as its owner sees it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookBody {
    id: Uuid,
    url: String,
    description: Option<String>,
    events: Vec<EventKind>,
    min_stars: i64,
    /// The packages followed (absent for an organization subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    packages: Option<Vec<PackageName>>,
    /// The organization whose packages are followed (absent for a package subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<OrganizationName>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Whether deliveries are sent; a disabled subscription gets none until enabled
    /// (`POST /api/v1/webhooks/{id}/enable`).
    enabled: bool,
    disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled: the run of failures and what the receiver last answered.
    disabled_reason: Option<String>,
    /// Deliveries failed in a row, each after its last attempt.
    consecutive_failures: i32,
    /// The subscription's deliveries.
    deliveries_url: String,
}

/// A subscription with its signing secret: shown once, at creation and rotation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookWithSecret {
    /// `whsec_…`: give it to your Standard Webhooks verifier. Store it now: wump keeps it
    /// only encrypted and never shows it again.
    secret: String,
    webhook: WebhookBody,
}

/// One delivery: the event sent, and how its attempts went.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryBody {
    /// Also the `webhook-id` header, the same on every attempt.
    id: Uuid,
    event: EventKind,
    event_id: i64,
    /// `pending`, `delivered`, `failed` or `skipped`.
    status: String,
    attempts: i32,
    /// The receiver's last HTTP status.
    response_status: Option<i32>,
    /// What went wrong with the last attempt.
    error: Option<String>,
    /// How long the last attempt took.
    latency_ms: Option<i32>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    /// The body sent.
    payload: serde_json::Value,
}

/// A page of subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhooksPage {
    items: Vec<WebhookBody>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveriesPage {
    items: Vec<DeliveryBody>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

/// Paging of the webhook listings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Page size, 1 to 100 (default 30).
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The key owning the caller's subscriptions (the bootstrap admin key owns none).
fn owner(caller: &Caller) -> Result<Uuid, ApiError> {
    caller.key_id.ok_or_else(|| {
        ApiError::Unauthenticated(
            "webhooks belong to a stored API key; the bootstrap admin key cannot own them".into(),
        )
    })
}

/// A subscription id from the path; anything else names no subscription.
fn subscription_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no webhook with id `{raw}`")))
}

/// What every `/api/v1/webhooks/{id}…` route starts from: the key asking (401 without a
/// stored key) and the subscription id in the path (404 when it is none). Whether the key
/// owns it is each query's `owner` condition: another key's subscription is a 404 too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallersWebhook {
    owner: Uuid,
    id: Uuid,
}

impl FromRequest for CallersWebhook {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Self::of(req, payload))
    }
}

impl CallersWebhook {
    fn of(req: &HttpRequest, payload: &mut Payload) -> Result<Self, ApiError> {
        let caller = RequireTier::<Free>::from_request(req, payload).into_inner()?;
        let owner = owner(caller.caller())?;
        let id = subscription_id(req.match_info().get("id").unwrap_or_default())?;
        Ok(CallersWebhook { owner, id })
    }
}

/// An answer about one key's subscriptions: never stored by a shared cache (some carry a
/// secret, all are the key's own).
fn private(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no webhook with id {id}"))
}

fn unprocessable(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The events asked for, at least one, each once.
fn events(events: Option<Vec<EventKind>>) -> Result<Vec<EventKind>, ApiError> {
    let mut events = events.unwrap_or_else(|| EventKind::ALL.to_vec());
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(unprocessable("events", "name at least one event"));
    }
    Ok(events)
}

fn min_stars(value: Option<i64>) -> Result<i64, ApiError> {
    match value.unwrap_or(0) {
        n if n >= 0 => Ok(n),
        _ => Err(unprocessable("min_stars", "must be 0 or more")),
    }
}

fn description(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(text) if text.chars().count() > MAX_DESCRIPTION => Err(unprocessable(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        )),
        other => Ok(other.filter(|t| !t.trim().is_empty())),
    }
}

/// What a new subscription follows: exactly one of 1 to 100 packages wump knows (422
/// naming the first unknown one, `packages[i]`) or an organization.
async fn scope(
    conn: &mut wump_db::AsyncPgConnection,
    packages: Option<Vec<PackageName>>,
    organization: Option<OrganizationName>,
) -> Result<Scope, ApiError> {
    match (packages, organization) {
        (Some(names), None) => {
            if names.is_empty() || names.len() > MAX_PACKAGES {
                return Err(unprocessable(
                    "packages",
                    format!("name 1 to {MAX_PACKAGES} packages"),
                ));
            }
            let mut ids = Vec::with_capacity(names.len());
            for (i, package) in names.iter().enumerate() {
                let field = format!("packages[{i}]");
                let name = params::package_name(&package.name, &field)?;
                let found = packages::by_name(conn, package.ecosystem, &name)
                    .await?
                    .ok_or_else(|| {
                        unprocessable(
                            &field,
                            format!(
                                "wump knows no package {}/{name}",
                                package.ecosystem.as_str()
                            ),
                        )
                    })?;
                if !ids.contains(&found.id) {
                    ids.push(found.id);
                }
            }
            Ok(Scope::Packages(ids))
        }
        (None, Some(organization)) => Ok(Scope::Organization {
            host: params::host(&organization.host)?,
            login: params::login(&organization.login, "organization.login")?,
        }),
        _ => Err(unprocessable(
            "packages",
            "give exactly one of `packages` (1 to 100) or `organization`",
        )),
    }
}

/// The subscription as its owner sees it.
async fn view(
    conn: &mut wump_db::AsyncPgConnection,
    subscription: &Subscription,
) -> Result<WebhookBody, ApiError> {
    let packages = match &subscription.package_ids {
        Some(ids) => {
            let mut names = packages::names_of(conn, ids).await?;
            names.sort_by_key(|(id, ..)| ids.iter().position(|x| x == id));
            Some(
                names
                    .into_iter()
                    .map(|(_, ecosystem, name)| PackageName { ecosystem, name })
                    .collect(),
            )
        }
        None => None,
    };
    let organization = subscription
        .organization_host
        .clone()
        .zip(subscription.organization_login.clone())
        .map(|(host, login)| OrganizationName { host, login });
    Ok(WebhookBody {
        id: subscription.id,
        url: subscription.url.clone(),
        description: subscription.description.clone(),
        events: subscription.events.clone(),
        min_stars: subscription.min_stars,
        packages,
        organization,
        created_at: subscription.created_at,
        updated_at: subscription.updated_at,
        enabled: subscription.disabled_at.is_none(),
        disabled_at: subscription.disabled_at,
        disabled_reason: subscription.disabled_reason.clone(),
        consecutive_failures: subscription.consecutive_failures,
        deliveries_url: format!("/api/v1/webhooks/{}/deliveries", subscription.id),
    })
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event: d.event,
            event_id: d.event_id,
            status: d.status().as_str().to_owned(),
            attempts: d.attempts,
            response_status: d.response_status,
            error: d.error,
            latency_ms: d.latency_ms,
            created_at: d.created_at,
            finished_at: d.finished_at,
            payload: d.payload,
        }
    }
}

/// Subscribe to a package's (or several packages', or an organization's packages') new
/// and lost dependents. The response holds the signing secret, once.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The subscription, with its secret (shown once)", body = WebhookWithSecret,
            headers(("Location" = String, description = "The subscription's URL"))),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/webhooks")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    caller: RequireTier<Free>,
    body: JsonBody<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let owner = owner(caller.caller())?;
    let config = &state.webhooks;
    let cipher = config.cipher()?;
    let request = body.0;
    if request.url.len() > MAX_URL_LEN {
        return Err(unprocessable(
            "url",
            format!("must be at most {MAX_URL_LEN} characters"),
        ));
    }
    let url = config.check_url(&request.url).await?;
    let events = events(request.events)?;
    let min_stars = min_stars(request.min_stars)?;
    let description = description(request.description)?;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let scope = scope(&mut conn, request.packages, request.organization).await?;
    let secret = SigningSecret::generate();
    let new = NewSubscription {
        id: Uuid::now_v7(),
        api_key_id: owner,
        url,
        description,
        events,
        min_stars,
        scope,
        secret_ciphertext: cipher.encrypt(&secret),
    };
    let max = config.settings.max_subscriptions_per_key;
    let stored = webhook_subscriptions::create(&mut conn, &new, max)
        .await?
        .ok_or_else(|| {
            unprocessable(
                "url",
                format!(
                    "this API key already has {max} webhooks (webhooks.max_subscriptions_per_key); \
                     delete one first"
                ),
            )
        })?;
    tracing::info!(webhook.id = %stored.id, key.prefix = caller.caller().key_prefix.as_deref().unwrap_or(""), "webhook created");
    let webhook = view(&mut conn, &stored).await?;
    Ok(private(StatusCode::CREATED)
        .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", stored.id)))
        .json(WebhookWithSecret {
            secret: secret.reveal(),
            webhook,
        }))
}

/// Your API key's webhook subscriptions, oldest first.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhooks",
    params(PageParams),
    responses((status = 200, description = "A page of subscriptions", body = WebhooksPage)),
    security(("api_key" = []))
)]
#[get("/api/v1/webhooks")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: RequireTier<Free>,
    query: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    const LISTING: &str = "webhooks";
    let owner = owner(caller.caller())?;
    let query = query.into_inner();
    let per_page = PerPage::or_default(query.per_page);
    let after = query
        .cursor
        .as_deref()
        .map(|raw| pagination::decode(raw, LISTING).map(|(_, id)| id))
        .transpose()?;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let rows =
        webhook_subscriptions::of_owner(&mut conn, owner, after, i64::from(per_page) + 1).await?;
    let (rows, next_cursor) = pagination::split_page(rows, per_page, |s| {
        pagination::encode(LISTING, SortKey::Number(0), s.id)
    });
    let mut items = Vec::with_capacity(rows.len());
    for subscription in &rows {
        items.push(view(&mut conn, subscription).await?);
    }
    Ok(private(StatusCode::OK).json(WebhooksPage { items, next_cursor }))
}

/// One of your subscriptions (without its secret), with why it is disabled if it is.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "show_webhook",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription", body = WebhookBody)),
    security(("api_key" = []))
)]
#[get("/api/v1/webhooks/{id}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    target: CallersWebhook,
) -> Result<HttpResponse, ApiError> {
    let CallersWebhook { owner, id } = target;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let subscription = webhook_subscriptions::owned(&mut conn, owner, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(private(StatusCode::OK).json(view(&mut conn, &subscription).await?))
}

/// Change a subscription's URL, description, events or `min_stars`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    request_body = UpdateWebhook,
    responses((status = 200, description = "The subscription as changed", body = WebhookBody)),
    security(("api_key" = []))
)]
#[patch("/api/v1/webhooks/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    target: CallersWebhook,
    body_json: JsonBody<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let CallersWebhook { owner, id } = target;
    let request = body_json.0;
    let url = match request.url {
        Some(url) => Some(state.webhooks.check_url(&url).await?),
        None => None,
    };
    let changes = SubscriptionChanges {
        url,
        description: request.description.map(description).transpose()?,
        events: request.events.map(|e| events(Some(e))).transpose()?,
        min_stars: request.min_stars.map(|m| min_stars(Some(m))).transpose()?,
    };
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let subscription = webhook_subscriptions::update(&mut conn, owner, id, &changes)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(private(StatusCode::OK).json(view(&mut conn, &subscription).await?))
}

/// Delete a subscription and its deliveries.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = []))
)]
#[delete("/api/v1/webhooks/{id}")]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    target: CallersWebhook,
) -> Result<HttpResponse, ApiError> {
    let CallersWebhook { owner, id } = target;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    if !webhook_subscriptions::delete(&mut conn, owner, id).await? {
        return Err(not_found(id));
    }
    tracing::info!(webhook.id = %id, "webhook deleted");
    Ok(private(StatusCode::NO_CONTENT).finish())
}

/// Replace a subscription's signing secret: deliveries from now on are signed with the
/// new one, shown here once.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription with its new secret", body = WebhookWithSecret)),
    security(("api_key" = []))
)]
#[post("/api/v1/webhooks/{id}/rotate-secret")]
pub(crate) async fn rotate_secret(
    state: web::Data<AppState>,
    target: CallersWebhook,
) -> Result<HttpResponse, ApiError> {
    let CallersWebhook { owner, id } = target;
    let cipher = state.webhooks.cipher()?;
    let secret = SigningSecret::generate();
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let subscription =
        webhook_subscriptions::replace_secret(&mut conn, owner, id, &cipher.encrypt(&secret))
            .await?
            .ok_or_else(|| not_found(id))?;
    tracing::info!(webhook.id = %id, "webhook secret rotated");
    Ok(private(StatusCode::OK).json(WebhookWithSecret {
        secret: secret.reveal(),
        webhook: view(&mut conn, &subscription).await?,
    }))
}

/// Enable a subscription again after it was disabled, forgetting its failures.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "enable_webhook",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription, enabled", body = WebhookBody)),
    security(("api_key" = []))
)]
#[post("/api/v1/webhooks/{id}/enable")]
pub(crate) async fn enable(
    state: web::Data<AppState>,
    target: CallersWebhook,
) -> Result<HttpResponse, ApiError> {
    let CallersWebhook { owner, id } = target;
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    let subscription = webhook_subscriptions::enable(&mut conn, owner, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(private(StatusCode::OK).json(view(&mut conn, &subscription).await?))
}

/// A subscription's deliveries, newest first: status, attempts, the receiver's last
/// answer, latency, and the body sent.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "The subscription's id"), PageParams),
    responses((status = 200, description = "A page of deliveries", body = DeliveriesPage)),
    security(("api_key" = []))
)]
#[get("/api/v1/webhooks/{id}/deliveries")]
pub(crate) async fn deliveries(
    state: web::Data<AppState>,
    target: CallersWebhook,
    query: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    const LISTING: &str = "webhook-deliveries";
    let CallersWebhook { owner, id } = target;
    let query = query.into_inner();
    let per_page = PerPage::or_default(query.per_page);
    let after = match query.cursor.as_deref() {
        Some(raw) => match pagination::decode(raw, LISTING)? {
            (SortKey::Time(Some(at)), last) => Some((at, last)),
            _ => return Err(pagination::foreign_cursor()),
        },
        None => None,
    };
    let mut conn = wump_db::pool::checkout(&state.db).await?;
    webhook_subscriptions::owned(&mut conn, owner, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let rows =
        webhook_deliveries::of_subscription(&mut conn, id, after, i64::from(per_page) + 1).await?;
    let (rows, next_cursor) = pagination::split_page(rows, per_page, |d| {
        pagination::encode(LISTING, SortKey::Time(Some(d.created_at)), d.id)
    });
    Ok(private(StatusCode::OK).json(DeliveriesPage {
        items: rows.into_iter().map(DeliveryBody::from).collect(),
        next_cursor,
    }))
}
