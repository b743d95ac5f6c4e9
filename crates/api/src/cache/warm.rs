//! Cache warming: the answers asked for most are rendered again the moment the worker bumps
//! their version, so the first reader after a change still gets a HIT.
//!
//! - Which answers are hot: every lookup of a warmable answer
//!   ([`ResponseCache::get_or_load_warm`](super::ResponseCache::get_or_load_warm)) counts
//!   against its scope. Memory is bounded twice: at most `warm_scopes` scopes, kept by moka's
//!   TinyLFU (how often a scope is asked for decides whether it stays), and at most
//!   [`PER_SCOPE`] answers per scope, the least asked for replaced first (space-saving).
//! - When: on the invalidation message of a scope's version (see [`super::versions`]), so
//!   only while versions are tracked. Bumps that arrive while a scope is being warmed are
//!   folded into one more round, not one each.
//! - How: through the cache's own lookup (single-flight, circuit breaker, stored for the
//!   class's TTL): a reader that arrives meanwhile waits for the same render.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::mpsc;

use super::{CacheClass, Rendered, Scope};
use crate::problem::ApiError;

/// Answers remembered per scope (the filters and pages of a package asked for most).
pub(crate) const PER_SCOPE: usize = 4;

/// How bumps wait for the warming task before some are dropped (a reader then loads).
const QUEUE: usize = 1_024;

/// Renders one answer again (`'static`: it runs after the request that taught it).
pub(crate) type Render =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Rendered, ApiError>> + Send>> + Send + Sync>;

/// The hot answers, by the key of their scope's version.
pub(crate) struct Warmer {
    scopes: moka::sync::Cache<String, Arc<HotScope>>,
    bumps: mpsc::Sender<Arc<HotScope>>,
}

/// A scope's hot answers and whether they are being rendered.
pub(crate) struct HotScope {
    pub(crate) scope: Scope,
    answers: Mutex<Vec<HotAnswer>>,
    warming: AtomicBool,
    /// Bumped again while warming: one more round when this one ends.
    again: AtomicBool,
}

/// One hot answer and how to render it.
#[derive(Clone)]
pub(crate) struct HotAnswer {
    pub(crate) class: CacheClass,
    pub(crate) variant: String,
    asked: u64,
    pub(crate) render: Render,
}

impl Warmer {
    /// A warmer remembering at most `scopes` scopes; the receiver gets each hot scope that
    /// was bumped.
    pub(crate) fn new(scopes: u64) -> (Self, mpsc::Receiver<Arc<HotScope>>) {
        let (bumps, receiver) = mpsc::channel(QUEUE);
        let warmer = Self {
            scopes: moka::sync::Cache::new(scopes.max(1)),
            bumps,
        };
        (warmer, receiver)
    }

    /// Counts one request for (`class`, `variant`) of `scope`, whose version is under
    /// `version_key`; `render` is only called when the answer is new to the scope.
    pub(crate) fn asked(
        &self,
        version_key: &str,
        scope: &Scope,
        class: CacheClass,
        variant: &str,
        render: impl FnOnce() -> Render,
    ) {
        let hot = self.scopes.get_with_by_ref(version_key, || {
            Arc::new(HotScope {
                scope: scope.clone(),
                answers: Mutex::new(Vec::with_capacity(PER_SCOPE)),
                warming: AtomicBool::new(false),
                again: AtomicBool::new(false),
            })
        });
        let mut answers = hot.answers();
        if let Some(known) = answers
            .iter_mut()
            .find(|a| a.class == class && a.variant == variant)
        {
            known.asked += 1;
            return;
        }
        let answer = |asked| HotAnswer {
            class,
            variant: variant.to_owned(),
            asked,
            render: render(),
        };
        if answers.len() < PER_SCOPE {
            answers.push(answer(1));
        } else if let Some(least) = answers.iter_mut().min_by_key(|a| a.asked) {
            // Space-saving: the newcomer inherits the count it displaces, so a burst of
            // one-off pages cannot push out an answer asked for steadily.
            *least = answer(least.asked + 1);
        }
    }

    /// The version under `version_key` was bumped: its scope is warmed if it is hot.
    pub(crate) fn bumped(&self, version_key: &str) {
        if let Some(hot) = self.scopes.get(version_key)
            && self.bumps.try_send(hot).is_err()
        {
            tracing::debug!("cache warming queue full: a bump goes unwarmed");
        }
    }
}

impl HotScope {
    fn answers(&self) -> std::sync::MutexGuard<'_, Vec<HotAnswer>> {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the warming of this scope; `false` when a round is under way (it is told
    /// to run once more instead).
    pub(crate) fn claim(&self) -> bool {
        if self.warming.swap(true, Ordering::AcqRel) {
            self.again.store(true, Ordering::Release);
            return false;
        }
        self.again.store(false, Ordering::Release);
        true
    }

    /// Ends a round; `true` when another one was asked for meanwhile (and is now claimed).
    pub(crate) fn release(&self) -> bool {
        self.warming.store(false, Ordering::Release);
        self.again.load(Ordering::Acquire) && self.claim()
    }

    /// The answers to render, most asked for first.
    pub(crate) fn hottest(&self) -> Vec<HotAnswer> {
        let mut answers = self.answers().clone();
        answers.sort_by_key(|a| std::cmp::Reverse(a.asked));
        answers
    }
}

#[cfg(test)]
mod tests {
    use wump_core::Ecosystem;

    use super::*;

    fn render() -> Render {
        Arc::new(|| {
            Box::pin(async {
                Ok(Rendered {
                    body: "{}".into(),
                    link: None,
                })
            })
        })
    }

    fn scope() -> Scope {
        Scope::Package {
            ecosystem: Ecosystem::Npm,
            normalized_name: "react".into(),
        }
    }

    fn variants(warmer: &Warmer, key: &str) -> Vec<String> {
        let hot = warmer.scopes.get(key).unwrap();
        hot.hottest().into_iter().map(|a| a.variant).collect()
    }

    #[test]
    fn a_scope_keeps_its_most_asked_answers_while_one_off_pages_take_turns_in_the_others() {
        let (warmer, _bumps) = Warmer::new(10);
        let ask = |variant: &str, times: usize| {
            for _ in 0..times {
                warmer.asked("v", &scope(), CacheClass::Dependents, variant, render);
            }
        };
        ask("first-page", 50);
        ask("by-pushed", 20);
        ask("page-2", 10);
        ask("min-stars", 5);
        for page in 3..13 {
            ask(&format!("page-{page}"), 1);
        }
        let kept = variants(&warmer, "v");
        assert_eq!(kept.len(), PER_SCOPE);
        assert_eq!(kept[..2], ["first-page", "by-pushed"]);
        assert!(kept[2..].iter().all(|v| v.starts_with("page-")));
    }

    #[tokio::test]
    async fn only_a_hot_scope_is_sent_for_warming_and_a_bump_during_a_round_asks_for_one_more() {
        let (warmer, mut bumps) = Warmer::new(10);
        warmer.bumped("never-asked");
        assert!(bumps.try_recv().is_err());

        warmer.asked("v", &scope(), CacheClass::Package, "package", render);
        warmer.bumped("v");
        let hot = bumps.try_recv().expect("a hot scope");
        assert_eq!(hot.scope, scope());

        assert!(hot.claim());
        assert!(!hot.claim(), "a second bump while warming waits its turn");
        assert!(hot.release(), "…and gets one more round");
        assert!(!hot.release(), "no bump during that round: done");
        assert!(hot.claim());
    }
}
