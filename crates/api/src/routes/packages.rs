//! A package, its dependents and the organizations using it.

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::header::{self, HeaderValue},
    web,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wump_core::{DependencyKind, Ecosystem};
use wump_db::{
    AsyncPgConnection,
    tables::{
        self,
        packages::{self, Package},
    },
    views::{
        self, Dependent, DependentsCursor, DependentsQuery, DependentsSort, OrganizationUsage,
        OrganizationsFilter, OrganizationsSort,
    },
};

use super::{NoParams, connection};
use crate::{
    auth::Caller,
    cache::{CacheClass, Fresh, Scope},
    exports::{self, Charge, Export, ExportFormat, FormatParam, Known, Source},
    listing::{Listing, PageRequest},
    pagination::{self, Canonical, SortKey},
    params::{self, Choice, Flag, Moment, NonNegative, PackageKey, PerPage, Query, choice_name},
    problem::ApiError,
    state::AppState,
    views::{
        DependentView, DependentsPage, OrganizationUsagePage, OrganizationUsageView, PackageView,
    },
};

/// How many organizations the package page previews.
const TOP_ORGANIZATIONS: i64 = 5;

/// A package in the path: `/packages/{ecosystem}/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PackagePath {
    /// The ecosystem id.
    #[param(value_type = Ecosystem, inline, example = "npm")]
    pub(crate) ecosystem: String,
    /// The package name, percent-encoded: `/` as `%2F`, `@` as `%40` (npm
    /// `%40babel%2Fcore`, Go `github.com%2Fgorilla%2Fmux`, Maven `org.slf4j:slf4j-api`).
    #[param(example = "left-pad", min_length = 1, max_length = 256)]
    pub(crate) name: String,
}

impl PackagePath {
    /// The package it names, validated.
    pub(crate) fn key(&self) -> Result<PackageKey, ApiError> {
        PackageKey::from_path(&self.ecosystem, &self.name)
    }
}

/// The cache scope of a package's answers.
pub(crate) fn scope(key: &PackageKey) -> Scope {
    Scope::Package {
        ecosystem: key.ecosystem,
        normalized_name: key.normalized_name.clone(),
    }
}

/// The package, or 404 naming it.
pub(crate) async fn find_package(
    conn: &mut AsyncPgConnection,
    key: &PackageKey,
) -> Result<Package, ApiError> {
    packages::by_name(conn, key.ecosystem, &key.name)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "wump knows no {} package named `{}`",
                key.ecosystem, key.name
            ))
        })
}

async fn package_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    key: PackageKey,
) -> Result<HttpResponse, ApiError> {
    let scope = scope(&key);
    let load = {
        let state = state.clone();
        move || {
            let (state, key) = (state.clone(), key.clone());
            async move {
                let mut conn = connection(&state).await?;
                let package = find_package(&mut conn, &key).await?;
                let top = views::organizations_using(
                    &mut conn,
                    package.id,
                    OrganizationsSort::Stars,
                    &OrganizationsFilter::default(),
                    None,
                    TOP_ORGANIZATIONS,
                )
                .await?;
                Ok(Fresh::from(PackageView::new(package, top)))
            }
        }
    };
    let cached = state
        .cache
        .get_or_load_warm(&scope, CacheClass::Package, "package", load)
        .await?;
    Ok(cached.respond(req))
}

/// A package: metadata, funding, how many repositories and organizations use it (the
/// totals the default listings walk through) and the top organizations.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}",
    tag = "packages",
    operation_id = "get_package",
    params(PackagePath),
    responses((status = 200, description = "The package", body = PackageView))
)]
#[get("/api/v1/packages/{ecosystem}/{name}")]
pub(crate) async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<PackagePath>,
    _query: Query<NoParams>,
) -> Result<HttpResponse, ApiError> {
    package_page(&state, &req, path.key()?).await
}

/// Either `ecosystem` and `name`, or `purl`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LookupParams {
    /// The ecosystem id (with `name`).
    #[param(inline, example = "npm")]
    ecosystem: Option<Ecosystem>,
    /// The package name as the registry writes it, e.g. `@babel/core` (with `ecosystem`).
    #[param(example = "left-pad", min_length = 1, max_length = 256)]
    name: Option<String>,
    /// A package URL instead, e.g. `pkg:npm/%40babel/core@7.24.0` (version ignored).
    #[param(
        example = "pkg:npm/left-pad@1.3.0",
        pattern = "^pkg:",
        max_length = 512
    )]
    purl: Option<String>,
}

/// The same answer as `GET /packages/{ecosystem}/{name}`, for names that are awkward in
/// a path, or by package URL.
#[utoipa::path(
    get,
    path = "/api/v1/packages/lookup",
    tag = "packages",
    operation_id = "lookup_package",
    params(LookupParams),
    responses((status = 200, description = "The package", body = PackageView))
)]
#[get("/api/v1/packages/lookup")]
pub(crate) async fn lookup(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<LookupParams>,
) -> Result<HttpResponse, ApiError> {
    let key = match query.into_inner() {
        LookupParams {
            purl: Some(purl),
            ecosystem: None,
            name: None,
        } => params::parse_purl(&purl)?,
        LookupParams {
            purl: None,
            ecosystem: Some(ecosystem),
            name: Some(name),
        } => PackageKey::new(ecosystem, &name)?,
        LookupParams { purl: Some(_), .. } => {
            return Err(ApiError::invalid(
                "purl",
                "give either `purl` or `ecosystem` and `name`, not both",
            ));
        }
        LookupParams {
            ecosystem: None, ..
        } => {
            return Err(ApiError::invalid(
                "ecosystem",
                "is required (or give `purl`)",
            ));
        }
        LookupParams { name: None, .. } => {
            return Err(ApiError::invalid("name", "is required (or give `purl`)"));
        }
    };
    package_page(&state, &req, key).await
}

/// `sort` of the dependents listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum DependentsSortParam {
    /// Most-starred first (the default).
    Stars,
    /// Most recently pushed first; never-pushed last.
    PushedAt,
}

params::choice_param!(DependentsSortParam);

impl Choice for DependentsSortParam {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("stars", DependentsSortParam::Stars),
        ("pushed_at", DependentsSortParam::PushedAt),
    ];
}

/// Filters, order and page of the dependents listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DependentsParams {
    /// Only repositories that use the package as this kind (among others).
    #[param(inline)]
    kind: Option<DependencyKind>,
    /// Only repositories with at least this many stars.
    #[param(inline)]
    min_stars: Option<NonNegative>,
    /// Include archived repositories (default false, as `dependents_count` counts).
    #[param(inline)]
    include_archived: Option<Flag>,
    /// Include forks (default false, as `dependents_count` counts).
    #[param(inline)]
    include_forks: Option<Flag>,
    /// Only repositories of this organization (login).
    organization: Option<String>,
    /// Only direct (true) or only transitive (false) uses; default both.
    #[param(inline)]
    direct: Option<Flag>,
    /// Only repositories wump first saw using the package at or after this day or time
    /// ("who started using it this month"). History starts when wump first saw an edge.
    #[param(inline)]
    since: Option<Moment>,
    #[param(inline)]
    sort: Option<DependentsSortParam>,
    /// Page size, 1 to 100 (default 30); not with an export.
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page; not with an export.
    cursor: Option<String>,
    /// `json` (a page, the default) or an export of the whole list: `csv`, `jsonl`,
    /// `markdown` (also chosen by `Accept: text/csv`, `application/jsonl`,
    /// `application/x-ndjson`, `text/markdown`).
    #[param(inline)]
    format: Option<FormatParam>,
}

/// The dependents filters of a request, with its page.
pub(crate) struct DependentsRequest {
    pub(crate) query: DependentsQuery,
    /// The organization filter's login, resolved to `query.organization_id` by the load.
    pub(crate) organization: Option<String>,
    pub(crate) page: PageRequest,
}

impl DependentsParams {
    /// The filters and order of an export (the whole list): 400 for paging parameters.
    fn validate_export(self) -> Result<(DependentsQuery, Option<String>), ApiError> {
        if self.per_page.is_some() {
            return Err(exports::no_paging("per_page"));
        }
        if self.cursor.is_some() {
            return Err(exports::no_paging("cursor"));
        }
        let request = self.validate()?;
        Ok((request.query, request.organization))
    }

    /// The filters, order and page, validated; 400 naming the parameter.
    pub(crate) fn validate(self) -> Result<DependentsRequest, ApiError> {
        let kind = self.kind;
        let min_stars = self.min_stars.map(|n| n.0);
        let include_archived = Flag::or(self.include_archived, false);
        let include_forks = Flag::or(self.include_forks, false);
        let organization = self
            .organization
            .as_deref()
            .map(|o| params::login(o, "organization"))
            .transpose()?;
        let direct = self.direct.map(|f| f.0);
        let since = self.since.map(|m| m.0);
        let sort_param = DependentsSortParam::or_default(self.sort);
        let (sort, listing) = match sort_param {
            DependentsSortParam::Stars => (DependentsSort::Stars, "dependents:stars"),
            DependentsSortParam::PushedAt => (DependentsSort::PushedAt, "dependents:pushed_at"),
        };
        let listing = Listing {
            class: CacheClass::Dependents,
            route: "dependents",
            sort: listing,
        };
        let mut canonical = Canonical::default();
        canonical
            .push_some("kind", kind.map(|k| k.as_str()))
            .push_some("min_stars", min_stars)
            .push("include_archived", include_archived)
            .push("include_forks", include_forks)
            .push_some("organization", organization.as_deref())
            .push_some("direct", direct)
            .push_some("since", self.since)
            .push("sort", choice_name(sort_param));
        let page = PageRequest::new(listing, canonical, self.per_page, self.cursor)?;
        let after = page
            .after()?
            .map(|(key, id)| dependents_cursor(key, id, sort))
            .transpose()?;
        Ok(DependentsRequest {
            query: DependentsQuery {
                kind,
                min_stars,
                include_archived,
                include_forks,
                organization_id: None,
                direct,
                since,
                sort,
                after,
                limit: page.limit(),
            },
            organization,
            page,
        })
    }
}

/// The cursor of a dependents page, if `key` is one of `sort`'s.
fn dependents_cursor(
    key: SortKey,
    repository_id: Uuid,
    sort: DependentsSort,
) -> Result<DependentsCursor, ApiError> {
    match (key, sort) {
        (SortKey::Number(stars), DependentsSort::Stars) => Ok(DependentsCursor::Stars {
            stars: pagination::int4(stars)?,
            repository_id,
        }),
        (SortKey::Time(pushed_at), DependentsSort::PushedAt) => Ok(DependentsCursor::PushedAt {
            pushed_at,
            repository_id,
        }),
        _ => Err(pagination::foreign_cursor()),
    }
}

/// The repositories that depend on a package ("who uses my package"), most-starred or
/// most recently pushed first. The default listing (no archived repositories, no forks)
/// has exactly `dependents_count` items.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}/dependents",
    tag = "packages",
    operation_id = "list_dependents",
    params(PackagePath, DependentsParams),
    responses((status = 200, description = "A page of dependents, or with `format` (or `Accept`) the whole list as an export (streamed, not cached; `Wump-Export-Truncated`, `Wump-Export-Rows`, `Wump-Export-Limit` headers)",
        content(
            (DependentsPage = "application/json"),
            (String = "text/csv"),
            (String = "application/jsonl"),
            (String = "text/markdown"),
        )))
)]
#[get("/api/v1/packages/{ecosystem}/{name}/dependents")]
pub(crate) async fn dependents(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<PackagePath>,
    query: Query<DependentsParams>,
) -> Result<HttpResponse, ApiError> {
    let key = path.key()?;
    let params = query.into_inner();
    if let Some(format) = exports::negotiate(params.format, &req) {
        let (query, organization) = params.validate_export()?;
        return export_dependents(state, &caller, key, format, query, organization).await;
    }
    let DependentsRequest {
        query,
        organization,
        page,
    } = params.validate()?;
    let sort = query.sort;
    let load = {
        let (state, key) = (state.clone(), key.clone());
        move || {
            let (state, key, mut query) = (state.clone(), key.clone(), query.clone());
            let organization = organization.clone();
            async move {
                let mut conn = connection(&state).await?;
                let package = find_package(&mut conn, &key).await?;
                dependents_of(&mut conn, package.id, &mut query, organization.as_deref()).await
            }
        }
    };
    let cursor_of = move |row: &Dependent| dependent_key(row, sort);
    let item = DependentView::from;
    let scope = scope(&key);
    let response = page.respond(&state, &req, &scope, load, cursor_of, item);
    Ok(vary_on_accept(response.await?))
}

/// `response` marked as depending on `Accept` (which can ask for an export instead).
fn vary_on_accept(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// The whole dependents listing `query` describes, streamed as `format`.
async fn export_dependents(
    state: web::Data<AppState>,
    caller: &Caller,
    key: PackageKey,
    format: ExportFormat,
    mut query: DependentsQuery,
    organization: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings.api.exports;
    let max_rows = exports::max_rows(settings, caller.tier);
    let (package, empty, truncated, rows) = state
        .breaker
        .call(async {
            let mut conn = connection(&state).await?;
            let package = find_package(&mut conn, &key).await?;
            let mut empty = false;
            if let Some(login) = &organization {
                match organization_id(&mut conn, login).await? {
                    Some(id) => query.organization_id = Some(id),
                    // An organization wump does not know has no repositories here.
                    None => empty = true,
                }
            }
            let count = u64::try_from(package.dependents_count).unwrap_or(0);
            let narrowing_only = !query.include_archived && !query.include_forks;
            let default = narrowing_only
                && query.kind.is_none()
                && query.min_stars.is_none()
                && query.organization_id.is_none()
                && query.direct.is_none()
                && query.since.is_none();
            let known = match (empty, default, narrowing_only) {
                (true, _, _) => Known::Exactly(0),
                (_, true, _) => Known::Exactly(count),
                (_, _, true) => Known::AtMost(count),
                _ => Known::Nothing,
            };
            let conn = &mut conn;
            let (query, id) = (&query, package.id);
            let (truncated, rows) = exports::plan(known, max_rows, move |n| async move {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                Ok(views::dependents_exceed(conn, id, query, n).await?)
            })
            .await?;
            Ok((package, empty, truncated, rows))
        })
        .await?;
    let title = format!(
        "# Dependents of the {} package {}\n\n{} and {} use it (archived repositories and \
         forks not counted). From wump.\n\n",
        key.ecosystem,
        crate::exports::markdown_code(&key.name),
        crate::pages::format::counted(package.dependents_count, "repository", "repositories"),
        crate::pages::format::counted(package.organizations_count, "organization", "organizations"),
    );
    let export = Export {
        format,
        file_stem: format!("{}-{}-dependents", key.ecosystem, key.name),
        title,
        noun: "repositories",
        truncated,
        rows,
        max_rows,
        batch_rows: settings.batch_rows,
        charge: Charge {
            limiter: state.limiter.clone(),
            caller: caller.clone(),
            rows_per_request: settings.rows_per_request,
        },
    };
    Ok(export.respond(DependentsSource {
        state: state.clone(),
        package_id: package.id,
        query,
        empty,
    }))
}

/// The dependents of one package, batch after batch.
struct DependentsSource {
    state: web::Data<AppState>,
    package_id: Uuid,
    /// The filters, and where the last batch ended.
    query: DependentsQuery,
    /// Nothing to list (an unknown organization).
    empty: bool,
}

impl Source for DependentsSource {
    type Row = DependentView;

    async fn batch(&mut self, limit: i64) -> Result<Vec<DependentView>, ApiError> {
        if self.empty {
            return Ok(Vec::new());
        }
        let query = DependentsQuery {
            limit,
            ..self.query.clone()
        };
        let (state, id) = (&self.state, self.package_id);
        let rows = state
            .breaker
            .call(async {
                let mut conn = connection(state).await?;
                Ok(views::dependents(&mut conn, id, &query).await?)
            })
            .await?;
        if let Some(last) = rows.last() {
            self.query.after = Some(last.cursor(self.query.sort));
        }
        Ok(rows.into_iter().map(DependentView::from).collect())
    }
}

/// A page of `package`'s dependents for `query`, its organization filter given by login.
pub(crate) async fn dependents_of(
    conn: &mut AsyncPgConnection,
    package: Uuid,
    query: &mut DependentsQuery,
    organization: Option<&str>,
) -> Result<Vec<Dependent>, ApiError> {
    if let Some(login) = organization {
        // An organization wump does not know has no repositories here.
        let Some(id) = organization_id(conn, login).await? else {
            return Ok(Vec::new());
        };
        query.organization_id = Some(id);
    }
    Ok(views::dependents(conn, package, query).await?)
}

/// A dependent's sort key in `sort` and its id: what its cursor carries.
pub(crate) fn dependent_key(row: &Dependent, sort: DependentsSort) -> (SortKey, Uuid) {
    let key = match row.cursor(sort) {
        DependentsCursor::Stars { stars, .. } => SortKey::Number(stars.into()),
        DependentsCursor::PushedAt { pushed_at, .. } => SortKey::Time(pushed_at),
    };
    (key, row.edge.repository_id)
}

/// The id of the organization `login` (on its preferred host), if wump knows it.
pub(crate) async fn organization_id(
    conn: &mut AsyncPgConnection,
    login: &str,
) -> Result<Option<Uuid>, ApiError> {
    let Some(host) = tables::organizations::host_of_login(conn, login).await? else {
        return Ok(None);
    };
    Ok(tables::organizations::by_login(conn, &host, login)
        .await?
        .map(|o| o.id))
}

/// `sort` of the organizations listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum OrganizationsSortParam {
    /// By the stars of their repositories that use the package (the default).
    Stars,
    /// By how many of their repositories use it.
    Repositories,
}

params::choice_param!(OrganizationsSortParam);

impl Choice for OrganizationsSortParam {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("stars", OrganizationsSortParam::Stars),
        ("repositories", OrganizationsSortParam::Repositories),
    ];
}

/// Order, filter and page of the organizations listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrganizationsParams {
    #[param(inline)]
    sort: Option<OrganizationsSortParam>,
    /// Only organizations with a sponsors page or FUNDING.yml links.
    #[param(inline)]
    has_funding: Option<Flag>,
    /// Only organizations that started using the package at or after this day or time
    /// (their first repository using it was first seen then).
    #[param(inline)]
    since: Option<Moment>,
    /// Page size, 1 to 100 (default 30); not with an export.
    #[param(inline)]
    per_page: Option<PerPage>,
    /// The `next_cursor` of the previous page; not with an export.
    cursor: Option<String>,
    /// `json` (a page, the default) or an export of the whole list: `csv`, `jsonl`,
    /// `markdown` (also chosen by `Accept`, as on the dependents listing).
    #[param(inline)]
    format: Option<FormatParam>,
}

impl OrganizationsParams {
    /// The order, the filters and the page.
    fn validate(self) -> Result<(OrganizationsSort, OrganizationsFilter, PageRequest), ApiError> {
        let sort = OrganizationsSortParam::or_default(self.sort);
        let has_funding = Flag::or(self.has_funding, false);
        let filter = OrganizationsFilter {
            has_funding,
            since: self.since.map(|m| m.0),
        };
        let (db_sort, listing) = match sort {
            OrganizationsSortParam::Stars => (OrganizationsSort::Stars, "organizations:stars"),
            OrganizationsSortParam::Repositories => (
                OrganizationsSort::Repositories,
                "organizations:repositories",
            ),
        };
        let listing = Listing {
            class: CacheClass::Organizations,
            route: "organizations",
            sort: listing,
        };
        let mut canonical = Canonical::default();
        canonical
            .push("sort", choice_name(sort))
            .push("has_funding", has_funding)
            .push_some("since", self.since);
        let page = PageRequest::new(listing, canonical, self.per_page, self.cursor)?;
        Ok((db_sort, filter, page))
    }
}

/// The organizations whose repositories use a package, with their funding: whom to ask
/// for sponsorship. Without filters it has exactly `organizations_count` items.
#[utoipa::path(
    get,
    path = "/api/v1/packages/{ecosystem}/{name}/organizations",
    tag = "packages",
    operation_id = "list_package_organizations",
    params(PackagePath, OrganizationsParams),
    responses((status = 200, description = "A page of organizations, or with `format` (or `Accept`) the whole list as an export (streamed, not cached; `Wump-Export-Truncated`, `Wump-Export-Rows`, `Wump-Export-Limit` headers)",
        content(
            (OrganizationUsagePage = "application/json"),
            (String = "text/csv"),
            (String = "application/jsonl"),
            (String = "text/markdown"),
        )))
)]
#[get("/api/v1/packages/{ecosystem}/{name}/organizations")]
pub(crate) async fn organizations(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<PackagePath>,
    query: Query<OrganizationsParams>,
) -> Result<HttpResponse, ApiError> {
    let key = path.key()?;
    let params = query.into_inner();
    if let Some(format) = exports::negotiate(params.format, &req) {
        if params.per_page.is_some() {
            return Err(exports::no_paging("per_page"));
        }
        if params.cursor.is_some() {
            return Err(exports::no_paging("cursor"));
        }
        let (sort, filter, _) = params.validate()?;
        return export_organizations(state, &caller, key, format, sort, filter).await;
    }
    let (sort, filter, page) = params.validate()?;
    let (after, limit) = (page.after_number()?, page.limit());
    let load = {
        let (state, key) = (state.clone(), key.clone());
        move || {
            let (state, key) = (state.clone(), key.clone());
            async move {
                let mut conn = connection(&state).await?;
                let id = find_package(&mut conn, &key).await?.id;
                let rows = views::organizations_using(&mut conn, id, sort, &filter, after, limit);
                Ok(rows.await?)
            }
        }
    };
    let cursor_of =
        move |row: &OrganizationUsage| (SortKey::Number(row.sort_value(sort)), row.organization.id);
    let item = OrganizationUsageView::from;
    let scope = scope(&key);
    let response = page.respond(&state, &req, &scope, load, cursor_of, item);
    Ok(vary_on_accept(response.await?))
}

/// The whole organizations listing, streamed as `format`.
async fn export_organizations(
    state: web::Data<AppState>,
    caller: &Caller,
    key: PackageKey,
    format: ExportFormat,
    sort: OrganizationsSort,
    filter: OrganizationsFilter,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings.api.exports;
    let max_rows = exports::max_rows(settings, caller.tier);
    let (package, truncated, rows) = state
        .breaker
        .call(async {
            let mut conn = connection(&state).await?;
            let package = find_package(&mut conn, &key).await?;
            let count = u64::try_from(package.organizations_count).unwrap_or(0);
            let known = if filter != OrganizationsFilter::default() {
                Known::AtMost(count)
            } else {
                Known::Exactly(count)
            };
            let (conn, id) = (&mut conn, package.id);
            let (truncated, rows) = exports::plan(known, max_rows, move |n| async move {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                Ok(views::organizations_exceed(conn, id, &filter, n).await?)
            })
            .await?;
            Ok((package, truncated, rows))
        })
        .await?;
    let title = format!(
        "# Organizations using the {} package {}\n\n{} own the {} that use it (archived \
         repositories and forks not counted). From wump.\n\n",
        key.ecosystem,
        crate::exports::markdown_code(&key.name),
        crate::pages::format::counted(package.organizations_count, "organization", "organizations"),
        crate::pages::format::counted(package.dependents_count, "repository", "repositories"),
    );
    let export = Export {
        format,
        file_stem: format!("{}-{}-organizations", key.ecosystem, key.name),
        title,
        noun: "organizations",
        truncated,
        rows,
        max_rows,
        batch_rows: settings.batch_rows,
        charge: Charge {
            limiter: state.limiter.clone(),
            caller: caller.clone(),
            rows_per_request: settings.rows_per_request,
        },
    };
    Ok(export.respond(OrganizationsSource {
        state: state.clone(),
        package_id: package.id,
        sort,
        filter,
        after: None,
    }))
}

/// The organizations using one package, batch after batch.
struct OrganizationsSource {
    state: web::Data<AppState>,
    package_id: Uuid,
    sort: OrganizationsSort,
    filter: OrganizationsFilter,
    /// Where the last batch ended.
    after: Option<(i64, Uuid)>,
}

impl Source for OrganizationsSource {
    type Row = OrganizationUsageView;

    async fn batch(&mut self, limit: i64) -> Result<Vec<OrganizationUsageView>, ApiError> {
        let (state, id, sort, filter, after) = (
            &self.state,
            self.package_id,
            self.sort,
            self.filter,
            self.after,
        );
        let rows = state
            .breaker
            .call(async {
                let mut conn = connection(state).await?;
                let rows = views::organizations_using(&mut conn, id, sort, &filter, after, limit);
                Ok(rows.await?)
            })
            .await?;
        if let Some(last) = rows.last() {
            self.after = Some((last.sort_value(sort), last.organization.id));
        }
        Ok(rows.into_iter().map(OrganizationUsageView::from).collect())
    }
}
