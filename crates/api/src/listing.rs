//! The one pipeline every keyset-paginated listing runs through: a validated page request,
//! its cursor, the canonical query (cache variant and `Link`), the cached load, the page
//! split and the response. A listing handler supplies only what differs: its filters in
//! the canonical query, the query itself, each row's sort key and its view.

use std::{future::Future, sync::Arc};

use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::{
    cache::{CacheClass, Fresh, Scope},
    pagination::{self, Canonical, SortKey, split_page},
    params::PerPage,
    problem::ApiError,
    state::AppState,
    views::PageItem,
};

/// What names a listing in one order: where its pages are cached and which cursors are
/// its own. The names are part of cache keys and issued cursors: keep them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listing {
    /// The cache class of its pages (their TTL).
    pub class: CacheClass,
    /// The route in the cache variant, e.g. `dependents`.
    pub route: &'static str,
    /// The listing and sort its cursors carry, e.g. `dependents:stars`.
    pub sort: &'static str,
}

/// One page of a listing, validated.
#[derive(Debug)]
pub(crate) struct PageRequest {
    listing: Listing,
    canonical: Canonical,
    per_page: u32,
    cursor: Option<String>,
}

impl PageRequest {
    /// A page of `listing` with the filters already in `canonical`; `per_page` goes last.
    /// 400 naming `cursor` when it is not one of this listing's.
    pub(crate) fn new(
        listing: Listing,
        mut canonical: Canonical,
        per_page: Option<PerPage>,
        cursor: Option<String>,
    ) -> Result<Self, ApiError> {
        let per_page = PerPage::or_default(per_page);
        canonical.push("per_page", per_page);
        let page = Self {
            listing,
            canonical,
            per_page,
            cursor,
        };
        page.after()?;
        Ok(page)
    }

    /// Where the previous page ended: its last row's sort key and id.
    pub(crate) fn after(&self) -> Result<Option<(SortKey, Uuid)>, ApiError> {
        self.cursor
            .as_deref()
            .map(|raw| pagination::decode(raw, self.listing.sort))
            .transpose()
    }

    /// [`PageRequest::after`] for a listing sorted by a number (stars, a count).
    pub(crate) fn after_number(&self) -> Result<Option<(i64, Uuid)>, ApiError> {
        self.after()?
            .map(|(key, id)| Ok((pagination::number(key)?, id)))
            .transpose()
    }

    /// The cache variant of this page as `route` renders it.
    pub(crate) fn variant(&self, route: &str) -> String {
        self.canonical.variant(route, self.cursor.as_deref())
    }

    /// Whether this is a later page (a cursor was given).
    pub(crate) fn is_later(&self) -> bool {
        self.cursor.is_some()
    }

    /// The query of this listing's first page: its filters, order and page size.
    pub(crate) fn first_query(&self) -> String {
        self.canonical.query()
    }

    /// This page's rows out of up to [`PageRequest::limit`] read, and the path and query of
    /// the next page under `path` when another follows; `key` gives a row's sort key and id.
    pub(crate) fn split<Row>(
        &self,
        rows: Vec<Row>,
        path: &str,
        key: impl Fn(&Row) -> (SortKey, Uuid),
    ) -> (Vec<Row>, Option<String>) {
        let (rows, next) = split_page(rows, self.per_page, |row| {
            let (sort_key, id) = key(row);
            pagination::encode(self.listing.sort, sort_key, id)
        });
        let next = next.map(|cursor| self.canonical.next_href(path, &cursor));
        (rows, next)
    }

    /// How many rows to ask for: one more than the page, to know whether another follows.
    pub(crate) fn limit(&self) -> i64 {
        i64::from(self.per_page) + 1
    }

    /// The page through the cache of `scope`: `load` runs on a miss and returns up to
    /// [`PageRequest::limit`] rows; `key` gives a row's sort key and id (the cursor). Pages
    /// are warmable: `load` may run again after the request, when the page is hot and its
    /// scope's version is bumped.
    pub(crate) async fn respond<Row, Item, Load, Fut>(
        self,
        state: &AppState,
        req: &HttpRequest,
        scope: &Scope,
        load: Load,
        key: impl Fn(&Row) -> (SortKey, Uuid) + Send + Sync + 'static,
        item: impl Fn(Row) -> Item + Send + Sync + 'static,
    ) -> Result<HttpResponse, ApiError>
    where
        Row: Send + 'static,
        Item: PageItem + 'static,
        Load: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Row>, ApiError>> + Send + 'static,
    {
        let variant = self
            .canonical
            .variant(self.listing.route, self.cursor.as_deref());
        let page = Arc::new(Render {
            listing: self.listing,
            per_page: self.per_page,
            canonical: self.canonical,
            path: req.path().to_owned(),
            key,
            item,
        });
        let cached = state
            .cache
            .get_or_load_warm(scope, self.listing.class, &variant, move || {
                let (rows, page) = (load(), page.clone());
                async move { Ok(page.render(rows.await?)) }
            })
            .await?;
        Ok(cached.respond(req))
    }
}

/// What turns a listing's rows into its page, kept with the page for warming.
struct Render<K, I> {
    listing: Listing,
    per_page: u32,
    canonical: Canonical,
    /// The request's path, for the `Link` to the next page.
    path: String,
    key: K,
    item: I,
}

impl<K, I> Render<K, I> {
    /// The page of `rows` (one more than a page when another follows) and its `Link`.
    fn render<Row, Item>(&self, rows: Vec<Row>) -> Fresh<Item::Page>
    where
        Item: PageItem,
        K: Fn(&Row) -> (SortKey, Uuid),
        I: Fn(Row) -> Item,
    {
        let (rows, next) = split_page(rows, self.per_page, |row| {
            let (sort_key, id) = (self.key)(row);
            pagination::encode(self.listing.sort, sort_key, id)
        });
        let link = next
            .as_deref()
            .map(|c| self.canonical.next_link(&self.path, c));
        let body = Item::page(rows.into_iter().map(&self.item).collect(), next);
        Fresh { body, link }
    }
}
