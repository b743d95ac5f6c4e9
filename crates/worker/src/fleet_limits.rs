//! The providers' limits shared by every worker process, in Valkey ([`FleetStore`]).
//!
//! Every decision is one Lua script (loaded once, called with `EVALSHA`, reloaded when
//! Valkey answers `NOSCRIPT`), so two processes never both take the last unit of a bucket,
//! and every instant is Valkey's own clock (`TIME`): the hosts' clocks may disagree.
//! GitHub's reset arrives as "seconds from now by the response's `Date`", so neither clock
//! matters there either.
//!
//! Keys (under `queues.key_prefix`, all with TTLs so nothing outlives its use):
//!
//! - `{wump:limits}:<provider>:<token fingerprint>` (hash): `nb` (no request before, ms),
//!   `strikes` (secondary limits in a row), and per resource `r:<resource>` (remaining),
//!   `l:<resource>` (limit), `t:<resource>` (reset, ms);
//! - `…:leases` (sorted set): one member per request in flight, scored by when its lease
//!   expires; expired members are pruned before every decision, so a killed process's
//!   slots come back after the lease TTL;
//! - `…:points:<api>` (sorted set): the requests of the last minute (secondary points);
//! - `{wump:limits}:<provider>:host` (hash): a registry's `ns` (next slot) and `bu`
//!   (blocked until, a 429's `Retry-After`).
//!
//! The `{wump:limits}` hash tag keeps one decision's keys in one cluster slot.

use std::time::Duration;

use async_trait::async_trait;
use wump_db::{ValkeyPool, valkey::Script};
use wump_providers::{
    FleetStore,
    fleet::{Outcome, ReserveRequest, Reserved, Slot, Unavailable, WaitKind},
};

/// How long a token's state is kept after its last use: past GitHub's hour-long window.
const KEY_TTL: Duration = Duration::from_secs(2 * 3_600);
/// While the in-flight bound holds, ask again after at most this (the slot frees when a
/// response arrives, which no instant predicts).
const IN_FLIGHT_POLL: Duration = Duration::from_millis(20);
/// No wait is longer than this (matches the providers' cap on broken headers).
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3_600);

/// Takes one unit and one lease of the usable token with the most remaining quota, or
/// answers the earliest instant worth asking again. KEYS: per token its hash, leases and
/// points. ARGV: resource, default limit, window ms, points budget, max in flight, lease
/// ttl ms, lease id, in-flight poll ms, key ttl ms. Returns `{granted (1-based) or 0,
/// wait ms, token (1-based), kind}` with kind 0 = in flight only, 1 = primary,
/// 2 = secondary.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local res = ARGV[1]
local default_limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local max_in_flight = tonumber(ARGV[5])
local lease_ttl = tonumber(ARGV[6])
local lease = ARGV[7]
local poll = tonumber(ARGV[8])
local key_ttl = tonumber(ARGV[9])
local best, best_remaining, best_reset = nil, -1, nil
local earliest, earliest_token, earliest_kind = nil, 1, 0
local function hold(at, i, kind)
  if earliest == nil or at < earliest then
    earliest, earliest_token, earliest_kind = at, i, kind
  end
end
for i = 1, #KEYS / 3 do
  local h, l, p = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  redis.call('ZREMRANGEBYSCORE', l, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', p, '-inf', now - 60000)
  local f = redis.call('HMGET', h, 'nb', 'r:' .. res, 'l:' .. res, 't:' .. res)
  local nb = tonumber(f[1]) or 0
  local limit = tonumber(f[3]) or default_limit
  local remaining = tonumber(f[2]) or limit
  local reset = tonumber(f[4])
  if reset and now >= reset then
    remaining = limit
    reset = nil
  end
  local in_flight = redis.call('ZCARD', l)
  if nb > now then
    hold(nb, i, 2)
  elseif remaining <= 0 then
    if reset then
      hold(reset, i, 1)
    elseif in_flight > 0 then
      hold(now + poll, i, 1)
    else
      reset = now + window
      redis.call('HSET', h, 't:' .. res, reset)
      hold(reset, i, 1)
    end
  elseif redis.call('ZCARD', p) >= budget then
    local oldest = redis.call('ZRANGE', p, 0, 0, 'WITHSCORES')
    hold(tonumber(oldest[2]) + 60000, i, 2)
  elseif in_flight >= max_in_flight then
    local first = redis.call('ZRANGE', l, 0, 0, 'WITHSCORES')
    hold(math.min(tonumber(first[2]), now + poll), i, 0)
  elseif remaining > best_remaining then
    best, best_remaining, best_reset = i, remaining, reset
  end
end
if best then
  local h, l, p = KEYS[3 * best - 2], KEYS[3 * best - 1], KEYS[3 * best]
  redis.call('HSET', h, 'r:' .. res, best_remaining - 1)
  if best_reset == nil then
    redis.call('HDEL', h, 't:' .. res)
  end
  redis.call('ZADD', l, now + lease_ttl, lease)
  redis.call('ZADD', p, now, lease)
  redis.call('PEXPIRE', h, key_ttl)
  redis.call('PEXPIRE', l, key_ttl)
  redis.call('PEXPIRE', p, 120000)
  return {best, 0, best, 0}
end
return {0, math.max(earliest - now, 1), earliest_token, earliest_kind}
";

/// Gives a lease back and records what the response said. KEYS: the token's hash and
/// leases. ARGV: lease, outcome (`nothing`, `observed`, `exhausted`, `secondary`),
/// resource, limit, remaining, reset-in ms, free (0/1), retry-after ms, window ms, key ttl
/// ms, longest wait ms (-1: unknown). Returns the wait now in force, or -1.
const FINISH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h, l = KEYS[1], KEYS[2]
redis.call('ZREM', l, ARGV[1])
redis.call('ZREMRANGEBYSCORE', l, '-inf', now)
local kind, res = ARGV[2], ARGV[3]
local limit, remaining, reset_in = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local free, retry_after = tonumber(ARGV[7]), tonumber(ARGV[8])
local window, key_ttl, longest = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local others = redis.call('ZCARD', l)
local wait = -1
local function observe()
  if limit < 0 or remaining < 0 then return end
  local f = redis.call('HMGET', h, 'r:' .. res, 't:' .. res)
  local known, known_reset = tonumber(f[1]), tonumber(f[2])
  local new_reset = nil
  if reset_in >= 0 then new_reset = now + reset_in end
  local new_window = known == nil or (known_reset ~= nil and now >= known_reset)
    or (new_reset ~= nil and (known_reset == nil or new_reset > known_reset + 1000))
  if free == 1 and known ~= nil then known = math.min(known + 1, limit) end
  if new_window then
    -- Requests of other processes still in flight may yet count in this window.
    remaining = math.max(0, remaining - others)
  else
    remaining = math.min(known, remaining)
  end
  redis.call('HSET', h, 'l:' .. res, limit, 'r:' .. res, remaining)
  if new_reset then
    if not new_window and known_reset ~= nil then new_reset = math.max(new_reset, known_reset) end
    redis.call('HSET', h, 't:' .. res, new_reset)
  end
end
if kind == 'observed' then
  observe()
  if free == 0 then redis.call('HDEL', h, 'strikes') end
elseif kind == 'exhausted' then
  if limit >= 0 then redis.call('HSET', h, 'l:' .. res, limit) end
  -- GitHub's own reset is the answer; without one, a whole window.
  local reset = now + window
  if reset_in >= 0 then reset = now + reset_in end
  redis.call('HSET', h, 'r:' .. res, 0, 't:' .. res, reset)
  wait = reset - now
elseif kind == 'secondary' then
  local strikes = tonumber(redis.call('HINCRBY', h, 'strikes', 1))
  wait = retry_after
  if wait < 0 then
    wait = math.min(60000 * 2 ^ math.min(strikes - 1, 8), 960000)
  end
  wait = math.min(wait, longest)
  local nb = tonumber(redis.call('HGET', h, 'nb')) or 0
  redis.call('HSET', h, 'nb', math.max(nb, now + wait))
end
redis.call('PEXPIRE', h, math.max(key_ttl, wait + 60000))
return wait
";

/// A registry's next slot. KEYS: its hash. ARGV: spacing ms, key ttl ms. Returns
/// `{0, ms until the slot}` or `{1, ms still blocked}`.
const SLOT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = KEYS[1]
local interval, key_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local f = redis.call('HMGET', h, 'bu', 'ns')
local bu = tonumber(f[1]) or 0
if bu > now then return {1, bu - now} end
local slot = math.max(now, tonumber(f[2]) or 0)
redis.call('HSET', h, 'ns', slot + interval)
redis.call('PEXPIRE', h, math.max(key_ttl, slot + interval - now + 60000))
return {0, slot - now}
";

/// A registry asked for no requests for ARGV[1] ms. KEYS: its hash. ARGV: wait ms, key ttl
/// ms.
const BLOCK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = KEYS[1]
local wait, key_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local bu = tonumber(redis.call('HGET', h, 'bu')) or 0
redis.call('HSET', h, 'bu', math.max(bu, now + wait))
redis.call('PEXPIRE', h, math.max(key_ttl, wait + 60000))
return 1
";

fn unavailable(error: fred::error::Error) -> Unavailable {
    Unavailable(error.to_string())
}

fn ms(duration: Duration) -> String {
    duration.as_millis().min(i64::MAX as u128).to_string()
}

fn from_ms(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// [`FleetStore`] on the shared fred pool.
#[derive(Debug)]
pub struct ValkeyFleetStore {
    pool: ValkeyPool,
    prefix: String,
    reserve: Script,
    finish: Script,
    slot: Script,
    block: Script,
}

impl ValkeyFleetStore {
    /// Keys go under `prefix` (the deployment's `queues.key_prefix`).
    pub fn new(pool: ValkeyPool, prefix: impl Into<String>) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            reserve: Script::new(RESERVE),
            finish: Script::new(FINISH),
            slot: Script::new(SLOT),
            block: Script::new(BLOCK),
        }
    }

    /// The hash of `provider`'s `token` (a fingerprint, or `host` for a registry).
    pub fn key(&self, provider: &str, token: &str) -> String {
        wump_db::Keys::new(self.prefix.as_str()).fleet_limits(provider, token)
    }
}

#[async_trait]
impl FleetStore for ValkeyFleetStore {
    async fn reserve(&self, request: &ReserveRequest<'_>) -> Result<Reserved, Unavailable> {
        let mut keys = Vec::with_capacity(request.tokens.len() * 3);
        for token in request.tokens {
            let hash = self.key(request.provider, token);
            keys.push(format!("{hash}:leases"));
            keys.push(format!("{hash}:points:{}", request.points_api));
            keys.insert(keys.len() - 2, hash);
        }
        let lease = uuid::Uuid::new_v4().to_string();
        let args = vec![
            request.resource.to_owned(),
            request.default_limit.to_string(),
            ms(request.window),
            request.points_per_minute.to_string(),
            request.max_in_flight.max(1).to_string(),
            ms(request.lease_ttl),
            lease.clone(),
            ms(IN_FLIGHT_POLL),
            ms(KEY_TTL),
        ];
        let answer: Vec<i64> = self
            .reserve
            .call(self.pool.next(), &keys, &args)
            .await
            .map_err(unavailable)?;
        let [granted, wait, token, kind] = answer[..] else {
            return Err(Unavailable(format!("unexpected reserve answer {answer:?}")));
        };
        let index = |n: i64| usize::try_from(n - 1).unwrap_or(0);
        Ok(if granted > 0 {
            Reserved::Granted {
                token: index(granted),
                lease,
            }
        } else {
            Reserved::Wait {
                wait: from_ms(wait),
                token: index(token),
                kind: match kind {
                    1 => Some(WaitKind::Primary),
                    2 => Some(WaitKind::Secondary),
                    _ => None,
                },
            }
        })
    }

    async fn finish(
        &self,
        provider: &str,
        token: &str,
        lease: &str,
        outcome: &Outcome,
    ) -> Result<Option<Duration>, Unavailable> {
        let hash = self.key(provider, token);
        let keys = vec![hash.clone(), format!("{hash}:leases")];
        let none = || "-1".to_owned();
        let opt_ms = |d: Option<Duration>| d.map_or_else(none, ms);
        let (kind, resource, limit, remaining, reset_in, free, retry_after) = match outcome {
            Outcome::Nothing => (
                "nothing",
                String::new(),
                none(),
                none(),
                none(),
                false,
                none(),
            ),
            Outcome::Observed {
                resource,
                limit,
                remaining,
                reset_in,
                free,
            } => (
                "observed",
                resource.clone(),
                limit.to_string(),
                remaining.to_string(),
                opt_ms(*reset_in),
                *free,
                none(),
            ),
            Outcome::Exhausted {
                resource,
                limit,
                reset_in,
            } => (
                "exhausted",
                resource.clone(),
                limit.map_or_else(none, |l| l.to_string()),
                "0".to_owned(),
                opt_ms(*reset_in),
                false,
                none(),
            ),
            Outcome::Secondary { retry_after } => (
                "secondary",
                String::new(),
                none(),
                none(),
                none(),
                false,
                opt_ms(*retry_after),
            ),
        };
        // A spent bucket whose reset is unknown waits a whole window (GitHub's longest).
        let window = Duration::from_secs(3_600);
        let args = vec![
            lease.to_owned(),
            kind.to_owned(),
            resource,
            limit,
            remaining,
            reset_in,
            u8::from(free).to_string(),
            retry_after,
            ms(window),
            ms(KEY_TTL),
            ms(LONGEST_WAIT),
        ];
        let wait: i64 = self
            .finish
            .call(self.pool.next(), &keys, &args)
            .await
            .map_err(unavailable)?;
        Ok((wait >= 0).then(|| from_ms(wait)))
    }

    async fn slot(&self, provider: &str, min_interval: Duration) -> Result<Slot, Unavailable> {
        let keys = vec![self.key(provider, "host")];
        let args = vec![ms(min_interval), ms(KEY_TTL)];
        let answer: Vec<i64> = self
            .slot
            .call(self.pool.next(), &keys, &args)
            .await
            .map_err(unavailable)?;
        match answer[..] {
            [0, delay] => Ok(Slot::After(from_ms(delay))),
            [_, wait] => Ok(Slot::Blocked(from_ms(wait))),
            _ => Err(Unavailable(format!("unexpected slot answer {answer:?}"))),
        }
    }

    async fn block(&self, provider: &str, wait: Duration) -> Result<(), Unavailable> {
        let keys = vec![self.key(provider, "host")];
        let args = vec![ms(wait.min(LONGEST_WAIT)), ms(KEY_TTL)];
        let _: i64 = self
            .block
            .call(self.pool.next(), &keys, &args)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
