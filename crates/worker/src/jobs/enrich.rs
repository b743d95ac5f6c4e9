//! enrich: an organization's profile, funding and totals, the repository attributes copied
//! onto its edges, and registry metadata for packages that lack it.

use serde_json::json;
use wump_core::{Ecosystem, FundingLink, PackageRef, RepoFullName, jobs::EnrichJob};
use wump_db::{
    edges,
    pool::checkout,
    tables::{
        organizations::{self, OrganizationProfile},
        package_organizations,
        packages::{self, PackageMetadataInput},
        repositories,
    },
};
use wump_manifests::{self as manifest, Format};
use wump_providers::{
    DataProvider, ProviderError, RepoRef,
    registries::{CratesIo, MavenCentral, Npm, Packagist, Pypi, Rubygems},
};

use super::{
    BackgroundJob, Delivery, JobContext, JobError, JobOutcome, db, invalidate::invalidate,
};

/// Where a repository keeps its own funding file.
const REPOSITORY_FUNDING_FILE: &str = ".github/FUNDING.yml";

/// Refreshes one organization: its profile and funding (the owner's own and the
/// `.github/FUNDING.yml` of its most-starred repositories), repository count and star total
/// (rewritten only when something changed), then copies its repositories' stars, flags and
/// owner onto their edges in batches, and finally fetches registry metadata for a bounded
/// number of packages that lack it.
impl BackgroundJob for EnrichJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let (organization, top_repositories, (count, _)) = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            let organization = organizations::by_login(&mut conn, &self.host, &self.organization)
                .await?
                .ok_or_else(|| {
                    JobError::NotFound(format!("organization {}/{}", self.host, self.organization))
                })?;
            let limit = i64::try_from(ctx.funding_repositories).unwrap_or(i64::MAX);
            let top = repositories::top_of_organization(&mut conn, organization.id, limit).await?;
            let totals = repositories::totals_of_organization(&mut conn, organization.id).await?;
            Ok((organization, top, totals))
        })
        .await?;
        let provider = ctx.repository_host(&self.host)?;
        let owner = provider.fetch_owner(&organization.login).await?;

        let mut funding = owner.funding.clone();
        for full_name in &top_repositories {
            let Ok(full_name) = full_name.parse::<RepoFullName>() else {
                continue;
            };
            for link in repository_funding(ctx, &*provider, &self.host, full_name).await? {
                if !funding.contains(&link) {
                    funding.push(link);
                }
            }
        }
        let profile = OrganizationProfile {
            name: owner.name,
            description: owner.description,
            website_url: owner.website_url,
            sponsors_listing_url: owner.sponsors_listing_url,
            funding,
            repositories_count: owner
                .repositories_count
                .map_or(count, i64::from)
                .try_into()
                .unwrap_or(i32::MAX),
        };

        let mut outcome = JobOutcome::default();
        let mut touched_packages = Vec::new();
        let mut touched_organizations = Vec::new();
        let mut conn = db(ctx, async { Ok(checkout(&ctx.db).await?) }).await?;
        let changed = db(ctx, async {
            let changed =
                organizations::update_profile(&mut conn, organization.id, &profile).await?;
            if changed {
                touched_organizations.push(organization.id);
                // "Organizations using P" shows the profile and funding: every P it uses is stale.
                touched_packages.extend(
                    package_organizations::package_ids_of_organization(&mut conn, organization.id)
                        .await?,
                );
            }
            Ok(changed)
        })
        .await?;

        let mut after = None;
        let mut synced = 0usize;
        let batch = i64::try_from(ctx.sync_batch.max(1)).unwrap_or(i64::MAX);
        loop {
            let ids = db(ctx, async {
                Ok(
                    repositories::ids_of_organization(&mut conn, organization.id, after, batch)
                        .await?,
                )
            })
            .await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            let changes = db(ctx, async {
                Ok(edges::sync_repository_attributes(&mut conn, &ids).await?)
            })
            .await?;
            synced += changes.updated;
            outcome.events_recorded += changes.events;
            touched_packages.extend(changes.touched_packages);
            touched_organizations.extend(changes.touched_organizations);
            outcome.records_processed += ids.len() as u64;
            if ids.len() < ctx.sync_batch.max(1) {
                break;
            }
            after = Some(last);
        }
        drop(conn);

        outcome
            .metadata
            .insert("profile_changed".into(), json!(changed));
        outcome
            .metadata
            .insert("edges_synced".into(), json!(synced));
        invalidate(ctx, &mut outcome, touched_packages, touched_organizations).await?;
        refresh_package_metadata(ctx, &mut outcome).await?;
        Ok(outcome)
    }
}

/// The funding links in one repository's `.github/FUNDING.yml`; none when it has no such
/// file or the file cannot be read.
async fn repository_funding(
    ctx: &JobContext,
    provider: &dyn DataProvider,
    host: &str,
    full_name: RepoFullName,
) -> Result<Vec<FundingLink>, JobError> {
    let repo = RepoRef {
        host: host.to_owned(),
        full_name,
    };
    let limit = ctx.limits.max_file_bytes;
    match provider
        .fetch_file(&repo, REPOSITORY_FUNDING_FILE, None, limit)
        .await
    {
        Ok(file) => {
            match manifest::parse_with_limit(
                Format::FundingYml,
                REPOSITORY_FUNDING_FILE,
                &file.bytes,
                usize::try_from(limit).unwrap_or(usize::MAX),
            ) {
                Ok(parsed) => Ok(parsed.funding),
                Err(e) => {
                    tracing::warn!(repository = %repo.full_name, error = %e, "malformed FUNDING.yml skipped");
                    Ok(Vec::new())
                }
            }
        }
        Err(e) if e.is_permanent() => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The registry provider serving `ecosystem`, by its configured name.
fn registry_for(ecosystem: Ecosystem) -> Option<&'static str> {
    Some(match ecosystem {
        Ecosystem::Npm => Npm::NAME,
        Ecosystem::Pypi => Pypi::NAME,
        Ecosystem::Cargo => CratesIo::NAME,
        Ecosystem::Maven => MavenCentral::NAME,
        Ecosystem::Rubygems => Rubygems::NAME,
        Ecosystem::Packagist => Packagist::NAME,
        _ => return None,
    })
}

/// Fetches registry metadata for at most `ctx.metadata_per_run` packages that never had it
/// (most depended-on first), from the registry of each one's ecosystem when configured. A
/// package the registry does not know is marked refreshed so it is not asked again; a
/// registry that is unavailable or limiting ends this round without failing the job.
async fn refresh_package_metadata(
    ctx: &JobContext,
    outcome: &mut JobOutcome,
) -> Result<(), JobError> {
    let ecosystems: Vec<Ecosystem> = Ecosystem::ALL
        .into_iter()
        .filter(|e| registry_for(*e).is_some_and(|name| ctx.providers.get(name).is_some()))
        .collect();
    let limit = i64::try_from(ctx.metadata_per_run).unwrap_or(i64::MAX);
    let packages = db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        Ok(packages::lacking_metadata(&mut conn, &ecosystems, limit).await?)
    })
    .await?;
    let mut refreshed = Vec::new();
    for package in packages {
        let ecosystem = package.ecosystem;
        let Some(provider) = registry_for(ecosystem).and_then(|name| ctx.providers.get(name))
        else {
            continue;
        };
        let answer = provider
            .fetch_package(&PackageRef::new(ecosystem, package.name.clone()))
            .await;
        let metadata = match answer {
            Ok(m) => Some(PackageMetadataInput {
                description: m.description,
                homepage_url: m.homepage_url,
                repository_url: m.repository_url,
                latest_version: m.latest_version,
                funding: m.funding,
            }),
            Err(e) if e.is_permanent() => {
                tracing::info!(package = %package.name, error = %e, "registry has no metadata");
                None
            }
            Err(e) => {
                tracing::warn!(provider = provider.name(), error = %e, "package metadata deferred");
                outcome
                    .metadata
                    .insert("metadata_deferred".into(), json!(e.to_string()));
                if let ProviderError::RateLimited { retry_after, .. } = e {
                    outcome.metadata.insert(
                        "rate_limit_wait_ms".into(),
                        json!(retry_after.as_millis() as u64),
                    );
                }
                break;
            }
        };
        let updated = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            Ok(packages::update_metadata(&mut conn, package.id, metadata.as_ref()).await?)
        })
        .await?;
        if updated {
            refreshed.push(package.id);
        }
    }
    outcome
        .metadata
        .insert("packages_refreshed".into(), json!(refreshed.len()));
    invalidate(ctx, outcome, refreshed, []).await
}
