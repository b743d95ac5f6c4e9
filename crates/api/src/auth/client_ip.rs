//! The client's address: the TCP peer, unless the peer is a trusted proxy, in which case
//! the right-most address of `X-Forwarded-For` that is not itself a trusted proxy.
//! Everything left of that address was written by the client and proves nothing.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// Trusted proxy ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (a bare address counts as a single host).
    pub fn parse<S: AsRef<str>>(cidrs: &[S]) -> Result<Self, String> {
        cidrs
            .iter()
            .map(|c| {
                let c = c.as_ref().trim();
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{c}` is not a CIDR range"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer and every `X-Forwarded-For` value in order.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        // Walk from the nearest hop outwards; stop at the first address no trusted proxy
        // wrote, or at garbage (then the last trusted hop is as far as we can trust).
        for hop in forwarded_for.rev().flat_map(|v| v.rsplit(',')) {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .map(|ip| canonical(IpAddr::V6(ip)))
}

/// IPv4-mapped IPv6 addresses as the IPv4 addresses they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What an anonymous caller's rate limit is counted by: the address itself for IPv4, the
/// /64 network for IPv6 (one host usually holds a whole /64).
pub fn limit_subject(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.1"]).unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let client = proxies().client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter());
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_peer_yields_the_right_most_untrusted_address() {
        // The client forged 6.6.6.6; the load balancer appended the real address.
        let client = proxies().client_ip(
            ip("10.0.0.2"),
            ["6.6.6.6, 198.51.100.7", "10.1.2.3"].into_iter(),
        );
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let client = proxies().client_ip(ip("10.0.0.2"), ["10.9.9.9, 192.168.1.1"].into_iter());
        assert_eq!(client, ip("10.9.9.9"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let client =
            proxies().client_ip(ip("10.0.0.2"), ["1.1.1.1, nonsense, 10.3.3.3"].into_iter());
        assert_eq!(client, ip("10.3.3.3"));
        let client = proxies().client_ip(ip("10.0.0.2"), std::iter::empty());
        assert_eq!(client, ip("10.0.0.2"));
    }

    #[test]
    fn hops_may_carry_ports_and_brackets() {
        let client = proxies().client_ip(ip("10.0.0.2"), ["[2001:db8::1]:443"].into_iter());
        assert_eq!(client, ip("2001:db8::1"));
        let client = proxies().client_ip(ip("::ffff:10.0.0.2"), ["198.51.100.7:5000"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn invalid_ranges_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }

    #[test]
    fn ipv6_callers_are_limited_by_their_64() {
        assert_eq!(
            limit_subject(ip("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            limit_subject(ip("2001:db8:1:2:ffff::1")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(limit_subject(ip("198.51.100.7")), "198.51.100.7");
    }
}
