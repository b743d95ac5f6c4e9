//! Where a delivery may go. A webhook URL is chosen by whoever holds an API key, and the
//! worker that follows it sits inside the operator's network: without these rules anyone
//! could make it POST to the cloud's metadata service, a database's HTTP port or an admin
//! page on localhost (SSRF). Every address a host resolves to is checked, at subscription
//! time and again at each connection (the worker's resolver applies the same policy, so a
//! name that re-resolves to a private address is refused: no DNS rebinding).
//!
//! Refused unless an operator allows a range (`webhooks.allowed_networks`): the
//! unspecified, loopback, private, shared (CGNAT), link-local (with the metadata address
//! 169.254.169.254), benchmarking, documentation, multicast, reserved and broadcast IPv4
//! ranges; in IPv6 the unspecified and loopback addresses, IPv4-compatible addresses,
//! unique-local (with AWS's fd00:ec2::254), link-local, site-local, multicast,
//! documentation and discard-only ranges; and the IPv4-mapped, NAT64 and 6to4 forms of
//! any refused IPv4 address.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// Refused IPv4 ranges, with what they are.
const FORBIDDEN_V4: &[(&str, &str)] = &[
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (and broadcast)"),
];

/// Refused IPv6 ranges, with what they are (IPv4 embedded in mapped, NAT64 and 6to4
/// addresses is checked against [`FORBIDDEN_V4`] separately).
const FORBIDDEN_V6: &[(&str, &str)] = &[
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (cloud metadata at fd00:ec2::254)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
];

/// An address a delivery may not go to, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address} is in {range} ({what}), where webhooks are not delivered")]
pub struct Forbidden {
    /// The refused address.
    pub address: IpAddr,
    /// The refused range it is in.
    pub range: IpNet,
    /// What that range is.
    pub what: &'static str,
}

/// Which addresses deliveries may reach: everything public, plus what the operator allows.
#[derive(Debug, Clone)]
pub struct AddressPolicy {
    forbidden: Vec<(IpNet, &'static str)>,
    allowed: Vec<IpNet>,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        let forbidden = FORBIDDEN_V4
            .iter()
            .chain(FORBIDDEN_V6)
            .map(|(net, what)| (net.parse().expect("a valid built-in range"), *what))
            .collect();
        Self {
            forbidden,
            allowed: Vec::new(),
        }
    }
}

impl AddressPolicy {
    /// The built-in rules, with `allowed` (CIDRs, `webhooks.allowed_networks`) let through.
    pub fn new<S: AsRef<str>>(allowed: &[S]) -> Result<Self, String> {
        let allowed = allowed
            .iter()
            .map(|net| {
                let net = net.as_ref().trim();
                net.parse::<IpNet>()
                    .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("webhooks.allowed_networks: `{net}` is not a CIDR range"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed,
            ..Self::default()
        })
    }

    /// Whether a delivery may connect to `address`.
    pub fn check(&self, address: IpAddr) -> Result<(), Forbidden> {
        let embedded = embedded_v4(address);
        let allowed = |ip: IpAddr| self.allowed.iter().any(|net| net.contains(&ip));
        if allowed(address) || embedded.is_some_and(|v4| allowed(IpAddr::V4(v4))) {
            return Ok(());
        }
        let refused = |ip: IpAddr| {
            self.forbidden
                .iter()
                .find(|(net, _)| net.contains(&ip))
                .map(|(net, what)| Forbidden {
                    address,
                    range: *net,
                    what,
                })
        };
        if let Some(v4) = embedded
            && let Some(forbidden) = refused(IpAddr::V4(v4))
        {
            return Err(forbidden);
        }
        if address == IpAddr::V4(Ipv4Addr::BROADCAST) {
            return Err(Forbidden {
                address,
                range: IpNet::from(address),
                what: "broadcast",
            });
        }
        refused(address).map_or(Ok(()), Err)
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`)
/// or 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(address: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = address else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = v6.segments();
    let [a, b, c, d] = v6.octets()[12..16] else {
        return None;
    };
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    if segments[0] == 0x2002 {
        let [x, y] = segments[1].to_be_bytes();
        let [z, w] = segments[2].to_be_bytes();
        return Some(Ipv4Addr::new(x, y, z, w));
    }
    None
}

/// A checked webhook URL: http(s), no credentials, not too long, and (when its host is an
/// address) an address the policy allows. A host name still has to be resolved and each
/// of its addresses checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    url: Url,
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL is longer than {0} characters")]
    TooLong(usize),
    #[error("not a URL: {0}")]
    Unparseable(String),
    #[error("the URL must be https (or http where the operator allows it), not `{0}`")]
    Scheme(String),
    #[error(
        "the URL must be https: this server does not deliver over plain http \
         (webhooks.allow_http)"
    )]
    PlainHttp,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL's host does not resolve: {0}")]
    Unresolvable(String),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
}

/// Longest URL accepted (`webhook_subscriptions.url` checks the same).
pub const MAX_URL_LEN: usize = 2048;

impl WebhookTarget {
    /// Checks `text` as a delivery URL.
    pub fn parse(
        text: &str,
        allow_http: bool,
        policy: &AddressPolicy,
    ) -> Result<Self, TargetError> {
        if text.len() > MAX_URL_LEN {
            return Err(TargetError::TooLong(MAX_URL_LEN));
        }
        let url = Url::parse(text).map_err(|e| TargetError::Unparseable(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err(TargetError::PlainHttp),
            other => return Err(TargetError::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        let target = Self { url };
        match target.url.host() {
            None => return Err(TargetError::NoHost),
            Some(Host::Domain("")) => return Err(TargetError::NoHost),
            _ => {}
        }
        if let Some(ip) = target.literal_ip() {
            policy.check(ip)?;
        }
        Ok(target)
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host as written (without IPv6 brackets).
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        }
    }

    /// The port, explicit or the scheme's.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// The host when it is an address rather than a name.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forbidden_range_is_refused_and_public_addresses_pass() {
        let policy = AddressPolicy::default();
        for (address, range) in [
            ("0.0.0.0", "0.0.0.0/8"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("10.0.0.1", "10.0.0.0/8"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("100.127.255.254", "100.64.0.0/10"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.0.9", "127.0.0.0/8"),
            ("169.254.169.254", "169.254.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.255", "172.16.0.0/12"),
            ("192.0.0.8", "192.0.0.0/24"),
            ("192.0.2.1", "192.0.2.0/24"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.1", "198.18.0.0/15"),
            ("198.51.100.7", "198.51.100.0/24"),
            ("203.0.113.7", "203.0.113.0/24"),
            ("224.0.0.1", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("240.0.0.1", "240.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
            ("::", "::/128"),
            ("::1", "::1/128"),
            ("::7f00:1", "::/96"),
            ("fc00::1", "fc00::/7"),
            ("fd00:ec2::254", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("fec0::1", "fec0::/10"),
            ("ff02::1", "ff00::/8"),
            ("2001:db8::1", "2001:db8::/32"),
            ("100::1", "100::/64"),
            ("64:ff9b:1::1", "64:ff9b:1::/48"),
            // IPv4-mapped, NAT64 and 6to4 forms of refused IPv4 addresses.
            ("::ffff:127.0.0.1", "127.0.0.0/8"),
            ("::ffff:169.254.169.254", "169.254.0.0/16"),
            ("64:ff9b::10.1.2.3", "10.0.0.0/8"),
            ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),
            ("2002:c0a8:0101::1", "192.168.0.0/16"),
            ("2002:7f00:1::", "127.0.0.0/8"),
        ] {
            let ip: IpAddr = address.parse().unwrap();
            let err = policy.check(ip).expect_err(address);
            assert_eq!(err.range.to_string(), range, "{address}");
            assert!(
                err.to_string().contains(address) || err.to_string().contains(&ip.to_string()),
                "{err}"
            );
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "198.20.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(policy.check(public.parse().unwrap()), Ok(()), "{public}");
        }
    }

    #[test]
    fn an_operator_can_allow_a_range() {
        let policy = AddressPolicy::new(&["10.1.0.0/16", "127.0.0.1", "fd00::/8"]).unwrap();
        assert_eq!(policy.check("10.1.2.3".parse().unwrap()), Ok(()));
        assert!(policy.check("10.2.0.1".parse().unwrap()).is_err());
        assert_eq!(policy.check("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(policy.check("::ffff:127.0.0.1".parse().unwrap()), Ok(()));
        assert!(policy.check("127.0.0.2".parse().unwrap()).is_err());
        assert_eq!(policy.check("fd00:ec2::254".parse().unwrap()), Ok(()));
        let err = AddressPolicy::new(&["10.0.0.0/33"]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }

    #[test]
    fn urls_must_be_https_without_credentials_and_not_a_forbidden_literal() {
        let policy = AddressPolicy::default();
        let ok =
            WebhookTarget::parse("https://hooks.example.com/wump?x=1", false, &policy).unwrap();
        assert_eq!(ok.host(), "hooks.example.com");
        assert_eq!(ok.port(), 443);
        assert_eq!(ok.literal_ip(), None);
        assert_eq!(
            WebhookTarget::parse("http://hooks.example.com/", false, &policy),
            Err(TargetError::PlainHttp)
        );
        assert!(WebhookTarget::parse("http://hooks.example.com:8080/", true, &policy).is_ok());
        assert_eq!(
            WebhookTarget::parse("ftp://hooks.example.com/", true, &policy),
            Err(TargetError::Scheme("ftp".into()))
        );
        assert_eq!(
            WebhookTarget::parse("https://u:p@hooks.example.com/", false, &policy),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            WebhookTarget::parse("not a url", false, &policy),
            Err(TargetError::Unparseable(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            WebhookTarget::parse(&long, false, &policy),
            Err(TargetError::TooLong(MAX_URL_LEN))
        );
        // Literal addresses, however they are spelled.
        for url in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://[::1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://169.254.169.254/latest/meta-data/",
        ] {
            assert!(
                matches!(
                    WebhookTarget::parse(url, false, &policy),
                    Err(TargetError::Forbidden(_))
                ),
                "{url}"
            );
        }
    }
}
