//! A repository with every package it depends on (`repositories`, then `dependencies`
//! joined with `packages`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::{
    schema::{dependencies, packages},
    tables::{
        dependencies::Dependency,
        packages::Package,
        repositories::{self, Repository},
    },
};

/// A repository and every package it depends on (by package name).
pub async fn repository_with_dependencies(
    conn: &mut AsyncPgConnection,
    host: &str,
    full_name: &str,
) -> QueryResult<Option<(Repository, Vec<(Dependency, Package)>)>> {
    let Some(repository) = repositories::find(conn, host, full_name).await? else {
        return Ok(None);
    };
    let edges = dependencies::table
        .inner_join(packages::table)
        .filter(dependencies::repository_id.eq(repository.id))
        .select((Dependency::as_select(), Package::as_select()))
        .order((packages::ecosystem, packages::normalized_name))
        .load(conn)
        .await?;
    Ok(Some((repository, edges)))
}
