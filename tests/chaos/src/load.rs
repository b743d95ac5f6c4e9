//! A load generator: a fixed number of callers per class, each sending one request every
//! `interval` to the apis in turn, recording every answer (status, Retry-After, latency) with
//! its time since the start. The scenarios mark their faults on the same clock and read the
//! numbers per window and class from the [`Recording`].

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use tokio::{sync::watch, task::JoinHandle};

use crate::{Error, Result};

/// Where the load goes.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Base URLs of the apis (`http://127.0.0.1:<port>`).
    pub api_urls: Vec<String>,
    /// The API key keyed callers send in `x-api-key`.
    pub key: String,
}

/// Who asks for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A keyed caller asking for pages warmed into the response cache.
    KeyedCached,
    /// An anonymous caller asking for warmed pages.
    AnonymousCached,
    /// A keyed caller asking for a page nobody asked for before (a fresh search).
    KeyedUncached,
    /// An anonymous caller asking for a fresh page.
    AnonymousUncached,
}

impl Class {
    /// Every class.
    pub const ALL: [Class; 4] = [
        Class::KeyedCached,
        Class::AnonymousCached,
        Class::KeyedUncached,
        Class::AnonymousUncached,
    ];

    /// Sends the key.
    pub fn keyed(self) -> bool {
        matches!(self, Class::KeyedCached | Class::KeyedUncached)
    }

    /// Asks for warmed pages.
    pub fn cached(self) -> bool {
        matches!(self, Class::KeyedCached | Class::AnonymousCached)
    }

    /// A short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Class::KeyedCached => "keyed, cached",
            Class::AnonymousCached => "anonymous, cached",
            Class::KeyedUncached => "keyed, uncached",
            Class::AnonymousUncached => "anonymous, uncached",
        }
    }
}

/// Pages of the demo data that answer 200 once it is loaded (README, "Try the demo").
pub const DEMO_CACHED_PATHS: &[&str] = &[
    "/api/v1/packages/actions/actions%2Fcheckout/organizations?sort=stars",
    "/api/v1/packages/npm/%40northwind%2Fui-kit/dependents",
    "/api/v1/packages/go/github.com%2Fspf13%2Fcobra/organizations",
    "/api/v1/organizations/northwind",
    "/api/v1/search?q=kestrel&type=package",
    "/api/v1/packages/npm/react",
];

/// How hard and how long to wait.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Callers per class, each with one request in flight at a time.
    pub callers_per_class: usize,
    /// Time between the starts of one caller's requests (shorter when a request is slow:
    /// the next starts at once).
    pub interval: Duration,
    /// A request unanswered after this long is a hang.
    pub timeout: Duration,
    /// The warmed pages cached callers ask for.
    pub cached_paths: Vec<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            callers_per_class: 2,
            interval: Duration::from_millis(20),
            timeout: Duration::from_secs(10),
            cached_paths: DEMO_CACHED_PATHS.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

/// One answer (or the lack of one).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Who asked.
    pub class: Class,
    /// When the request started, since the load started.
    pub at: Duration,
    /// How long until the answer, the error or the timeout.
    pub latency: Duration,
    /// The status; `None` for a hang or a connection error.
    pub status: Option<u16>,
    /// The answer carried Retry-After.
    pub retry_after: bool,
    /// No answer within the timeout.
    pub hang: bool,
}

impl Sample {
    /// When the answer came, since the load started.
    pub fn end(&self) -> Duration {
        self.at + self.latency
    }

    /// 200.
    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }
}

/// A running load; [`Load::stop`] returns what it recorded.
#[derive(Debug)]
pub struct Load {
    start: Instant,
    stop: watch::Sender<bool>,
    callers: Vec<JoinHandle<Vec<Sample>>>,
    marks: Arc<Mutex<Vec<(String, Duration)>>>,
}

impl Load {
    /// Asks every cached path through every api, keyed and anonymous, until each answers 200
    /// (so the pages are in the response cache before a fault).
    pub async fn warm(targets: &Targets, paths: &[String], deadline: Duration) -> Result<()> {
        let client = client(Duration::from_secs(10))?;
        for path in paths {
            for base in &targets.api_urls {
                for keyed in [true, false] {
                    let url = format!("{base}{path}");
                    let what = format!("{url} to answer 200");
                    crate::eventually(&what, deadline, || async {
                        let mut request = client.get(&url);
                        if keyed {
                            request = request.header("x-api-key", &targets.key);
                        }
                        let response = request.send().await.ok()?;
                        (response.status() == 200).then_some(())
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Starts the callers.
    pub fn start(targets: Targets, options: LoadOptions) -> Result<Self> {
        let start = Instant::now();
        let client = client(options.timeout)?;
        let (stop, stopped) = watch::channel(false);
        let counter = Arc::new(AtomicU64::new(0));
        let mut callers = Vec::new();
        let mut n = 0usize;
        for class in Class::ALL {
            for _ in 0..options.callers_per_class {
                n += 1;
                callers.push(tokio::spawn(caller(Caller {
                    class,
                    offset: n,
                    targets: targets.clone(),
                    paths: options.cached_paths.clone(),
                    interval: options.interval,
                    client: client.clone(),
                    start,
                    stopped: stopped.clone(),
                    counter: counter.clone(),
                })));
            }
        }
        Ok(Self {
            start,
            stop,
            callers,
            marks: Arc::default(),
        })
    }

    /// Time since the load started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records an event (`"pg killed"`) at the current time; returns that time.
    pub fn mark(&self, label: impl Into<String>) -> Duration {
        let at = self.start.elapsed();
        self.marks.lock().expect("marks").push((label.into(), at));
        at
    }

    /// Stops the callers (requests in flight finish or time out) and returns the recording.
    pub async fn stop(self) -> Recording {
        let _ = self.stop.send(true);
        let mut samples = Vec::new();
        for caller in self.callers {
            samples.extend(caller.await.unwrap_or_default());
        }
        samples.sort_by_key(|s| s.at);
        let marks = self.marks.lock().expect("marks").clone();
        Recording { samples, marks }
    }
}

fn client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| Error::Setup(format!("http client: {e}")))
}

struct Caller {
    class: Class,
    offset: usize,
    targets: Targets,
    paths: Vec<String>,
    interval: Duration,
    client: reqwest::Client,
    start: Instant,
    stopped: watch::Receiver<bool>,
    counter: Arc<AtomicU64>,
}

async fn caller(mut c: Caller) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut i = c.offset;
    let mut next = tokio::time::Instant::now();
    while !*c.stopped.borrow() {
        i += 1;
        let base = &c.targets.api_urls[i % c.targets.api_urls.len()];
        let path = if c.class.cached() {
            c.paths[i % c.paths.len()].clone()
        } else {
            // A query nobody asked before: never in the response cache.
            let n = c.counter.fetch_add(1, Ordering::Relaxed);
            format!("/api/v1/search?q=chaos{n}&type=package")
        };
        let mut request = c.client.get(format!("{base}{path}"));
        if c.class.keyed() {
            request = request.header("x-api-key", &c.targets.key);
        }
        let started = Instant::now();
        let at = started - c.start;
        let result = request.send().await;
        let (status, retry_after, hang) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                // Read the body: a page is served once it has all arrived.
                let body = response.bytes().await;
                match body {
                    Ok(_) => (Some(status), retry_after, false),
                    Err(e) => (None, false, e.is_timeout()),
                }
            }
            Err(e) => (None, false, e.is_timeout()),
        };
        samples.push(Sample {
            class: c.class,
            at,
            latency: started.elapsed(),
            status,
            retry_after,
            hang,
        });
        next += c.interval;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = c.stopped.changed() => {}
        }
    }
    samples
}

/// Everything the load saw, and the scenario's marks on the same clock.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Every request, by start time.
    pub samples: Vec<Sample>,
    /// `(label, time)` of the scenario's events.
    pub marks: Vec<(String, Duration)>,
}

/// Numbers over some of the samples.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests started in the window.
    pub requests: u64,
    /// Answered 200.
    pub ok: u64,
    /// Count per status.
    pub statuses: BTreeMap<u16, u64>,
    /// 503s that carried Retry-After.
    pub unavailable_with_retry_after: u64,
    /// Unanswered within the timeout.
    pub hangs: u64,
    /// Connection errors (no status).
    pub errors: u64,
    /// Latency percentiles and maximum (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Slowest (ms).
    pub max_ms: f64,
}

impl Stats {
    /// Share of requests that did not answer 200 (0 when there were none).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            (self.requests - self.ok) as f64 / self.requests as f64
        }
    }

    /// Requests answered with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

impl Recording {
    /// When `label` was marked.
    pub fn mark(&self, label: &str) -> Option<Duration> {
        self.marks
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, at)| *at)
    }

    /// Samples that started in `[from, to)` and pass `keep`.
    pub fn select(
        &self,
        from: Duration,
        to: Duration,
        keep: impl Fn(&Sample) -> bool,
    ) -> impl Iterator<Item = &Sample> {
        self.samples
            .iter()
            .filter(move |s| s.at >= from && s.at < to && keep(s))
    }

    /// Stats over the samples that started in `[from, to)` and pass `keep`.
    pub fn stats(&self, from: Duration, to: Duration, keep: impl Fn(&Sample) -> bool) -> Stats {
        stats(self.select(from, to, keep))
    }

    /// The end of the last answer other than 200 (of the samples passing `keep`) that
    /// started after `from`: from then on, every such request was served. `None` when all
    /// were 200.
    pub fn last_failure_after(
        &self,
        from: Duration,
        keep: impl Fn(&Sample) -> bool,
    ) -> Option<Duration> {
        self.samples
            .iter()
            .filter(|s| s.at >= from && keep(s) && !s.ok())
            .map(Sample::end)
            .max()
    }

    /// The time of the last sample's start.
    pub fn end(&self) -> Duration {
        self.samples.last().map(|s| s.at).unwrap_or_default()
    }

    /// Requests and 200s per whole second since the start, for a timeline.
    pub fn per_second(&self) -> Vec<(u64, u64, u64)> {
        let mut seconds: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for sample in &self.samples {
            let entry = seconds.entry(sample.at.as_secs()).or_default();
            entry.0 += 1;
            entry.1 += u64::from(sample.ok());
        }
        seconds.into_iter().map(|(s, (n, ok))| (s, n, ok)).collect()
    }
}

/// Stats over `samples`.
pub fn stats<'a>(samples: impl Iterator<Item = &'a Sample>) -> Stats {
    let mut out = Stats::default();
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds");
    for sample in samples {
        out.requests += 1;
        match sample.status {
            Some(status) => {
                *out.statuses.entry(status).or_default() += 1;
                out.ok += u64::from(status == 200);
                out.unavailable_with_retry_after += u64::from(status == 503 && sample.retry_after);
            }
            None if sample.hang => out.hangs += 1,
            None => out.errors += 1,
        }
        let micros = u64::try_from(sample.latency.as_micros()).unwrap_or(u64::MAX);
        let _ = histogram.record(micros.clamp(1, 120_000_000));
    }
    if out.requests > 0 {
        out.p50_ms = histogram.value_at_quantile(0.50) as f64 / 1000.0;
        out.p99_ms = histogram.value_at_quantile(0.99) as f64 / 1000.0;
        out.max_ms = histogram.max() as f64 / 1000.0;
    }
    out
}
