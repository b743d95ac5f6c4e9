//! parse: read a repository's manifests and replace its dependency edges.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use wump_core::{DependencyKind, Ecosystem, jobs::ParseJob};
use wump_db::{
    edges::{self, EdgeInput},
    pool::checkout,
    repositories, upserts,
};
use wump_manifests::{self as manifest, Format, ParsedDependency, matcher};
use wump_providers::{ProviderError, RepoRef};

use super::{JobContext, JobError, JobOutcome, db, invalidate};

/// Lists the repository's files, reads the manifests the matcher picks (a file that is
/// too large, vanished or malformed is logged and skipped; the others still count), merges
/// the declarations into one edge per package and replaces the repository's edges with
/// them. A repository the provider no longer has loses its edges and is marked gone
/// (cleanup deletes it after `gone_retention`). Funding files are left to enrichment.
pub async fn parse(ctx: &JobContext, job: &ParseJob) -> Result<JobOutcome, JobError> {
    let full_name = job.repository.to_string();
    let repository = db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        Ok(repositories::find(&mut conn, &job.host, &full_name).await?)
    })
    .await?
    .ok_or_else(|| JobError::NotFound(format!("repository {}/{full_name}", job.host)))?;
    let provider = ctx.repository_host(&job.host)?;
    let repo = RepoRef {
        host: job.host.clone(),
        full_name: job.repository.clone(),
    };

    let mut outcome = JobOutcome::default();
    let tree = match provider.list_files(&repo, None).await {
        Ok(tree) => Some(tree),
        Err(ProviderError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(tree) = tree else {
        tracing::info!(repository = %full_name, "repository is gone; removing its edges");
        outcome.metadata.insert("gone".into(), json!(true));
        let changes = db(ctx, async {
            let mut conn = checkout(&ctx.db).await?;
            let changes = edges::replace_repository_edges(&mut conn, repository.id, &[]).await?;
            repositories::mark_gone(&mut conn, repository.id).await?;
            Ok(changes)
        })
        .await?;
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
    if tree.truncated {
        tracing::warn!(repository = %full_name, "the host cut the file listing short");
    }

    let selection = matcher::select(
        tree.entries.iter().map(|e| (e.path.as_str(), e.size)),
        &ctx.limits,
    );
    let mut skipped: Vec<serde_json::Value> = Vec::new();
    for (path, reason) in &selection.skipped {
        tracing::debug!(repository = %full_name, manifest.path = %path, reason = %reason, "manifest skipped");
        skipped.push(json!({ "path": path, "reason": reason.to_string() }));
    }

    let mut declarations = Vec::new();
    let mut read = 0u64;
    for (path, format) in &selection.selected {
        if format.is_funding() {
            continue;
        }
        let file = match provider
            .fetch_file(&repo, path, None, ctx.limits.max_file_bytes)
            .await
        {
            Ok(file) => file,
            Err(e @ (ProviderError::TooLarge { .. } | ProviderError::NotFound { .. })) => {
                tracing::warn!(repository = %full_name, manifest.path = %path, error = %e, "manifest not read");
                skipped.push(json!({ "path": path, "reason": e.to_string() }));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let limit = usize::try_from(ctx.limits.max_file_bytes).unwrap_or(usize::MAX);
        match manifest::parse_with_limit(*format, path, &file.bytes, limit) {
            Ok(parsed) => {
                read += 1;
                declarations.extend(parsed.dependencies.into_iter().map(|dependency| {
                    Declaration {
                        path: path.clone(),
                        format: *format,
                        dependency,
                    }
                }));
            }
            Err(e) => {
                tracing::warn!(repository = %full_name, manifest.path = %path, error = %e, "malformed manifest skipped");
                skipped.push(json!({ "path": path, "reason": format!("malformed: {e}") }));
            }
        }
    }

    let merged = merge_dependencies(declarations);
    let changes = db(ctx, async {
        let mut conn = checkout(&ctx.db).await?;
        let names: Vec<(Ecosystem, &str)> = merged
            .iter()
            .map(|m| (m.ecosystem, m.name.as_str()))
            .collect();
        let ids = upserts::upsert_packages(&mut conn, &names).await?;
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
        let changes = edges::replace_repository_edges(&mut conn, repository.id, &wanted).await?;
        repositories::mark_parsed(&mut conn, repository.id).await?;
        outcome
            .metadata
            .insert("dependencies".into(), json!(wanted.len()));
        Ok(changes)
    })
    .await?;
    outcome.records_processed = read;
    outcome.metadata.insert("manifests".into(), json!(read));
    outcome.metadata.insert("skipped".into(), json!(skipped));
    outcome.metadata.insert(
        "edges".into(),
        json!({ "inserted": changes.inserted, "updated": changes.updated, "deleted": changes.deleted }),
    );
    tracing::info!(
        repository = %full_name,
        manifests = read,
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

/// One dependency as one file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub path: String,
    pub format: Format,
    pub dependency: ParsedDependency,
}

/// Everything a repository's files say about one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedDependency {
    pub ecosystem: Ecosystem,
    /// As the most significant declaration spells it.
    pub name: String,
    pub normalized_name: String,
    pub kinds: BTreeSet<DependencyKind>,
    pub requirement: String,
    pub resolved_version: Option<String>,
    pub direct: Option<bool>,
    /// Sorted, each once.
    pub manifest_paths: Vec<String>,
}

/// Merges declarations into one entry per (ecosystem, normalized name), sorted by that key;
/// local (path, workspace, link) references are left out, they are no registry packages.
///
/// The most significant declaration is the one of the most significant kind (runtime >
/// peer > optional > build > development > test), then one that states a requirement, then
/// a manifest over a lockfile, then the shallowest path: it gives the name and requirement.
/// The resolved version comes from the most significant declaration that has one; the
/// package is direct when any lockfile says so. The result does not depend on the order of
/// the declarations.
pub fn merge_dependencies(
    declarations: impl IntoIterator<Item = Declaration>,
) -> Vec<MergedDependency> {
    let mut by_package: BTreeMap<(Ecosystem, String), Vec<Declaration>> = BTreeMap::new();
    for declaration in declarations {
        if declaration.dependency.local || declaration.dependency.normalized_name.is_empty() {
            continue;
        }
        let key = (
            declaration.dependency.ecosystem,
            declaration.dependency.normalized_name.clone(),
        );
        by_package.entry(key).or_default().push(declaration);
    }
    by_package
        .into_iter()
        .map(|((ecosystem, normalized_name), mut all)| {
            all.sort_by(|a, b| significance(a).cmp(&significance(b)));
            let primary = &all[0];
            let kinds: BTreeSet<DependencyKind> = all.iter().map(|d| d.dependency.kind).collect();
            let manifest_paths: Vec<String> = all
                .iter()
                .map(|d| d.path.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let resolved_version = all
                .iter()
                .find_map(|d| d.dependency.resolved_version.clone());
            let direct = if all.iter().any(|d| d.dependency.direct == Some(true)) {
                Some(true)
            } else if all.iter().any(|d| d.dependency.direct == Some(false)) {
                Some(false)
            } else {
                None
            };
            MergedDependency {
                ecosystem,
                name: primary.dependency.name.clone(),
                normalized_name,
                kinds,
                requirement: primary.dependency.requirement.clone(),
                resolved_version,
                direct,
                manifest_paths,
            }
        })
        .collect()
}

/// Smaller is more significant; every field takes part so equal keys mean equal
/// declarations and the merge is order-independent.
fn significance(d: &Declaration) -> (usize, bool, bool, usize, &str, &str, &str, &Option<String>) {
    let kind_rank = [
        DependencyKind::Runtime,
        DependencyKind::Peer,
        DependencyKind::Optional,
        DependencyKind::Build,
        DependencyKind::Development,
        DependencyKind::Test,
    ]
    .iter()
    .position(|k| *k == d.dependency.kind)
    .unwrap_or(usize::MAX);
    (
        kind_rank,
        d.dependency.requirement.is_empty(),
        d.format.is_lockfile(),
        d.path.matches('/').count(),
        d.path.as_str(),
        d.dependency.name.as_str(),
        d.dependency.requirement.as_str(),
        &d.dependency.resolved_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(path: &str, format: Format, dependency: ParsedDependency) -> Declaration {
        Declaration {
            path: path.into(),
            format,
            dependency,
        }
    }

    #[test]
    fn declarations_of_one_package_merge_whatever_their_order() {
        let manifest = declared(
            "package.json",
            Format::from_path("package.json").unwrap(),
            ParsedDependency::new(Ecosystem::Npm, "Lodash", "^4.17.0", DependencyKind::Runtime),
        );
        let dev = declared(
            "web/package.json",
            Format::from_path("web/package.json").unwrap(),
            ParsedDependency::new(Ecosystem::Npm, "lodash", "^3", DependencyKind::Development),
        );
        let lock = declared(
            "package-lock.json",
            Format::from_path("package-lock.json").unwrap(),
            ParsedDependency::new(Ecosystem::Npm, "lodash", "", DependencyKind::Runtime)
                .resolved("4.17.21", Some(true)),
        );
        let local = declared(
            "package.json",
            Format::from_path("package.json").unwrap(),
            ParsedDependency::new(
                Ecosystem::Npm,
                "mine",
                "file:../mine",
                DependencyKind::Runtime,
            )
            .local(),
        );
        let forward = merge_dependencies(vec![
            manifest.clone(),
            dev.clone(),
            lock.clone(),
            local.clone(),
        ]);
        let backward = merge_dependencies(vec![local, lock, dev, manifest]);
        assert_eq!(forward, backward);
        assert_eq!(
            forward,
            vec![MergedDependency {
                ecosystem: Ecosystem::Npm,
                name: "Lodash".into(),
                normalized_name: "lodash".into(),
                kinds: [DependencyKind::Runtime, DependencyKind::Development].into(),
                requirement: "^4.17.0".into(),
                resolved_version: Some("4.17.21".into()),
                direct: Some(true),
                manifest_paths: vec![
                    "package-lock.json".into(),
                    "package.json".into(),
                    "web/package.json".into()
                ],
            }]
        );
    }
}
