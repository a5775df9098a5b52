//! Where a request came from, as the use cases record it: in audit events, and in the keys of the
//! failed-authentication limits. The HTTP edge reads it from the request (`writ_http::RequestOrigin`)
//! with [`TrustedProxies::client_address`]: the TCP peer, unless the peer is a proxy the operator
//! trusts, whose forwarding header then says who its caller was.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::Deserialize;
use writ_core::AuditEvent;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The caller's address: the TCP peer, or the address a trusted proxy forwarded for.
    pub ip: Option<IpAddr>,
    /// The `X-Request-Id` the request carried, to find it in other logs.
    pub request_id: Option<String>,
    // A client certificate (RFC 8705 mutual TLS) would be carried here too, when a listener asks for one.
}

impl Origin {
    /// `event`, stamped with where its request came from.
    pub fn stamp(&self, mut event: AuditEvent) -> AuditEvent {
        event.ip = self.ip.map(|ip| ip.to_string());
        event.request_id.clone_from(&self.request_id);
        event
    }
}

/// The proxies whose forwarding headers are believed (`trusted_proxies`): CIDR blocks or single
/// addresses. None by default: then every address is the TCP peer's, and a forwarding header is
/// ignored, as anyone can send one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list, as the environment and flags give it: `10.0.0.0/8, 192.0.2.7`.
    pub fn parse(list: &str) -> Result<Self, String> {
        Self::try_from(
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The caller's address. The peer's, unless the peer is trusted: then the `hops` a forwarding
    /// header lists (the original client first, the nearest proxy last) are walked from the
    /// nearest, past every trusted proxy, to the first address that is not one. Entries further
    /// left were written by that untrusted caller and mean nothing. A hop that is not an address
    /// (`unknown`, an obfuscated name) stops the walk at the proxy that reported it.
    pub fn client_address<'h>(
        &self,
        peer: Option<IpAddr>,
        hops: impl DoubleEndedIterator<Item = &'h str>,
    ) -> Option<IpAddr> {
        let mut address = peer.map(|p| p.to_canonical())?;
        if !self.contains(address) {
            return Some(address);
        }
        for hop in hops.rev() {
            let Some(ip) = hop_address(hop) else { break };
            address = ip;
            if !self.contains(ip) {
                break;
            }
        }
        Some(address)
    }
}

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;

    fn try_from(list: Vec<String>) -> Result<Self, String> {
        list.iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: `{s}` is not an address or a CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The hops of `X-Forwarded-For` values (`client, proxy1, proxy2`), in order.
pub fn forwarded_for(values: &[&str]) -> Vec<String> {
    values.iter().flat_map(|v| v.split(',')).map(|h| h.trim().to_owned()).collect()
}

/// The `for=` hops of RFC 7239 `Forwarded` values (`for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`),
/// in order; an element without `for` is a hop of unknown address.
pub fn forwarded(values: &[&str]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// One hop's address: `192.0.2.1`, `192.0.2.1:1234`, `2001:db8::1` or `[2001:db8::1]:1234`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()))
        .map(|ip: IpAddr| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_about_the_hops_it_and_its_peers_added() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").unwrap();
        let xff = forwarded_for(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        let hops = || xff.iter().map(String::as_str);
        // The peer is not a proxy we trust: its headers are the caller's own words.
        assert_eq!(trusted.client_address(Some(ip("198.51.100.1")), hops()), Some(ip("198.51.100.1")));
        // A trusted peer, then a trusted hop, then the first untrusted address: the spoofed
        // leftmost entry is never reached.
        assert_eq!(trusted.client_address(Some(ip("192.0.2.7")), hops()), Some(ip("203.0.113.9")));
        // No proxies trusted: the peer, whatever the header says.
        assert_eq!(
            TrustedProxies::default().client_address(Some(ip("10.1.1.1")), hops()),
            Some(ip("10.1.1.1"))
        );
        // Every hop trusted: the leftmost.
        let internal = forwarded_for(&["10.9.9.9, 10.1.1.1"]);
        assert_eq!(
            trusted.client_address(Some(ip("10.0.0.2")), internal.iter().map(String::as_str)),
            Some(ip("10.9.9.9"))
        );
        // Garbage stops the walk at the proxy that reported it.
        let junk = forwarded_for(&["203.0.113.9, nonsense"]);
        assert_eq!(
            trusted.client_address(Some(ip("10.0.0.2")), junk.iter().map(String::as_str)),
            Some(ip("10.0.0.2"))
        );
        // An IPv4 peer seen through an IPv6 socket is the same peer.
        assert_eq!(trusted.client_address(Some(ip("::ffff:10.0.0.2")), hops()), Some(ip("203.0.113.9")));
        assert_eq!(trusted.client_address(None, hops()), None);
    }

    #[test]
    fn forwarded_hops_with_ports_quotes_and_brackets() {
        let hops = forwarded(&[
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            "For=\"[2001:db8:cafe::17]:4711\", proto=https",
        ]);
        assert_eq!(hops, ["192.0.2.60", "[2001:db8:cafe::17]:4711", ""]);
        assert_eq!(hop_address(&hops[1]), Some(ip("2001:db8:cafe::17")));
        assert_eq!(hop_address("192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(hop_address("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(hop_address("_hidden"), None);
        assert_eq!(hop_address(""), None);
    }

    #[test]
    fn the_setting_refuses_what_is_not_an_address() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
    }
}
