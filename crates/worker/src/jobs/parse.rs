//! parse: read a repository's manifests and replace its dependency edges, in three steps:
//! fetch the declarations (provider I/O), merge them into one edge per package
//! (`wump_manifests::merge`, pure), store the edges (database).

use serde_json::{Value, json};
use uuid::Uuid;
use wump_core::{Ecosystem, jobs::ParseJob};
use wump_db::{
    edges::{self, EdgeChanges, EdgeInput},
    pool::checkout,
    tables::{packages, repositories},
};
use wump_manifests::{
    Declaration, Format, ManifestError, MergedDependency, ParsedManifest, RepositoryContext,
    matcher, merge_dependencies,
};
use wump_providers::{DataProvider, ProviderError, RepoRef};

use super::{
    BackgroundJob, Delivery, JobContext, JobError, JobOutcome, db, invalidate::invalidate,
};

/// Lists the repository's files, reads the manifests the matcher picks (a file that is
/// too large, vanished or malformed is logged and skipped; the others still count), merges
/// the declarations into one edge per package and replaces the repository's edges with
/// them. A repository the provider no longer has loses its edges and is marked gone
/// (cleanup deletes it after `gone_retention`). Funding files are left to enrichment.
impl BackgroundJob for ParseJob {
    type Context = JobContext;

    async fn run(&self, ctx: &JobContext, _: &Delivery) -> Result<JobOutcome, JobError> {
        let full_name = self.repository.to_string();
        let repository = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            Ok(repositories::find(&mut conn, &self.host, &full_name).await?)
        })
        .await?
        .ok_or_else(|| JobError::NotFound(format!("repository {}/{full_name}", self.host)))?;
        let provider = ctx.repository_host(&self.host)?;
        let repo = RepoRef {
            host: self.host.clone(),
            full_name: self.repository.clone(),
        };

        let mut outcome = JobOutcome::default();
        let Some(read) = fetch_declarations(ctx, &*provider, &repo).await? else {
            tracing::info!(repository = %full_name, "repository is gone; removing its edges");
            outcome.metadata.insert("gone".into(), json!(true));
            let changes = forget_gone(ctx, repository.id).await?;
            outcome.events_recorded = changes.events;
            outcome
                .metadata
                .insert("edges_deleted".into(), json!(changes.deleted));
            invalidate(
                ctx,
                &mut outcome,
                changes.touched_packages,
                changes.touched_organizations,
            )
            .await?;
            return Ok(outcome);
        };

        let merged = merge_dependencies(read.declarations);
        let (changes, dependencies) = store_edges(ctx, repository.id, merged).await?;
        outcome.events_recorded = changes.events;
        outcome
            .metadata
            .insert("dependencies".into(), json!(dependencies));
        outcome.records_processed = read.manifests;
        outcome
            .metadata
            .insert("manifests".into(), json!(read.manifests));
        outcome
            .metadata
            .insert("skipped".into(), json!(read.skipped));
        outcome.metadata.insert(
            "edges".into(),
            json!({
                "inserted": changes.inserted,
                "updated": changes.updated,
                "deleted": changes.deleted,
                "events": changes.events,
            }),
        );
        tracing::info!(
            repository = %full_name,
            manifests = read.manifests,
            edges.inserted = changes.inserted,
            edges.updated = changes.updated,
            edges.deleted = changes.deleted,
            "parse finished"
        );
        invalidate(
            ctx,
            &mut outcome,
            changes.touched_packages,
            changes.touched_organizations,
        )
        .await?;
        Ok(outcome)
    }
}

/// What a repository's manifests declare.
#[derive(Debug)]
struct Read {
    declarations: Vec<Declaration>,
    /// Manifests read and parsed.
    manifests: u64,
    /// `{path, reason}` of every manifest left out, for `job_executions.metadata`.
    skipped: Vec<Value>,
}

/// Lists the repository's files and fetches and parses the manifests the matcher picks;
/// `None` when the host no longer has the repository. A manifest too large, vanished or
/// malformed is logged and skipped; any other provider failure fails the run.
///
/// Files other files use (version catalogs, MSBuild's central files) are fetched and
/// learned first, so that every file is parsed with what its repository gives it.
async fn fetch_declarations(
    ctx: &JobContext,
    provider: &dyn DataProvider,
    repo: &RepoRef,
) -> Result<Option<Read>, JobError> {
    let full_name = &repo.full_name;
    let tree = match provider.list_files(repo, None).await {
        Ok(tree) => tree,
        Err(ProviderError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if tree.truncated {
        tracing::warn!(repository = %full_name, "the host cut the file listing short");
    }

    let selection = matcher::select(
        tree.entries.iter().map(|e| (e.path.as_str(), e.size)),
        &ctx.limits,
    );
    let mut read = Read {
        declarations: Vec::new(),
        manifests: 0,
        skipped: Vec::new(),
    };
    for (path, reason) in &selection.skipped {
        tracing::debug!(repository = %full_name, manifest.path = %path, reason = %reason, "manifest skipped");
        read.skip(path, reason.to_string());
    }

    let limit = usize::try_from(ctx.limits.max_file_bytes).unwrap_or(usize::MAX);
    let (shared, others): (Vec<_>, Vec<_>) = selection
        .selected
        .iter()
        .filter(|(_, format)| !format.is_funding())
        .partition(|(_, format)| format.supplies_context());
    let mut context = RepositoryContext::new();
    let mut shared_files = Vec::new();
    for (path, format) in shared {
        let Some(bytes) = fetch_manifest(ctx, provider, repo, path, &mut read).await? else {
            continue;
        };
        // A shared file that cannot be learned is reported when it is parsed below.
        let _ = context.learn(*format, path, &bytes, limit);
        shared_files.push((path, *format, bytes));
    }
    for (path, format, bytes) in shared_files {
        read.record(
            repo,
            path,
            format,
            context.parse(format, path, &bytes, limit),
        );
    }
    for (path, format) in others {
        let Some(bytes) = fetch_manifest(ctx, provider, repo, path, &mut read).await? else {
            continue;
        };
        read.record(
            repo,
            path,
            *format,
            context.parse(*format, path, &bytes, limit),
        );
    }
    Ok(Some(read))
}

/// One manifest's bytes; `None` (recorded as skipped) when it is too large or vanished.
async fn fetch_manifest(
    ctx: &JobContext,
    provider: &dyn DataProvider,
    repo: &RepoRef,
    path: &str,
    read: &mut Read,
) -> Result<Option<Vec<u8>>, JobError> {
    match provider
        .fetch_file(repo, path, None, ctx.limits.max_file_bytes)
        .await
    {
        Ok(file) => Ok(Some(file.bytes)),
        Err(e @ (ProviderError::TooLarge { .. } | ProviderError::NotFound { .. })) => {
            tracing::warn!(repository = %repo.full_name, manifest.path = %path, error = %e, "manifest not read");
            read.skip(path, e.to_string());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

impl Read {
    fn skip(&mut self, path: &str, reason: String) {
        self.skipped.push(json!({ "path": path, "reason": reason }));
    }

    /// Keeps a parsed manifest's declarations, or records why it was left out.
    fn record(
        &mut self,
        repo: &RepoRef,
        path: &str,
        format: Format,
        parsed: Result<ParsedManifest, ManifestError>,
    ) {
        match parsed {
            Ok(parsed) => {
                self.manifests += 1;
                self.declarations
                    .extend(
                        parsed
                            .dependencies
                            .into_iter()
                            .map(|dependency| Declaration {
                                path: path.to_owned(),
                                format,
                                dependency,
                            }),
                    );
            }
            Err(e) => {
                tracing::warn!(repository = %repo.full_name, manifest.path = %path, error = %e, "malformed manifest skipped");
                self.skip(path, format!("malformed: {e}"));
            }
        }
    }
}

/// Replaces the repository's edges with `merged` (upserting their packages) and stamps it
/// parsed, in one database operation; returns the changes and how many edges it wanted.
async fn store_edges(
    ctx: &JobContext,
    repository_id: Uuid,
    merged: Vec<MergedDependency>,
) -> Result<(EdgeChanges, usize), JobError> {
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        let names: Vec<(Ecosystem, &str)> = merged
            .iter()
            .map(|m| (m.ecosystem, m.name.as_str()))
            .collect();
        let ids = packages::upsert(&mut conn, &names).await?;
        let wanted: Vec<EdgeInput> = merged
            .into_iter()
            .zip(ids)
            .map(|(m, package_id)| EdgeInput {
                package_id,
                kinds: m.kinds,
                requirement: m.requirement,
                resolved_version: m.resolved_version,
                direct: m.direct,
                manifest_paths: m.manifest_paths,
            })
            .collect();
        let changes = edges::replace_repository_edges(&mut conn, repository_id, &wanted).await?;
        repositories::mark_parsed(&mut conn, repository_id).await?;
        Ok((changes, wanted.len()))
    })
    .await
}

/// Removes the edges of a repository its host no longer has and marks it gone.
async fn forget_gone(ctx: &JobContext, repository_id: Uuid) -> Result<EdgeChanges, JobError> {
    db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        let changes = edges::replace_repository_edges(&mut conn, repository_id, &[]).await?;
        repositories::mark_gone(&mut conn, repository_id).await?;
        Ok(changes)
    })
    .await
}
