//! Which host an organization lives on, for requests that name only its login (a
//! repository's host is its owner's). `github.com` wins a tie.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::organizations;

/// The host preferred when a login exists on several.
pub const PREFERRED_HOST: &str = "github.com";

/// The host of the organization `login` (case-insensitive), `github.com` first. Served by
/// the trigram index on `login_key`, which answers equality too.
pub async fn organization_host(
    conn: &mut AsyncPgConnection,
    login: &str,
) -> QueryResult<Option<String>> {
    organizations::table
        .filter(organizations::login_key.eq(login.to_lowercase()))
        .select(organizations::host)
        .order((
            organizations::host.eq(PREFERRED_HOST).desc(),
            organizations::host.asc(),
        ))
        .first(conn)
        .await
        .optional()
}
