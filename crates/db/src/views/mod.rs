//! Read models that join tables, one module per answer the API gives (as Lemmy keeps
//! `db_views` apart from `db_schema`): a package's dependents, the roll-ups read from
//! either side, a repository with its dependencies, search and global statistics. Queries
//! of one table live with that table in [`crate::tables`].
//!
//! Listings are keyset-paginated: each takes the sort key of the last row it returned
//! (`after`) and a limit, and reads an index range from there. Sorts are descending by a
//! value with the id ascending as tie-breaker, matching the indexes in the schema; nothing
//! uses OFFSET.

mod dependents;
mod repository;
mod search;
mod stats;
mod usage;

pub use dependents::{
    Dependent, DependentsCursor, DependentsQuery, DependentsSort, dependents, dependents_exceed,
    dependents_query,
};
pub use repository::repository_with_dependencies;
pub use search::{SearchHit, SearchTarget, search, search_query};
pub use stats::{Stats, most_depended_upon, stats};
pub use usage::{
    OrganizationDependency, OrganizationUsage, OrganizationsFilter, OrganizationsSort,
    organization_dependencies, organizations_exceed, organizations_using,
    organizations_using_query,
};
