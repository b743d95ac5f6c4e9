//! Single-flight: concurrent requests for one cache key in this process share one lookup
//! (and, on a miss, one database query) instead of each running their own.
//!
//! The first caller's future does the work inside a [`OnceCell`]; the others await the same
//! cell. If that caller goes away (its client disconnected), the next waiter runs its own
//! work. The cell leaves the map once it holds an answer, so later requests start afresh
//! (and find the answer in Valkey).

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
};

use tokio::sync::OnceCell;

/// The in-flight lookups of one process, by cache key.
#[derive(Debug)]
pub(crate) struct Flights<T> {
    cells: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> Flights<T> {
    /// `work`'s answer, or the answer of the lookup for `key` already under way.
    pub(crate) async fn run<F, Fut>(&self, key: &str, work: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            cells.entry(key.to_owned()).or_default().clone()
        };
        let _leave = Leave {
            flights: self,
            key,
            cell: &cell,
        };
        cell.get_or_init(work).await.clone()
    }

    /// How many lookups are under way (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.cells.lock().unwrap().len()
    }
}

/// Takes the cell out of the map when a participant leaves: once it is answered (later
/// requests must not get an old answer forever), or when the last participant gave up.
struct Leave<'a, T> {
    flights: &'a Flights<T>,
    key: &'a str,
    cell: &'a Arc<OnceCell<T>>,
}

impl<T> Drop for Leave<'_, T> {
    fn drop(&mut self) {
        let mut cells = self.flights.cells.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = cells.get(self.key)
            && Arc::ptr_eq(current, self.cell)
            // The map's reference and ours: nobody else is waiting on it.
            && (self.cell.initialized() || Arc::strong_count(self.cell) <= 2)
        {
            cells.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_the_key_is_forgotten_after() {
        let flights = Arc::new(Flights::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (flights, runs, mut released) = (flights.clone(), runs.clone(), released.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run("k", || async move {
                        let _ = released.wait_for(|r| *r).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 41
                    })
                    .await
            }));
        }
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 41);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
        assert_eq!(flights.run("k", || async { 7 }).await, 7, "a new lookup");
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_hands_the_work_to_the_next() {
        let flights = Arc::new(Flights::<&'static str>::default());
        let leader = {
            let flights = flights.clone();
            tokio::spawn(
                async move { flights.run("k", std::future::pending::<&'static str>).await },
            )
        };
        tokio::task::yield_now().await;
        leader.abort();
        let _ = leader.await;
        assert_eq!(flights.run("k", || async { "second" }).await, "second");
        assert_eq!(flights.len(), 0);
    }
}
