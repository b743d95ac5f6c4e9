//! The generic cell rate algorithm: one timestamp per caller (the theoretical arrival time,
//! TAT) is all the state. A request is allowed when it does not push the TAT more than
//! `burst` emission intervals past now. The Valkey script and the in-process fallback run
//! this same arithmetic, in microseconds.

use wump_core::settings::TierLimit;

/// A caller's limit in GCRA terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Microseconds between two requests at the sustained rate.
    pub emission_us: u64,
    /// Requests allowed at once from an idle start.
    pub burst: u32,
}

impl Quota {
    /// The quota for a tier's limit, with a per-key rate (requests per minute) replacing
    /// the tier's; the burst scales with it. `None`: unlimited.
    pub fn new(tier: TierLimit, key_rate: Option<u32>) -> Option<Self> {
        let per_minute = key_rate.unwrap_or(tier.per_minute);
        if per_minute == 0 {
            return None;
        }
        let burst = match key_rate {
            Some(rate) if tier.per_minute > 0 => {
                (u64::from(tier.burst) * u64::from(rate) / u64::from(tier.per_minute)) as u32
            }
            _ => tier.burst,
        };
        Some(Self {
            emission_us: (60_000_000 / u64::from(per_minute)).max(1),
            burst: burst.max(1),
        })
    }

    /// How far ahead of now the TAT may run.
    fn tolerance_us(&self) -> u64 {
        self.emission_us * u64::from(self.burst)
    }
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests that could still be made right now.
    pub remaining: u32,
    /// Microseconds until the caller's burst is whole again.
    pub reset_us: u64,
    /// Microseconds until a request would be allowed (0 when allowed).
    pub retry_after_us: u64,
}

/// Decides one request at `now_us` given the stored TAT; returns the decision and the TAT
/// to store (`None`: leave it as it was).
pub fn decide(tat_us: Option<u64>, now_us: u64, quota: Quota) -> (Decision, Option<u64>) {
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + quota.emission_us;
    // Allowed when new_tat - tolerance <= now, written without subtraction.
    let horizon = now_us + quota.tolerance_us();
    if horizon < new_tat {
        let decision = Decision {
            allowed: false,
            remaining: 0,
            reset_us: tat - now_us,
            retry_after_us: new_tat - horizon,
        };
        return (decision, None);
    }
    let decision = Decision {
        allowed: true,
        remaining: ((horizon - new_tat) / quota.emission_us) as u32,
        reset_us: new_tat - now_us,
        retry_after_us: 0,
    };
    (decision, Some(new_tat))
}

impl Decision {
    /// The decision [`SCRIPT`]'s reply `[granted, reset]` means for the request that asked
    /// for it: allowed when at least one unit was granted, with the units beyond the first
    /// (`leased`, kept by the instance) counted as remaining too. `reset` is the microseconds
    /// until the caller's TAT, negated when nothing was granted; the rest follows from the
    /// quota, as in [`decide`].
    pub fn from_script(granted: i64, reset: i64, quota: Quota) -> Self {
        let tolerance = quota.tolerance_us();
        let reset_us = reset.unsigned_abs();
        if granted > 0 {
            let leased = u32::try_from(granted - 1).unwrap_or(u32::MAX);
            Decision {
                allowed: true,
                remaining: Self::room(quota, reset_us).saturating_add(leased),
                reset_us,
                retry_after_us: 0,
            }
        } else {
            Decision {
                allowed: false,
                remaining: 0,
                reset_us,
                retry_after_us: (reset_us + quota.emission_us).saturating_sub(tolerance),
            }
        }
    }

    /// Requests the caller could still make right now, with its TAT `reset_us` away.
    pub fn room(quota: Quota, reset_us: u64) -> u32 {
        (quota.tolerance_us().saturating_sub(reset_us) / quota.emission_us) as u32
    }
}

/// The same algorithm as a Valkey script, atomic per caller, on the server's clock (so
/// instances with skewed clocks agree). KEYS[1]: the caller's TAT; ARGV: emission interval,
/// burst, and how many units the instance asks for at once (a lease, [`super::lease`]).
/// Grants as many as the caller's room allows, at least one or none, and advances the TAT
/// by what it granted. Returns `[granted, reset]`: the microseconds until the new TAT, or,
/// when nothing was granted, until the current one, negated ([`Decision::from_script`]).
pub const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local emission = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local room = math.floor((now + emission * tonumber(ARGV[2]) - tat) / emission)
if room < 1 then
  return {0, now - tat}
end
local granted = math.min(room, tonumber(ARGV[3]))
local new_tat = tat + emission * granted
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {granted, new_tat - now}
"#;

/// Takes `ARGV[2]` more units of a caller's budget at once, past its burst if need be: the
/// TAT moves on by that many intervals, so a costly request (an export) is paid for by the
/// requests after it, which wait until the budget refills. KEYS[1]: the caller's TAT;
/// ARGV[1]: the emission interval. Returns the microseconds until the new TAT.
pub const CHARGE_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return new_tat - now
"#;

/// The TAT after charging `units` at `now_us`, as [`CHARGE_SCRIPT`] computes it.
pub fn charge(tat_us: Option<u64>, now_us: u64, quota: Quota, units: u32) -> u64 {
    tat_us.unwrap_or(now_us).max(now_us) + quota.emission_us * u64::from(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: Quota = Quota {
        emission_us: 1_000_000,
        burst: 3,
    };

    fn run(times: &[u64]) -> Vec<Decision> {
        let mut tat = None;
        times
            .iter()
            .map(|&now| {
                let (decision, new_tat) = decide(tat, now, QUOTA);
                tat = new_tat.or(tat);
                decision
            })
            .collect()
    }

    #[test]
    fn a_burst_is_allowed_then_limited_until_one_interval_passes() {
        let decisions = run(&[0, 0, 0, 0]);
        let allowed: Vec<_> = decisions.iter().map(|d| d.allowed).collect();
        assert_eq!(allowed, [true, true, true, false]);
        let remaining: Vec<_> = decisions.iter().map(|d| d.remaining).collect();
        assert_eq!(remaining, [2, 1, 0, 0]);
        assert_eq!(decisions[3].retry_after_us, 1_000_000);
        assert_eq!(decisions[2].reset_us, 3_000_000);
    }

    #[test]
    fn the_sustained_rate_is_one_per_interval() {
        let decisions = run(&[0, 0, 0, 1_000_000, 1_000_001, 2_000_000]);
        let allowed: Vec<_> = decisions.iter().map(|d| d.allowed).collect();
        assert_eq!(allowed, [true, true, true, true, false, true]);
    }

    #[test]
    fn an_idle_caller_gets_its_whole_burst_back() {
        let decisions = run(&[0, 0, 0, 10_000_000, 10_000_000, 10_000_000]);
        assert!(decisions[3..].iter().all(|d| d.allowed));
    }

    /// What [`SCRIPT`] replies at `now` on `tat` when asked for `want` units.
    fn script_reply(tat: Option<u64>, now: u64, quota: Quota, want: u64) -> (i64, i64, u64) {
        let tat = tat.unwrap_or(now).max(now);
        let room = (now + quota.tolerance_us() - tat) / quota.emission_us;
        if room < 1 {
            return (0, now as i64 - tat as i64, tat);
        }
        let granted = room.min(want);
        let new_tat = tat + quota.emission_us * granted;
        (granted as i64, (new_tat - now) as i64, new_tat)
    }

    #[test]
    fn the_scripts_reply_for_one_unit_is_the_decision_of_decide() {
        for quota in [
            QUOTA,
            Quota {
                emission_us: 100_000,
                burst: 1,
            },
        ] {
            let mut tat = None;
            for now in [
                0, 0, 0, 0, 10, 1_000_000, 1_000_001, 1_500_000, 2_000_000, 9_000_000,
            ] {
                let (expected, new_tat) = decide(tat, now, quota);
                let (granted, reset, script_tat) = script_reply(tat, now, quota, 1);
                let decision = Decision::from_script(granted, reset, quota);
                assert_eq!(decision, expected, "at {now} µs");
                assert_eq!(new_tat.or(tat).map(|t| t.max(now)), Some(script_tat));
                tat = new_tat.or(tat);
            }
        }
    }

    #[test]
    fn per_key_rates_scale_the_burst_and_zero_is_unlimited() {
        let tier = TierLimit {
            per_minute: 600,
            burst: 100,
        };
        assert_eq!(
            Quota::new(tier, None),
            Some(Quota {
                emission_us: 100_000,
                burst: 100
            })
        );
        assert_eq!(
            Quota::new(tier, Some(60)),
            Some(Quota {
                emission_us: 1_000_000,
                burst: 10
            })
        );
        assert_eq!(Quota::new(tier, Some(1)).unwrap().burst, 1);
        let unlimited = TierLimit {
            per_minute: 0,
            burst: 1,
        };
        assert_eq!(Quota::new(unlimited, None), None);
        assert_eq!(
            Quota::new(unlimited, Some(120)).map(|q| q.emission_us),
            Some(500_000)
        );
    }

    #[test]
    fn a_lease_takes_what_the_room_allows_and_counts_it_as_remaining() {
        // Burst 3 from idle: asking for 8 grants 3, the request's own and 2 kept.
        let (granted, reset, tat) = script_reply(None, 0, QUOTA, 8);
        assert_eq!((granted, reset), (3, 3_000_000));
        let decision = Decision::from_script(granted, reset, QUOTA);
        assert!(decision.allowed);
        assert_eq!(
            decision.remaining, 2,
            "the two leased units are still to spend"
        );
        // Nothing left in Valkey until an interval passes.
        let (granted, reset, _) = script_reply(Some(tat), 10, QUOTA, 8);
        assert_eq!(granted, 0);
        let refused = Decision::from_script(granted, reset, QUOTA);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_us, 1_000_000 - 10);
        // One interval later, one unit however many are asked for.
        assert_eq!(script_reply(Some(tat), 1_000_000, QUOTA, 8).0, 1);
    }

    #[test]
    fn a_charge_is_paid_by_the_requests_after_it() {
        // A whole burst and three more charged at once: the next request waits for the
        // three intervals of debt and one more.
        let tat = charge(None, 0, QUOTA, QUOTA.burst + 3);
        let (refused, _) = decide(Some(tat), 0, QUOTA);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_us, 4 * QUOTA.emission_us);
        let (allowed, _) = decide(Some(tat), 4 * QUOTA.emission_us, QUOTA);
        assert!(allowed.allowed);
    }
}
