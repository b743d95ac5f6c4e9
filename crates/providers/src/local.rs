//! The local directory provider: repositories laid out on disk, for demos, self-hosting
//! without GitHub, and end-to-end tests.
//!
//! ```text
//! <root>/<owner>/.wump-owner.json        optional owner profile
//! <root>/<owner>/.github/FUNDING.yml     optional owner-wide funding file
//! <root>/<owner>/<repo>/.wump-repo.json  optional repository metadata
//! <root>/<owner>/<repo>/...              the repository's files, any depth
//! ```
//!
//! Every `<owner>/<repo>` directory except `.github` is a repository. Nothing outside the
//! root is ever read: paths with `..` or a root are refused, and symbolic links are
//! followed only when their target stays inside the repository. File system work runs on
//! the blocking pool, never on the async runtime.

use std::{
    fs,
    io::Read,
    path::{Component, Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wump_core::{OrganizationKind, RepoFullName};
use wump_manifests::{self as manifest, Format};

use crate::{
    Capability, DataProvider, DiscoveredRepository, DiscoveryQuery, FileContent, FileTree,
    OwnerProfile, OwnerRef, PageToken, ProviderError, ProviderKind, RepoRef, RepositoryPage,
    TreeEntry,
};

/// The provider's name and the host of its repositories.
pub const NAME: &str = "local";
/// The owner profile file.
pub const OWNER_FILE: &str = ".wump-owner.json";
/// The repository metadata file.
pub const REPO_FILE: &str = ".wump-repo.json";
/// Owner profile files larger than this are refused.
const MAX_METADATA_BYTES: u64 = 1024 * 1024;

/// Repositories under a directory.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    page_size: usize,
}

/// `.wump-owner.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OwnerFile {
    name: Option<String>,
    kind: Option<OrganizationKind>,
    description: Option<String>,
    website_url: Option<String>,
    sponsors_listing_url: Option<String>,
}

/// `.wump-repo.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RepoFile {
    stars: u32,
    forks: u32,
    archived: bool,
    fork: bool,
    pushed_at: Option<DateTime<Utc>>,
    language: Option<String>,
    description: Option<String>,
    default_branch: Option<String>,
}

impl LocalProvider {
    /// Repositories under `root`, `page_size` (at least 1) per discovery page.
    pub fn new(root: impl Into<PathBuf>, page_size: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                root: root.into(),
                page_size: page_size.max(1),
            }),
        }
    }

    /// The directory it reads.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Runs file system work on the blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, ProviderError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, ProviderError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| ProviderError::Config {
                provider: NAME.into(),
                message: format!("file system task failed: {e}"),
            })?
    }
}

#[async_trait]
impl DataProvider for LocalProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::RepositoryHost
    }

    async fn health(&self) -> Result<(), ProviderError> {
        self.blocking(|inner| match fs::metadata(&inner.root) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(config_error(format!(
                "{} is not a directory",
                inner.root.display()
            ))),
            Err(e) => Err(config_error(format!("{}: {e}", inner.root.display()))),
        })
        .await
    }

    async fn discover_repositories(
        &self,
        query: &DiscoveryQuery,
        page: Option<&PageToken>,
    ) -> Result<RepositoryPage, ProviderError> {
        let owner = match query {
            DiscoveryQuery::All => None,
            DiscoveryQuery::Owner { login } => Some(login.clone()),
            DiscoveryQuery::Search { .. } | DiscoveryQuery::DependentsOf { .. } => {
                return Err(self.unsupported(Capability::DiscoverRepositories));
            }
        };
        let after = page
            .map(|token| {
                token.0.parse::<RepoFullName>().map_err(|e| {
                    config_error(format!("page token `{}` is not owner/repo: {e}", token.0))
                })
            })
            .transpose()?;
        self.blocking(move |inner| inner.discover(owner.as_deref(), after.as_ref()))
            .await
    }

    async fn list_files(
        &self,
        repo: &RepoRef,
        _revision: Option<&str>,
    ) -> Result<FileTree, ProviderError> {
        let repo = repo.clone();
        self.blocking(move |inner| {
            let dir = inner.repo_dir(&repo)?;
            let entries = walk(&dir)?;
            let revision = manifest_digest(&dir, &entries)?;
            Ok(FileTree {
                revision,
                entries,
                truncated: false,
            })
        })
        .await
    }

    async fn fetch_file(
        &self,
        repo: &RepoRef,
        path: &str,
        _revision: Option<&str>,
        max_bytes: u64,
    ) -> Result<FileContent, ProviderError> {
        let repo = repo.clone();
        let path = path.to_owned();
        self.blocking(move |inner| {
            let dir = inner.repo_dir(&repo)?;
            let bytes = read_inside(&dir, &path, max_bytes).map_err(|e| match e {
                ReadError::Refused | ReadError::Missing => {
                    not_found(format!("{}:{path}", repo.full_name))
                }
                ReadError::TooLarge(size) => ProviderError::TooLarge {
                    path: format!("{}:{path}", repo.full_name),
                    size,
                    limit: max_bytes,
                },
                ReadError::Io(e) => config_error(format!("{}:{path}: {e}", repo.full_name)),
            })?;
            Ok(FileContent { path, bytes })
        })
        .await
    }

    async fn fetch_owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        let login = login.to_owned();
        self.blocking(move |inner| inner.owner(&login)).await
    }
}

impl Inner {
    fn discover(
        &self,
        owner: Option<&str>,
        after: Option<&RepoFullName>,
    ) -> Result<RepositoryPage, ProviderError> {
        let owners = match owner {
            Some(login) => {
                valid_segment(login)?;
                // Not `is_dir()`: that follows a symbolic link out of the root.
                if !fs::symlink_metadata(self.root.join(login)).is_ok_and(|m| m.is_dir()) {
                    return Err(not_found(format!("owner {login}")));
                }
                vec![login.to_owned()]
            }
            None => subdirectories(&self.root)?,
        };
        let mut names = Vec::new();
        for owner in owners {
            for repo in subdirectories(&self.root.join(&owner))? {
                if repo == ".github" {
                    continue;
                }
                // Directories whose names are no repository names are not repositories.
                if let Ok(name) = RepoFullName::new(&owner, &repo) {
                    names.push(name);
                }
            }
        }
        names.sort();
        names.retain(|name| after.is_none_or(|after| name > after));
        let more = names.len() > self.page_size;
        names.truncate(self.page_size);

        let mut repositories = Vec::with_capacity(names.len());
        for name in names {
            repositories.push(self.describe(name)?);
        }
        let next = more
            .then(|| repositories.last())
            .flatten()
            .map(|last| PageToken(last.repo.full_name.to_string()));
        Ok(RepositoryPage { repositories, next })
    }

    fn describe(&self, full_name: RepoFullName) -> Result<DiscoveredRepository, ProviderError> {
        let dir = self.root.join(full_name.owner()).join(full_name.name());
        let meta: RepoFile = read_json(&dir.join(REPO_FILE))?.unwrap_or_default();
        let owner: OwnerFile =
            read_json(&self.root.join(full_name.owner()).join(OWNER_FILE))?.unwrap_or_default();
        let entries = walk(&dir)?;
        let change_token = manifest_digest(&dir, &entries)?;
        Ok(DiscoveredRepository {
            owner: OwnerRef {
                login: full_name.owner().to_owned(),
                kind: owner.kind.unwrap_or_default(),
            },
            repo: RepoRef {
                host: NAME.into(),
                full_name,
            },
            description: meta.description,
            language: meta.language,
            default_branch: meta.default_branch,
            stars: meta.stars,
            forks: meta.forks,
            archived: meta.archived,
            fork: meta.fork,
            pushed_at: meta.pushed_at,
            change_token: Some(change_token),
        })
    }

    fn repo_dir(&self, repo: &RepoRef) -> Result<PathBuf, ProviderError> {
        let missing = || not_found(format!("repository {}", repo.full_name));
        if repo.host != NAME || repo.full_name.name() == ".github" {
            return Err(missing());
        }
        // RepoFullName already refuses `..`, `/` and anything but plain names. Neither
        // level may be a symbolic link, which could lead outside the root.
        let real_dir = |path: &Path| fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
        let owner = self.root.join(repo.full_name.owner());
        let dir = owner.join(repo.full_name.name());
        if real_dir(&owner) && real_dir(&dir) {
            Ok(dir)
        } else {
            Err(missing())
        }
    }

    fn owner(&self, login: &str) -> Result<OwnerProfile, ProviderError> {
        valid_segment(login)?;
        let dir = self.root.join(login);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Err(not_found(format!("owner {login}")));
        }
        let profile: OwnerFile = read_json(&dir.join(OWNER_FILE))?.unwrap_or_default();
        let funding_path = ".github/FUNDING.yml";
        let funding = match read_inside(&dir, funding_path, manifest::DEFAULT_MAX_BYTES as u64) {
            Ok(bytes) => {
                manifest::parse(Format::FundingYml, funding_path, &bytes)
                    .map_err(|e| malformed(format!("{login}/{funding_path}: {e}")))?
                    .funding
            }
            Err(ReadError::Missing | ReadError::Refused) => Vec::new(),
            Err(ReadError::TooLarge(size)) => {
                return Err(ProviderError::TooLarge {
                    path: format!("{login}/{funding_path}"),
                    size,
                    limit: manifest::DEFAULT_MAX_BYTES as u64,
                });
            }
            Err(ReadError::Io(e)) => {
                return Err(config_error(format!("{login}/{funding_path}: {e}")));
            }
        };
        let repositories = subdirectories(&dir)?
            .into_iter()
            .filter(|repo| repo != ".github" && RepoFullName::new(login, repo).is_ok())
            .count();
        Ok(OwnerProfile {
            login: login.to_owned(),
            kind: profile.kind.unwrap_or_default(),
            name: profile.name,
            description: profile.description,
            website_url: profile.website_url,
            sponsors_listing_url: profile.sponsors_listing_url,
            funding,
            repositories_count: Some(u32::try_from(repositories).unwrap_or(u32::MAX)),
        })
    }
}

/// Why a file inside a repository could not be read.
#[derive(Debug)]
enum ReadError {
    /// The path leaves the directory (`..`, absolute, or a link pointing outside).
    Refused,
    Missing,
    TooLarge(u64),
    Io(std::io::Error),
}

/// Reads `relative` under `dir`, refusing anything that resolves outside `dir`.
fn read_inside(dir: &Path, relative: &str, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let relative_path = Path::new(relative);
    if relative.is_empty()
        || relative.contains('\\')
        || !relative_path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ReadError::Refused);
    }
    let inside = fs::canonicalize(dir).map_err(ReadError::Io)?;
    let target = match fs::canonicalize(dir.join(relative_path)) {
        Ok(target) => target,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(ReadError::Io(e)),
    };
    if !target.starts_with(&inside) {
        return Err(ReadError::Refused);
    }
    let meta = fs::metadata(&target).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::Missing);
    }
    if meta.len() > max_bytes {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(&target)
        .and_then(|file| {
            file.take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .map_err(ReadError::Io)?;
    // The file grew between the size check and the read.
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Every file of the repository at `dir`, sorted by path: `.git` and the metadata file are
/// skipped, symbolic links count only when they point at a file inside `dir`.
fn walk(dir: &Path) -> Result<Vec<TreeEntry>, ProviderError> {
    let inside = fs::canonicalize(dir).map_err(|e| io_error(dir, e))?;
    let mut entries = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((current, prefix)) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(|e| io_error(&current, e))? {
            let entry = entry.map_err(|e| io_error(&current, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // Not UTF-8: no manifest is named like that.
            };
            let path = format!("{prefix}{name}");
            let file_type = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
            if file_type.is_dir() {
                if name != ".git" {
                    pending.push((entry.path(), format!("{path}/")));
                }
            } else if file_type.is_file() {
                if path != REPO_FILE {
                    let size = entry
                        .metadata()
                        .map_err(|e| io_error(&entry.path(), e))?
                        .len();
                    entries.push(TreeEntry { path, size });
                }
            } else if file_type.is_symlink() {
                // Followed only to a file that stays inside the repository; links to
                // directories are skipped so a cycle cannot trap the walk.
                let Ok(target) = fs::canonicalize(entry.path()) else {
                    continue;
                };
                if !target.starts_with(&inside) {
                    continue;
                }
                if let Ok(meta) = fs::metadata(&target)
                    && meta.is_file()
                {
                    entries.push(TreeEntry {
                        path,
                        size: meta.len(),
                    });
                }
            }
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// A stable digest of the manifest files among `entries` (paths and contents of the files
/// [`Format::from_path`] recognises): it moves when a dependency or funding file changes,
/// not when a README does.
fn manifest_digest(dir: &Path, entries: &[TreeEntry]) -> Result<String, ProviderError> {
    let limit = manifest::DEFAULT_MAX_BYTES as u64;
    let mut hasher = Sha256::new();
    for entry in entries
        .iter()
        .filter(|e| Format::from_path(&e.path).is_some())
    {
        // Length-prefix every part so no two different trees hash the same bytes.
        hasher.update((entry.path.len() as u64).to_be_bytes());
        hasher.update(entry.path.as_bytes());
        match read_inside(dir, &entry.path, limit) {
            Ok(bytes) => {
                hasher.update(b"C");
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(&bytes);
            }
            // Too large for the parsers anyway: its size stands for its contents, so a
            // huge file is never read into memory.
            Err(ReadError::TooLarge(size)) => {
                hasher.update(b"S");
                hasher.update(size.to_be_bytes());
            }
            // Gone since the walk (or a link that left): marked, not read.
            Err(ReadError::Missing | ReadError::Refused) => hasher.update(b"-"),
            Err(ReadError::Io(e)) => return Err(io_error(&dir.join(&entry.path), e)),
        }
    }
    Ok(format!(
        "sha256:{}",
        wump_core::hex::encode(&hasher.finalize())
    ))
}

/// The names of the directories directly under `dir` (symbolic links are not followed).
fn subdirectories(dir: &Path) -> Result<Vec<String>, ProviderError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Reads an optional JSON metadata file; `None` when it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, ProviderError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    if meta.len() > MAX_METADATA_BYTES {
        return Err(malformed(format!(
            "{} is over {MAX_METADATA_BYTES} bytes",
            path.display()
        )));
    }
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| malformed(format!("{}: {e}", path.display())))
}

/// An owner login must name one directory directly under the root.
fn valid_segment(login: &str) -> Result<(), ProviderError> {
    RepoFullName::new(login, "x")
        .map(|_| ())
        .map_err(|_| not_found(format!("owner {login}")))
}

fn not_found(what: String) -> ProviderError {
    ProviderError::NotFound {
        provider: NAME.into(),
        what,
    }
}

fn malformed(message: String) -> ProviderError {
    ProviderError::Malformed {
        provider: NAME.into(),
        message,
    }
}

fn config_error(message: String) -> ProviderError {
    ProviderError::Config {
        provider: NAME.into(),
        message,
    }
}

fn io_error(path: &Path, err: std::io::Error) -> ProviderError {
    config_error(format!("{}: {err}", path.display()))
}
