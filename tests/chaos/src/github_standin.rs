//! A GitHub stand-in: a real HTTP server answering the parts of GitHub's REST and GraphQL
//! API that `scrape --provider github` → parse → enrich use, over a generated [`Tree`],
//! with GitHub's documented payloads and headers (`x-ratelimit-*` with real per-token
//! quotas, `Date`, `ETag`/`If-None-Match`, `Link` paging, the raw and sha media types).
//!
//! It records every request (arrival, token, path, what it answered) and every wait it
//! announced on a token: a secondary limit (403 with `retry-after`) or a spent primary
//! quota (403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`). Like GitHub, it
//! answers a request sent into an announced wait with another 403. [`GithubStandIn::waits_report`]
//! counts the requests that arrived inside a wait announced on their token.
//!
//! [`GithubStandIn::misbehave`] switches it, until [`GithubStandIn::behave`], into answering
//! a seeded mix of secondary and primary 403s, bursts of 5xx, responses that never come
//! (held far past any client timeout) and bodies that trickle in over seconds.
//!
//! Endpoints: `GET /rate_limit`, `/search/repositories`, `/repos/{o}/{r}`,
//! `/repos/{o}/{r}/commits/{ref}`, `/repos/{o}/{r}/git/trees/{sha}`,
//! `/repos/{o}/{r}/contents/{path}`, `/users/{login}`, `/orgs|users/{login}/repos`,
//! `POST /graphql`; anything else is GitHub's 404.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{
    Request, Response, StatusCode,
    body::{Frame, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::{net::TcpListener, task::JoinSet};

use crate::tree::{Owner, Repository, Tree};

type Body = BoxBody<Bytes, Infallible>;

/// Results per search page (GitHub's largest).
const PER_PAGE: usize = 100;

/// The bucket a request counts against, as `x-ratelimit-resource` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Core,
    Search,
    Graphql,
}

impl Resource {
    fn name(self) -> &'static str {
        match self {
            Resource::Core => "core",
            Resource::Search => "search",
            Resource::Graphql => "graphql",
        }
    }

    /// GitHub's documented quota for a token: requests per window.
    fn quota(self) -> (u32, i64) {
        match self {
            Resource::Core | Resource::Graphql => (5_000, 3_600_000),
            Resource::Search => (30, 60_000),
        }
    }

    fn of_path(path: &str) -> Self {
        if path.starts_with("/search/") {
            Resource::Search
        } else if path == "/graphql" {
            Resource::Graphql
        } else {
            Resource::Core
        }
    }
}

/// What the stand-in answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The real answer (2xx, 304 or a 404 GitHub would give).
    Normal,
    /// 403 with `retry-after`.
    Secondary,
    /// 403 with `x-ratelimit-remaining: 0`.
    Primary,
    /// 403 again: the request came inside a wait announced on its token.
    StillLimited,
    /// 502/503/504.
    ServerError,
    /// Held past any client timeout.
    Hang,
    /// The real answer, its body trickling in.
    Trickle,
}

/// One request as it arrived.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestRecord {
    /// Milliseconds since the Unix epoch.
    pub arrived_ms: i64,
    /// Index into the configured tokens; `None` without a known token.
    pub token: Option<usize>,
    pub resource: Resource,
    pub method: String,
    pub path: String,
    pub answer: Answer,
    pub status: u16,
    /// The TCP connection it came on (numbered from 0 in accept order).
    pub connection: u64,
}

/// A wait the stand-in announced on a token.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AnnouncedWait {
    pub token: Option<usize>,
    /// `None`: a secondary limit, every request of the token; else one bucket.
    pub resource: Option<Resource>,
    /// When the answer was sent (ms since the epoch).
    pub from_ms: i64,
    /// Nothing on this token (and bucket) before this (ms since the epoch).
    pub until_ms: i64,
    pub primary: bool,
    /// The connection of the request that was answered with it.
    pub connection: u64,
}

/// How it misbehaves: relative weights of each answer, and their timings.
#[derive(Debug, Clone)]
pub struct Faults {
    pub seed: u64,
    pub normal: u32,
    pub secondary: u32,
    pub primary: u32,
    pub server_error: u32,
    pub hang: u32,
    pub trickle: u32,
    /// A 5xx answer starts a burst of this many.
    pub burst: u32,
    /// `retry-after` of secondary 403s, seconds (drawn from this range).
    pub retry_after_secs: (u64, u64),
    /// How far ahead `x-ratelimit-reset` lies in primary 403s, seconds.
    pub reset_in_secs: (u64, u64),
    /// How long a hung response is held.
    pub hang_for: Duration,
    /// How long a trickling body takes (drawn between the bounds).
    pub trickle_for: (Duration, Duration),
}

impl Faults {
    /// An even mix of every fault, short waits; `client_timeout` sizes hangs and trickles
    /// (half the trickles finish inside it, half do not).
    pub fn mix(seed: u64, client_timeout: Duration) -> Self {
        Self {
            seed,
            normal: 40,
            secondary: 12,
            primary: 8,
            server_error: 20,
            hang: 10,
            trickle: 10,
            burst: 3,
            retry_after_secs: (1, 4),
            reset_in_secs: (2, 6),
            hang_for: client_timeout * 3,
            trickle_for: (client_timeout / 2, client_timeout * 2),
        }
    }
}

/// What [`GithubStandIn::waits_report`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WaitsReport {
    pub requests: usize,
    pub secondary_waits: usize,
    pub primary_waits: usize,
    /// Requests that arrived inside a wait announced on their token (and bucket).
    pub into_wait: usize,
    /// Of those, the ones that arrived within the grace of the announcement: sent before
    /// the client could have read it.
    pub into_wait_in_flight: usize,
    /// The latest arrival into a wait, measured from its announcement (ms).
    pub deepest_ms: i64,
    /// Requests into a wait sent by the process that was told about it (its connection
    /// belongs to the same process), beyond those in flight.
    pub same_process: usize,
    /// Requests into a wait sent by another process than the one told, beyond those in
    /// flight: what only limits shared by the whole fleet prevent.
    pub other_process: usize,
}

impl WaitsReport {
    /// Requests into a wait that were not already in flight when it was announced.
    pub fn beyond_in_flight(&self) -> usize {
        self.into_wait - self.into_wait_in_flight
    }
}

/// Per token and bucket: the current window.
#[derive(Debug, Clone, Copy)]
struct Quota {
    window_start_ms: i64,
    used: u32,
}

#[derive(Debug)]
struct State {
    tree: Tree,
    tokens: Vec<String>,
    requests: Vec<RequestRecord>,
    waits: Vec<AnnouncedWait>,
    quotas: HashMap<(Option<usize>, Resource), Quota>,
    /// The connection of the request being answered.
    connection: u64,
    /// The process owning each connection's client end, when it could be found.
    owners: HashMap<u64, Option<u32>>,
    faults: Option<(Faults, StdRng)>,
    burst_left: u32,
    /// Fault kinds answered since misbehaving began.
    dealt: Vec<Answer>,
}

/// The running stand-in; stops when dropped.
#[derive(Debug)]
pub struct GithubStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for GithubStandIn {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `Date` as HTTP sends it (IMF-fixdate).
fn http_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

impl GithubStandIn {
    /// Serves `tree` on a free port of 127.0.0.1; `tokens` are the ones it accepts (any
    /// other `Authorization` gets GitHub's 401).
    pub async fn start(tree: Tree, tokens: Vec<String>) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // A runtime of its own: arrival times are taken when a request is read, so the
        // harness' load (which shares the caller's runtime) must not delay them.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("github-standin")
            .enable_all()
            .build()?;
        let state = Arc::new(Mutex::new(State {
            tree,
            tokens,
            requests: Vec::new(),
            waits: Vec::new(),
            quotas: HashMap::new(),
            faults: None,
            burst_left: 0,
            dealt: Vec::new(),
            connection: 0,
            owners: HashMap::new(),
        }));
        let shared = Arc::clone(&state);
        let server = runtime.spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            // Dropping the set (when the accept loop is aborted) ends every connection.
            let mut connections = JoinSet::new();
            let port = addr.port();
            for connection in 0u64.. {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                connections.spawn(async move {
                    // Which process is on the other end (for attributing requests into waits),
                    // looked up before serving: a short-lived client socket is gone afterwards.
                    let pid = tokio::task::spawn_blocking(move || socket_owner(peer.port(), port))
                        .await
                        .ok()
                        .flatten();
                    lock(&state).owners.insert(connection, pid);
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(&state, connection, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            addr,
            state,
            server,
            runtime: Some(runtime),
        })
    }

    /// The REST base (`WUMP__PROVIDERS__GITHUB__API_URL`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GraphQL endpoint (`WUMP__PROVIDERS__GITHUB__GRAPHQL_URL`).
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Starts misbehaving as `faults` says.
    pub fn misbehave(&self, faults: Faults) {
        let rng = StdRng::seed_from_u64(faults.seed);
        let mut state = self.lock();
        state.faults = Some((faults, rng));
        state.dealt.clear();
    }

    /// Answers normally again (waits already announced still hold, as on GitHub).
    pub fn behave(&self) {
        let mut state = self.lock();
        state.faults = None;
        state.burst_left = 0;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// Every wait announced so far.
    pub fn waits(&self) -> Vec<AnnouncedWait> {
        self.lock().waits.clone()
    }

    /// How many requests came in so far.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// Requests that arrived inside a wait announced on their token; those arriving within
    /// `in_flight_grace` of the announcement count as already in flight.
    pub fn waits_report(&self, in_flight_grace: Duration) -> WaitsReport {
        let state = self.lock();
        let mut report = waits_report(&state.requests, &state.waits, in_flight_grace);
        let (same, other) = by_process(&state, in_flight_grace);
        report.same_process = same;
        report.other_process = other;
        report
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process holding the client end of the connection from `peer_port` to `port` on
/// 127.0.0.1 (Linux: `/proc/net/tcp` gives the socket's inode, `/proc/<pid>/fd` its owner).
fn socket_owner(peer_port: u16, port: u16) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port_of = |address: &str| {
            address
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
        };
        (fields.len() > 9
            && port_of(fields[1]) == Some(peer_port)
            && port_of(fields[2]) == Some(port))
        .then(|| fields[9].to_owned())
    })?;
    let target = format!("socket:[{inode}]");
    for process in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = process.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == target) {
                return Some(pid);
            }
        }
    }
    None
}

/// Requests into a wait beyond those in flight, split into `(sent by the process that was
/// told, sent by another)`; requests whose process is unknown count as neither.
fn by_process(state: &State, in_flight_grace: Duration) -> (usize, usize) {
    let grace = in_flight_grace.as_millis() as i64;
    let owner = |connection: u64| state.owners.get(&connection).copied().flatten();
    let (mut same, mut other) = (0, 0);
    for request in &state.requests {
        let covering: Vec<&AnnouncedWait> = state
            .waits
            .iter()
            .filter(|w| {
                w.token == request.token
                    && w.resource.is_none_or(|r| r == request.resource)
                    && w.from_ms < request.arrived_ms
                    && request.arrived_ms < w.until_ms
            })
            .collect();
        let Some(earliest) = covering.iter().map(|w| w.from_ms).min() else {
            continue;
        };
        if request.arrived_ms - earliest <= grace {
            continue;
        }
        let Some(sender) = owner(request.connection) else {
            continue;
        };
        // Told: one of the waits covering it was answered to this process before it.
        if covering
            .iter()
            .any(|w| w.from_ms + grace < request.arrived_ms && owner(w.connection) == Some(sender))
        {
            same += 1;
        } else {
            other += 1;
        }
    }
    (same, other)
}

/// See [`GithubStandIn::waits_report`].
pub fn waits_report(
    requests: &[RequestRecord],
    waits: &[AnnouncedWait],
    in_flight_grace: Duration,
) -> WaitsReport {
    let grace = in_flight_grace.as_millis() as i64;
    let mut report = WaitsReport {
        requests: requests.len(),
        secondary_waits: waits.iter().filter(|w| !w.primary).count(),
        primary_waits: waits.iter().filter(|w| w.primary).count(),
        ..WaitsReport::default()
    };
    for request in requests {
        let earliest = waits
            .iter()
            .filter(|w| {
                w.token == request.token
                    && w.resource.is_none_or(|r| r == request.resource)
                    && w.from_ms < request.arrived_ms
                    && request.arrived_ms < w.until_ms
            })
            .map(|w| w.from_ms)
            .min();
        if let Some(from) = earliest {
            let depth = request.arrived_ms - from;
            report.into_wait += 1;
            if depth <= grace {
                report.into_wait_in_flight += 1;
            }
            report.deepest_ms = report.deepest_ms.max(depth);
        }
    }
    report
}

/// A response under construction: status, headers, body.
struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    content_type: &'static str,
}

impl Reply {
    fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
            content_type: "application/json; charset=utf-8",
        }
    }

    fn raw(body: &str, content_type: &'static str) -> Self {
        Self {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            content_type,
        }
    }

    fn error(status: StatusCode, message: &str, docs: &str) -> Self {
        Self::json(
            status,
            &json!({
                "message": message,
                "documentation_url": format!("https://docs.github.com/rest/{docs}"),
                "status": status.as_u16().to_string(),
            }),
        )
    }

    fn not_found() -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "repos/repos#get-a-repository",
        )
    }
}

async fn handle(
    state: &Mutex<State>,
    connection: u64,
    request: Request<Incoming>,
) -> Response<Body> {
    let arrived_ms = now_ms();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let accept = header("accept").unwrap_or_default();
    let if_none_match = header("if-none-match");
    let resource = Resource::of_path(&path);
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();

    let (reply, answer, token, hold) = {
        let mut state = lock(state);
        state.connection = connection;
        let token = authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .and_then(|t| state.tokens.iter().position(|known| known == t));
        if authorization.is_some() && token.is_none() {
            let reply = Reply::error(StatusCode::UNAUTHORIZED, "Bad credentials", "overview");
            record(
                &mut state,
                arrived_ms,
                token,
                resource,
                &method,
                &path,
                Answer::Normal,
                &reply,
            );
            return finish(reply, None);
        }
        let (reply, answer, hold) = decide(
            &mut state, token, resource, &method, &path, &query, &accept, &body,
        );
        let mut reply = reply;
        if reply.status == StatusCode::OK
            && method == "GET"
            && let Some(tag) = etag(&reply.body)
        {
            if if_none_match.as_deref() == Some(tag.as_str()) && answer == Answer::Normal {
                reply.status = StatusCode::NOT_MODIFIED;
                reply.body.clear();
            }
            reply.headers.push(("etag", tag));
        }
        record(
            &mut state, arrived_ms, token, resource, &method, &path, answer, &reply,
        );
        (reply, answer, token, hold)
    };
    let _ = token;
    match answer {
        Answer::Hang => {
            tokio::time::sleep(hold).await;
            finish(reply, None)
        }
        Answer::Trickle => finish(reply, Some(hold)),
        _ => finish(reply, None),
    }
}

#[expect(clippy::too_many_arguments, reason = "one request's parts")]
fn record(
    state: &mut State,
    arrived_ms: i64,
    token: Option<usize>,
    resource: Resource,
    method: &str,
    path: &str,
    answer: Answer,
    reply: &Reply,
) {
    let connection = state.connection;
    state.requests.push(RequestRecord {
        connection,
        arrived_ms,
        token,
        resource,
        method: method.to_owned(),
        path: path.to_owned(),
        answer,
        status: reply.status.as_u16(),
    });
}

fn etag(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let hex = wump_core::hex::encode(&Sha256::digest(body)[..8]);
    Some(format!("W/\"{hex}\""))
}

/// The answer to one request, the rate-limit headers included; and for hangs and
/// trickles, how long.
#[expect(clippy::too_many_arguments, reason = "one request's parts")]
fn decide(
    state: &mut State,
    token: Option<usize>,
    resource: Resource,
    method: &str,
    path: &str,
    query: &str,
    accept: &str,
    body: &[u8],
) -> (Reply, Answer, Duration) {
    let now = now_ms();
    // Like GitHub: inside an announced wait, the answer is another 403 — told to this
    // connection too, but the wait is not extended (so a fleet that keeps asking cannot
    // keep the token locked for ever).
    let active = state
        .waits
        .iter()
        .filter(|w| {
            w.token == token && w.resource.is_none_or(|r| r == resource) && now < w.until_ms
        })
        .max_by_key(|w| w.until_ms)
        .cloned();
    if let Some(wait) = active {
        let reply = if wait.primary {
            primary_reply(state, token, resource, now, wait.until_ms)
        } else {
            secondary_reply(state, token, resource, now, wait.until_ms)
        };
        return (reply, Answer::StillLimited, Duration::ZERO);
    }

    let mut answer = Answer::Normal;
    let mut hold = Duration::ZERO;
    if state.burst_left > 0 {
        state.burst_left -= 1;
        answer = Answer::ServerError;
    } else if let Some((faults, rng)) = &mut state.faults {
        let weights = [
            (Answer::Normal, faults.normal),
            (Answer::Secondary, faults.secondary),
            (Answer::Primary, faults.primary),
            (Answer::ServerError, faults.server_error),
            (Answer::Hang, faults.hang),
            (Answer::Trickle, faults.trickle),
        ];
        // The first faults go through every kind with a weight once, so even a short spell
        // of misbehaviour shows each; then the weights decide.
        let unseen = weights
            .iter()
            .skip(1)
            .filter(|(_, weight)| *weight > 0)
            .map(|(kind, _)| *kind)
            .find(|kind| !state.dealt.contains(kind));
        if let Some(kind) = unseen {
            answer = kind;
        } else {
            let total: u32 = weights.iter().map(|(_, w)| w).sum();
            let mut pick = rng.random_range(0..total.max(1));
            for (candidate, weight) in weights {
                if pick < weight {
                    answer = candidate;
                    break;
                }
                pick -= weight;
            }
        }
        state.dealt.push(answer);
        match answer {
            Answer::Secondary => {
                let secs = rng.random_range(faults.retry_after_secs.0..=faults.retry_after_secs.1);
                hold = Duration::from_secs(secs);
            }
            Answer::Primary => {
                let secs = rng.random_range(faults.reset_in_secs.0..=faults.reset_in_secs.1);
                hold = Duration::from_secs(secs);
            }
            Answer::ServerError => state.burst_left = faults.burst.saturating_sub(1),
            Answer::Hang => hold = faults.hang_for,
            Answer::Trickle => {
                let (lo, hi) = faults.trickle_for;
                let ms = rng.random_range(lo.as_millis() as u64..=hi.as_millis().max(1) as u64);
                hold = Duration::from_millis(ms);
            }
            _ => {}
        }
    }
    match answer {
        Answer::Secondary => {
            let until = now + hold.as_secs().max(1) as i64 * 1000;
            let reply = secondary_reply(state, token, resource, now, until);
            return (reply, answer, Duration::ZERO);
        }
        Answer::Primary => {
            let reset_ms = (now / 1000 + hold.as_secs() as i64) * 1000;
            let reply = primary_reply(state, token, resource, now, reset_ms);
            return (reply, answer, Duration::ZERO);
        }
        Answer::ServerError => {
            let status = [
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::GATEWAY_TIMEOUT,
            ][state.requests.len() % 3];
            let reply = Reply::json(status, &json!({ "message": "Server Error" }));
            return (reply, answer, Duration::ZERO);
        }
        _ => {}
    }
    // The request counts against its quota; a spent one is GitHub's primary 403.
    let quota = take_quota(state, token, resource, now);
    let Some((limit, remaining, reset_ms)) = quota else {
        let (_, remaining_reset) = window(state, token, resource, now);
        let reply = primary_reply(state, token, resource, now, remaining_reset);
        return (reply, Answer::Primary, Duration::ZERO);
    };
    let mut reply = route(&state.tree, method, path, query, accept, body);
    rate_headers(&mut reply, resource, limit, remaining, reset_ms, now);
    (reply, answer, hold)
}

/// The current window of a token's bucket: `(used, reset_ms)`.
fn window(state: &mut State, token: Option<usize>, resource: Resource, now: i64) -> (u32, i64) {
    let (_, length) = resource.quota();
    let quota = state.quotas.entry((token, resource)).or_insert(Quota {
        window_start_ms: now,
        used: 0,
    });
    if now >= quota.window_start_ms + length {
        *quota = Quota {
            window_start_ms: now,
            used: 0,
        };
    }
    (quota.used, quota.window_start_ms + length)
}

/// Takes one request of the bucket: `(limit, remaining, reset_ms)`, or `None` when spent.
fn take_quota(
    state: &mut State,
    token: Option<usize>,
    resource: Resource,
    now: i64,
) -> Option<(u32, u32, i64)> {
    let (limit, _) = resource.quota();
    let limit = if token.is_some() { limit } else { 60 };
    let (used, reset_ms) = window(state, token, resource, now);
    if used >= limit {
        return None;
    }
    if let Some(quota) = state.quotas.get_mut(&(token, resource)) {
        quota.used += 1;
    }
    Some((limit, limit - used - 1, reset_ms))
}

fn rate_headers(
    reply: &mut Reply,
    resource: Resource,
    limit: u32,
    remaining: u32,
    reset_ms: i64,
    now: i64,
) {
    let reset_secs = (reset_ms + 999) / 1000;
    reply.headers.extend([
        ("date", http_date(now)),
        ("x-github-api-version-selected", "2022-11-28".to_owned()),
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-used", (limit - remaining).to_string()),
        ("x-ratelimit-reset", reset_secs.to_string()),
        ("x-ratelimit-resource", resource.name().to_owned()),
    ]);
}

/// GitHub's secondary-limit 403, announced on the token for `retry_after` seconds.
/// The wait lasts until `until_ms`; `retry-after` rounds what is left up to whole seconds.
fn secondary_reply(
    state: &mut State,
    token: Option<usize>,
    resource: Resource,
    now: i64,
    until_ms: i64,
) -> Reply {
    let retry_after = ((until_ms - now + 999) / 1000).max(1);
    let (limit, _) = resource.quota();
    let (used, reset_ms) = window(state, token, resource, now);
    let mut reply = Reply::error(
        StatusCode::FORBIDDEN,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
    );
    rate_headers(
        &mut reply,
        resource,
        limit,
        limit.saturating_sub(used),
        reset_ms,
        now,
    );
    reply.headers.push(("retry-after", retry_after.to_string()));
    state.waits.push(AnnouncedWait {
        token,
        resource: None,
        from_ms: now_ms(),
        connection: state.connection,
        until_ms,
        primary: false,
    });
    reply
}

/// GitHub's primary-limit 403: the bucket spent until `reset_ms` (whole seconds).
fn primary_reply(
    state: &mut State,
    token: Option<usize>,
    resource: Resource,
    now: i64,
    reset_ms: i64,
) -> Reply {
    let (limit, _) = resource.quota();
    let reset_secs = (reset_ms + 999) / 1000;
    let mut reply = Reply::error(
        StatusCode::FORBIDDEN,
        "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
        "overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
    );
    rate_headers(&mut reply, resource, limit, 0, reset_secs * 1000, now);
    state.waits.push(AnnouncedWait {
        token,
        resource: Some(resource),
        from_ms: now_ms(),
        connection: state.connection,
        until_ms: reset_secs * 1000,
        primary: true,
    });
    reply
}

fn finish(reply: Reply, trickle: Option<Duration>) -> Response<Body> {
    let length = reply.body.len();
    let body: Body = match trickle {
        Some(over) if length > 0 => {
            let pieces = length.clamp(1, 20);
            let size = length.div_ceil(pieces);
            let chunks: Vec<Bytes> = reply
                .body
                .chunks(size)
                .map(Bytes::copy_from_slice)
                .collect();
            let pause = over / chunks.len() as u32;
            let stream =
                futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
                    let chunk = rest.next()?;
                    tokio::time::sleep(pause).await;
                    Some((Ok::<_, Infallible>(Frame::data(chunk)), rest))
                });
            StreamBody::new(stream).boxed()
        }
        _ => Full::new(Bytes::from(reply.body)).boxed(),
    };
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .header("content-length", length.to_string())
        .header("server", "github.com");
    if !reply.headers.iter().any(|(name, _)| *name == "date") {
        builder = builder.header("date", http_date(now_ms()));
    }
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// The real answers.
fn route(tree: &Tree, method: &str, path: &str, query: &str, accept: &str, body: &[u8]) -> Reply {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    match (method, segments.as_slice()) {
        ("GET", ["rate_limit"]) => rate_limit(),
        ("GET", ["search", "repositories"]) => search(tree, &params),
        ("GET", ["users", login]) => user(tree, login),
        ("GET", [kind @ ("orgs" | "users"), login, "repos"]) => {
            owner_repos(tree, kind, login, &params)
        }
        ("GET", ["repos", owner, ".github"]) => match find_owner(tree, owner) {
            Some(o) if o.funding.is_some() => Reply::json(
                StatusCode::OK,
                &repository_json(o, &dot_github_repository(o)),
            ),
            _ => Reply::not_found(),
        },
        ("GET", ["repos", owner, ".github", "contents", rest @ ..]) => {
            match find_owner(tree, owner).and_then(|o| o.funding.as_deref()) {
                Some(funding) if rest.join("/") == "FUNDING.yml" => contents(funding, accept),
                _ => Reply::not_found(),
            }
        }
        ("GET", ["repos", owner, name]) => match find(tree, owner, name) {
            Some((o, r)) => Reply::json(StatusCode::OK, &repository_json(o, r)),
            None => Reply::not_found(),
        },
        ("GET", ["repos", owner, name, "commits", _reference]) => match find(tree, owner, name) {
            Some((o, r)) => Reply::raw(
                &r.commit_sha(&o.login),
                "application/vnd.github.sha; charset=utf-8",
            ),
            None => Reply::error(
                StatusCode::NOT_FOUND,
                "Not Found",
                "commits/commits#get-a-commit",
            ),
        },
        ("GET", ["repos", owner, name, "git", "trees", sha]) => match find(tree, owner, name) {
            Some((o, r)) if *sha == r.commit_sha(&o.login) => git_tree(r, sha),
            _ => Reply::error(StatusCode::NOT_FOUND, "Not Found", "git/trees#get-a-tree"),
        },
        ("GET", ["repos", owner, name, "contents", rest @ ..]) => {
            let file = rest.join("/");
            match find(tree, owner, name)
                .and_then(|(_, r)| r.files.iter().find(|(p, _)| *p == file))
            {
                Some((_, text)) => contents(text, accept),
                None => Reply::error(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    "repos/contents#get-repository-content",
                ),
            }
        }
        ("POST", ["graphql"]) => graphql(tree, body),
        _ => Reply::not_found(),
    }
}

fn find_owner<'a>(tree: &'a Tree, login: &str) -> Option<&'a Owner> {
    tree.owners
        .iter()
        .find(|o| o.login.eq_ignore_ascii_case(login))
}

fn find<'a>(tree: &'a Tree, owner: &str, name: &str) -> Option<(&'a Owner, &'a Repository)> {
    let owner = find_owner(tree, owner)?;
    let repository = owner
        .repositories
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))?;
    Some((owner, repository))
}

/// The owner's `.github` repository (holding the owner-wide FUNDING.yml).
fn dot_github_repository(owner: &Owner) -> Repository {
    Repository {
        name: ".github".to_owned(),
        stars: 0,
        forks: 0,
        archived: false,
        fork: false,
        language: "Markdown",
        description: "Community health files".to_owned(),
        pushed_at: "2026-01-01T00:00:00Z".to_owned(),
        files: vec![(
            "FUNDING.yml".to_owned(),
            owner.funding.clone().unwrap_or_default(),
        )],
    }
}

/// `application/vnd.github.raw+json`: the bytes; otherwise the JSON with base64 content.
fn contents(text: &str, accept: &str) -> Reply {
    if accept.contains("raw") {
        Reply::raw(text, "application/vnd.github.raw+json; charset=utf-8")
    } else {
        use base64::Engine as _;
        Reply::json(
            StatusCode::OK,
            &json!({
                "type": "file",
                "encoding": "base64",
                "size": text.len(),
                "content": base64::engine::general_purpose::STANDARD.encode(text),
            }),
        )
    }
}

fn owner_json(owner: &Owner) -> Value {
    json!({
        "login": owner.login,
        "id": 1,
        "node_id": "MDQ6VXNlcjE=",
        "url": format!("https://api.github.com/users/{}", owner.login),
        "html_url": format!("https://github.com/{}", owner.login),
        "type": if owner.kind == "user" { "User" } else { "Organization" },
        "site_admin": false
    })
}

fn repository_json(owner: &Owner, r: &Repository) -> Value {
    let full_name = format!("{}/{}", owner.login, r.name);
    json!({
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": r.name,
        "full_name": full_name,
        "owner": owner_json(owner),
        "private": false,
        "html_url": format!("https://github.com/{full_name}"),
        "description": r.description,
        "fork": r.fork,
        "url": format!("https://api.github.com/repos/{full_name}"),
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": r.pushed_at,
        "pushed_at": r.pushed_at,
        "stargazers_count": r.stars,
        "watchers_count": r.stars,
        "language": r.language,
        "forks_count": r.forks,
        "archived": r.archived,
        "disabled": false,
        "visibility": "public",
        "default_branch": "main",
        "score": 1.0
    })
}

fn rate_limit() -> Reply {
    let resources: serde_json::Map<String, Value> = [Resource::Core, Resource::Search, Resource::Graphql]
        .into_iter()
        .map(|r| {
            let (limit, _) = r.quota();
            (
                r.name().to_owned(),
                json!({ "limit": limit, "used": 0, "remaining": limit, "reset": now_ms() / 1000 + 3600 }),
            )
        })
        .collect();
    Reply::json(StatusCode::OK, &json!({ "resources": resources }))
}

/// A `stars:` qualifier's window; every star count without one.
fn star_window(q: &str) -> (u32, u32) {
    for term in q.split_whitespace() {
        let Some(spec) = term.strip_prefix("stars:") else {
            continue;
        };
        let number = |s: &str| s.parse::<u32>().ok();
        if let Some(n) = spec.strip_prefix(">=").and_then(number) {
            return (n, u32::MAX);
        }
        if let Some(n) = spec.strip_prefix('>').and_then(number) {
            return (n.saturating_add(1), u32::MAX);
        }
        if let Some((lo, hi)) = spec.split_once("..") {
            let lo = if lo == "*" { Some(0) } else { number(lo) };
            let hi = if hi == "*" {
                Some(u32::MAX)
            } else {
                number(hi)
            };
            if let (Some(lo), Some(hi)) = (lo, hi) {
                return (lo, hi);
            }
        }
        if let Some(n) = number(spec) {
            return (n, n);
        }
    }
    (0, u32::MAX)
}

fn page_of(params: &HashMap<String, String>, key: &str, default: usize) -> usize {
    params
        .get(key)
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}

/// `Link` with `next`/`last`, as GitHub pages.
fn link(base: &str, query: &[(&str, String)], page: usize, last: usize) -> Option<String> {
    if last <= 1 {
        return None;
    }
    let url = |p: usize| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
        pairs.append_pair("page", &p.to_string());
        format!("<https://api.github.com{base}?{}>", pairs.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    links.push(format!("{}; rel=\"first\"", url(1)));
    Some(links.join(", "))
}

fn search(tree: &Tree, params: &HashMap<String, String>) -> Reply {
    let q = params.get("q").cloned().unwrap_or_default();
    let (lo, hi) = star_window(&q);
    let per_page = page_of(params, "per_page", 30).min(PER_PAGE);
    let page = page_of(params, "page", 1);
    let mut hits: Vec<(&Owner, &Repository)> = tree
        .repositories()
        .filter(|(_, r)| r.stars >= lo && r.stars <= hi)
        .collect();
    hits.sort_by(|a, b| {
        b.1.stars
            .cmp(&a.1.stars)
            .then_with(|| (&a.0.login, &a.1.name).cmp(&(&b.0.login, &b.1.name)))
    });
    let total = hits.len();
    if page.saturating_sub(1) * per_page >= 1_000 {
        return Reply::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only the first 1000 search results are available",
            "search/search",
        );
    }
    let items: Vec<Value> = hits
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(o, r)| repository_json(o, r))
        .collect();
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({ "total_count": total, "incomplete_results": false, "items": items }),
    );
    let last = total.min(1_000).div_ceil(per_page).max(1);
    if let Some(link) = link(
        "/search/repositories",
        &[("q", q), ("per_page", per_page.to_string())],
        page,
        last,
    ) {
        reply.headers.push(("link", link));
    }
    reply
}

fn owner_repos(tree: &Tree, kind: &str, login: &str, params: &HashMap<String, String>) -> Reply {
    let Some(owner) = find_owner(tree, login) else {
        return Reply::not_found();
    };
    if (kind == "orgs") == (owner.kind == "user") {
        return Reply::not_found();
    }
    let per_page = page_of(params, "per_page", 30).min(PER_PAGE);
    let page = page_of(params, "page", 1);
    let items: Vec<Value> = owner
        .repositories
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|r| repository_json(owner, r))
        .collect();
    let mut reply = Reply::json(StatusCode::OK, &Value::Array(items));
    let last = owner.repositories.len().div_ceil(per_page).max(1);
    if let Some(link) = link(
        &format!("/{kind}/{login}/repos"),
        &[("per_page", per_page.to_string())],
        page,
        last,
    ) {
        reply.headers.push(("link", link));
    }
    reply
}

fn user(tree: &Tree, login: &str) -> Reply {
    let Some(owner) = find_owner(tree, login) else {
        return Reply::error(StatusCode::NOT_FOUND, "Not Found", "users/users#get-a-user");
    };
    let mut value = owner_json(owner);
    if let Value::Object(map) = &mut value {
        map.insert("name".into(), json!(owner.name));
        map.insert(
            "blog".into(),
            json!(owner.website_url.clone().unwrap_or_default()),
        );
        map.insert("bio".into(), json!(owner.description));
        map.insert("public_repos".into(), json!(owner.repositories.len()));
    }
    Reply::json(StatusCode::OK, &value)
}

fn git_tree(r: &Repository, sha: &str) -> Reply {
    let mut entries = Vec::new();
    let mut directories: Vec<String> = Vec::new();
    for (path, text) in &r.files {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !directories.contains(&prefix) {
                directories.push(prefix.clone());
                entries
                    .push(json!({ "path": prefix, "mode": "040000", "type": "tree", "sha": sha }));
            }
        }
        entries.push(json!({
            "path": path, "mode": "100644", "type": "blob", "sha": sha, "size": text.len(),
        }));
    }
    Reply::json(
        StatusCode::OK,
        &json!({ "sha": sha, "url": "", "tree": entries, "truncated": false }),
    )
}

/// `repositoryOwner(login: $lN)` for every `lN` variable, aliased `oN`.
fn graphql(tree: &Tree, body: &[u8]) -> Reply {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    if let Some(variables) = request.get("variables").and_then(Value::as_object) {
        for (name, login) in variables {
            let Some(index) = name.strip_prefix('l') else {
                continue;
            };
            let login = login.as_str().unwrap_or_default();
            let alias = format!("o{index}");
            match find_owner(tree, login) {
                Some(owner) => {
                    let sponsors = owner
                        .funding
                        .as_deref()
                        .is_some_and(|f| f.starts_with("github:"));
                    data.insert(
                        alias,
                        json!({
                            "__typename": if owner.kind == "user" { "User" } else { "Organization" },
                            "login": owner.login,
                            "name": owner.name,
                            "description": owner.description,
                            "bio": owner.description,
                            "websiteUrl": owner.website_url,
                            "hasSponsorsListing": sponsors,
                            "sponsorsListing": if sponsors {
                                json!({ "url": format!("https://github.com/sponsors/{}", owner.login) })
                            } else {
                                Value::Null
                            },
                            "repositories": { "totalCount": owner.repositories.len() },
                        }),
                    );
                }
                None => {
                    data.insert(alias.clone(), Value::Null);
                    errors.push(json!({
                        "type": "NOT_FOUND",
                        "path": [alias],
                        "message": format!("Could not resolve to a User with the login of '{login}'."),
                    }));
                }
            }
        }
    }
    let mut answer = json!({ "data": data });
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    Reply::json(StatusCode::OK, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(arrived_ms: i64, token: Option<usize>) -> RequestRecord {
        RequestRecord {
            arrived_ms,
            token,
            resource: Resource::Core,
            method: "GET".into(),
            path: "/x".into(),
            answer: Answer::Normal,
            status: 200,
            connection: 0,
        }
    }

    #[test]
    fn counts_requests_inside_a_wait_on_their_token_and_those_in_flight() {
        let waits = [
            AnnouncedWait {
                token: Some(0),
                resource: None,
                from_ms: 1_000,
                until_ms: 3_000,
                primary: false,
                connection: 0,
            },
            AnnouncedWait {
                token: Some(1),
                resource: Some(Resource::Search),
                from_ms: 1_000,
                until_ms: 9_000,
                primary: true,
                connection: 0,
            },
        ];
        let requests = [
            request(900, Some(0)),   // before the announcement
            request(1_010, Some(0)), // in flight
            request(2_000, Some(0)), // into the wait
            request(3_000, Some(0)), // at its end: allowed
            request(2_000, Some(1)), // another bucket of token 1
            request(2_000, None),
        ];
        let report = waits_report(&requests, &waits, Duration::from_millis(50));
        assert_eq!(report.into_wait, 2);
        assert_eq!(report.into_wait_in_flight, 1);
        assert_eq!(report.beyond_in_flight(), 1);
        assert_eq!(report.deepest_ms, 1_000);
        assert_eq!((report.secondary_waits, report.primary_waits), (1, 1));
    }

    #[test]
    fn reads_star_windows() {
        assert_eq!(star_window("topic:x stars:>=10"), (10, u32::MAX));
        assert_eq!(star_window("stars:5..9"), (5, 9));
        assert_eq!(star_window("stars:7"), (7, 7));
        assert_eq!(star_window("topic:x"), (0, u32::MAX));
    }
}

#[cfg(test)]
mod server_tests {
    use super::*;

    const TOKEN: &str = "ghp_standInTest";

    async fn get(standin: &GithubStandIn, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", standin.api_url()))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/vnd.github.raw+json")
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn serves_the_tree_with_githubs_headers_and_counts_requests_into_its_waits() {
        let tree = Tree::generate(5, 150);
        let standin = GithubStandIn::start(tree.clone(), vec![TOKEN.to_owned()])
            .await
            .unwrap();

        let page = get(
            &standin,
            "/search/repositories?q=topic%3Ax&per_page=100&page=1",
        )
        .await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["x-ratelimit-resource"], "search");
        assert_eq!(page.headers()["x-ratelimit-remaining"], "29");
        assert!(
            page.headers()["link"]
                .to_str()
                .unwrap()
                .contains("rel=\"next\"")
        );
        let body: Value = page.json().await.unwrap();
        assert_eq!(body["total_count"], 150);
        assert_eq!(body["items"].as_array().unwrap().len(), 100);

        let (owner, repository) = tree.repositories().next().unwrap();
        let (path, text) = &repository.files[0];
        let file = get(
            &standin,
            &format!("/repos/{}/{}/contents/{path}", owner.login, repository.name),
        )
        .await;
        assert_eq!(file.status(), 200);
        assert_eq!(&file.text().await.unwrap(), text);

        standin.misbehave(Faults {
            normal: 0,
            primary: 0,
            server_error: 0,
            hang: 0,
            trickle: 0,
            ..Faults::mix(1, Duration::from_secs(1))
        });
        let refused = get(&standin, "/users/nobody").await;
        assert_eq!(refused.status(), 403);
        assert!(refused.headers().contains_key("retry-after"));
        standin.behave();
        // Still inside the announced wait: GitHub refuses again, and it counts.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(get(&standin, "/users/nobody").await.status(), 403);
        let report = standin.waits_report(Duration::from_millis(100));
        assert_eq!(report.secondary_waits, 2);
        assert_eq!(report.into_wait, 1);
        assert_eq!(report.beyond_in_flight(), 1);
        // Both came from this test's process.
        assert_eq!((report.same_process, report.other_process), (1, 0));
    }
}
