//! The resolved caller, as handlers see it: an extractor, and [`RequireTier`] for routes
//! that need a minimum tier.

use std::{
    future::{Ready, ready},
    marker::PhantomData,
    net::{IpAddr, Ipv4Addr},
};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use uuid::Uuid;

use super::{Tier, client_ip};
use crate::problem::ApiError;

/// Who made a request: its tier, its key (none for anonymous callers and the bootstrap
/// admin key) and its rate limit override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tier: Tier,
    pub key_id: Option<Uuid>,
    /// The key's visible prefix, for logs.
    pub key_prefix: Option<String>,
    /// Requests per minute instead of the tier's.
    pub limit: Option<u32>,
    /// The client's address (behind trusted proxies: the forwarded one).
    pub ip: IpAddr,
}

impl Caller {
    /// An anonymous caller from `ip`.
    pub fn anonymous(ip: IpAddr) -> Self {
        Self {
            tier: Tier::Anonymous,
            key_id: None,
            key_prefix: None,
            limit: None,
            ip,
        }
    }

    /// What the caller's rate limit is counted by: its key, else its address.
    pub fn limit_subject(&self) -> String {
        match (self.key_id, self.tier) {
            (Some(id), _) => format!("key:{id}"),
            (None, Tier::Admin) => "admin-key".to_owned(),
            (None, _) => format!("ip:{}", client_ip::limit_subject(self.ip)),
        }
    }

    /// `Ok` when the caller has at least tier `min`; else 401 for anonymous callers (a key
    /// would help) and 403 for keys of a lower tier.
    pub fn require(&self, min: Tier) -> Result<(), ApiError> {
        if self.tier >= min {
            Ok(())
        } else if self.tier == Tier::Anonymous {
            Err(ApiError::Unauthenticated(format!(
                "this endpoint needs an API key of the {min} tier or above"
            )))
        } else {
            Err(ApiError::Forbidden {
                required: min.to_string(),
            })
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// The caller the guard resolved; outside the guarded routes, an anonymous caller.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = req
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| {
                let ip = req
                    .peer_addr()
                    .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
                Caller::anonymous(ip)
            });
        ready(Ok(caller))
    }
}

/// A minimum tier, as a type for [`RequireTier`].
pub trait MinTier {
    const TIER: Tier;
}

/// The admin tier.
#[derive(Debug)]
pub struct Admin;

impl MinTier for Admin {
    const TIER: Tier = Tier::Admin;
}

/// The free tier (any key).
#[derive(Debug)]
pub struct Free;

impl MinTier for Free {
    const TIER: Tier = Tier::Free;
}

/// An extractor that refuses callers below `T::TIER` (401 without a key, 403 with one).
#[derive(Debug)]
pub struct RequireTier<T: MinTier>(pub Caller, PhantomData<T>);

impl<T: MinTier> RequireTier<T> {
    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.0
    }
}

impl<T: MinTier> FromRequest for RequireTier<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = match Caller::from_request(req, payload).into_inner() {
            Ok(caller) => caller,
            Err(e) => return ready(Err(e)),
        };
        ready(
            caller
                .require(T::TIER)
                .map(|()| RequireTier(caller, PhantomData)),
        )
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;

    fn caller(tier: Tier) -> Caller {
        Caller {
            tier,
            ..Caller::anonymous(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
    }

    #[test]
    fn a_lower_tier_is_forbidden_and_no_key_is_unauthenticated() {
        assert!(caller(Tier::Admin).require(Tier::Admin).is_ok());
        assert!(caller(Tier::Premium).require(Tier::Free).is_ok());
        let status = |t: Tier| {
            caller(t)
                .require(Tier::Admin)
                .unwrap_err()
                .status_code()
                .as_u16()
        };
        assert_eq!(status(Tier::Standard), 403);
        assert_eq!(status(Tier::Anonymous), 401);
    }

    #[test]
    fn limits_count_keys_by_id_and_anonymous_callers_by_address() {
        let id = Uuid::now_v7();
        let keyed = Caller {
            key_id: Some(id),
            ..caller(Tier::Free)
        };
        assert_eq!(keyed.limit_subject(), format!("key:{id}"));
        assert_eq!(caller(Tier::Anonymous).limit_subject(), "ip:127.0.0.1");
    }
}
