//! Sizes of large files seen in git trees, by commit: `fetch_file` at that commit refuses
//! one over the caller's limit without asking GitHub (a `Content-Length` is often missing
//! once a response is compressed). Keyed by commit SHA, so an entry never goes stale.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use wump_core::RepoFullName;

use crate::TreeEntry;

/// Smaller files are simply fetched (and cut off at the limit if need be).
const LARGE: u64 = 64 * 1024;
/// Entries kept, oldest forgotten first.
const CAPACITY: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct LargeFiles {
    inner: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    sizes: HashMap<String, u64>,
    order: VecDeque<String>,
}

fn key(repo: &RepoFullName, commit: &str, path: &str) -> String {
    format!("{repo}@{commit}:{path}")
}

impl LargeFiles {
    pub(crate) fn remember(&self, repo: &RepoFullName, commit: &str, entries: &[TreeEntry]) {
        let mut known = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for entry in entries.iter().filter(|e| e.size >= LARGE) {
            let key = key(repo, commit, &entry.path);
            if known.sizes.insert(key.clone(), entry.size).is_none() {
                known.order.push_back(key);
            }
            while known.order.len() > CAPACITY {
                if let Some(old) = known.order.pop_front() {
                    known.sizes.remove(&old);
                }
            }
        }
    }

    pub(crate) fn size(&self, repo: &RepoFullName, commit: &str, path: &str) -> Option<u64> {
        let known = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        known.sizes.get(&key(repo, commit, path)).copied()
    }
}

/// A full commit SHA (SHA-1 or SHA-256), as opposed to a branch or tag name.
pub(crate) fn is_commit_sha(revision: &str) -> bool {
    matches!(revision.len(), 40 | 64) && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_large_files_by_commit_and_forgets_the_oldest() {
        let files = LargeFiles::default();
        let repo: RepoFullName = "o/r".parse().unwrap();
        let entries = [
            TreeEntry {
                path: "small.json".to_owned(),
                size: 10,
            },
            TreeEntry {
                path: "big.lock".to_owned(),
                size: 1 << 20,
            },
        ];
        files.remember(&repo, "abc", &entries);
        assert_eq!(files.size(&repo, "abc", "big.lock"), Some(1 << 20));
        assert_eq!(files.size(&repo, "abc", "small.json"), None);
        assert_eq!(files.size(&repo, "def", "big.lock"), None, "another commit");
        let many: Vec<_> = (0..CAPACITY)
            .map(|i| TreeEntry {
                path: format!("f{i}"),
                size: LARGE,
            })
            .collect();
        files.remember(&repo, "def", &many);
        assert_eq!(files.size(&repo, "abc", "big.lock"), None);
        assert!(is_commit_sha("7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"));
        assert!(!is_commit_sha("main"));
    }
}
