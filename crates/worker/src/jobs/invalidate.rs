//! After its writes commit, a job increments the cache version of every package and
//! organization it touched, so readers stop serving what the old rows said.

use std::collections::BTreeSet;

use uuid::Uuid;
use wump_db::{
    Keys,
    pool::checkout,
    tables::{organizations, packages},
};

use super::{JobContext, JobError, JobOutcome, db};

/// Records what a run touched and increments the cache versions of those packages and
/// organizations (after the writes committed: a reader never caches under a new version
/// what the old rows said).
pub(super) async fn invalidate(
    ctx: &JobContext,
    outcome: &mut JobOutcome,
    packages: impl IntoIterator<Item = Uuid>,
    organizations: impl IntoIterator<Item = Uuid>,
) -> Result<(), JobError> {
    let packages: BTreeSet<Uuid> = packages.into_iter().collect();
    let organizations: BTreeSet<Uuid> = organizations.into_iter().collect();
    if packages.is_empty() && organizations.is_empty() {
        return Ok(());
    }
    let packages: Vec<Uuid> = packages.into_iter().collect();
    let organizations: Vec<Uuid> = organizations.into_iter().collect();
    let spelling = Keys::new(ctx.key_prefix.as_str());
    let mut keys = Vec::new();
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        for (ecosystem, name) in packages::keys(&mut conn, &packages).await? {
            keys.push(spelling.package_version(ecosystem, &name));
        }
        for (host, login) in organizations::keys(&mut conn, &organizations).await? {
            keys.push(spelling.organization_version(&host, &login));
        }
        Ok(())
    })
    .await?;
    Keys::bump_versions(&ctx.valkey, &keys).await?;
    extend_sorted(&mut outcome.touched_packages, packages);
    extend_sorted(&mut outcome.touched_organizations, organizations);
    Ok(())
}

fn extend_sorted(list: &mut Vec<Uuid>, more: Vec<Uuid>) {
    list.extend(more);
    list.sort_unstable();
    list.dedup();
}
