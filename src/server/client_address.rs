//! Who is the client: the TCP peer, or, behind a trusted reverse proxy, the address that
//! proxy reports in `X-Forwarded-For` or `Forwarded: for=` (RFC 7239).
//!
//! Those headers are only as good as whoever wrote them: anyone can send them, so they
//! are read only when the peer is a trusted proxy, and only back to the first hop that is
//! not one (walking from the right, the entries added by our own proxies come first; what
//! lies to the left of an untrusted hop is the client's own claim).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// Entries of a forwarding header looked at, from the right. Real chains have a handful
/// of hops; past this many the nearest trusted hop answers.
const MAX_HOPS: usize = 32;

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address
/// (`192.0.2.7`, a `/32` or `/128`).
///
/// ```
/// use gatepass::IpCidr;
/// let proxies: IpCidr = "10.0.0.0/8".parse()?;
/// assert!(proxies.contains("10.1.2.3".parse()?));
/// assert!(!proxies.contains("192.0.2.1".parse()?));
/// assert!("10.0.0.1/8".parse::<IpCidr>().is_err()); // host bits set: did you mean 10.0.0.0/8?
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR was refused.
///
/// ```
/// use gatepass::{CidrError, IpCidr};
/// assert_eq!("10.0.0.0/33".parse::<IpCidr>(), Err(CidrError::Prefix));
/// assert_eq!(
///     "10.0.0.1/8".parse::<IpCidr>(),
///     Err(CidrError::HostBits("10.0.0.0/8".into()))
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CidrError {
    /// Not an IPv4 or IPv6 address before the `/`.
    Address,
    /// The prefix length is not a number up to 32 (IPv4) or 128 (IPv6).
    Prefix,
    /// Bits set after the prefix; carries the network that was probably meant.
    HostBits(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address => f.write_str("expected an IPv4 or IPv6 address, optionally /PREFIX"),
            Self::Prefix => {
                f.write_str("the prefix length must be 0..=32 for IPv4, 0..=128 for IPv6")
            }
            Self::HostBits(meant) => {
                write!(f, "bits are set after the prefix (did you mean {meant}?)")
            }
        }
    }
}

impl std::error::Error for CidrError {}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & bits))
        }
    }
}

impl IpCidr {
    /// Whether `address` is inside this network. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`, what a dual-stack listener reports) counts as its IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| CidrError::Address)?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            // `u8::from_str` takes a leading `+`; a prefix is digits only.
            Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(CidrError::Prefix)
            }
            Some(p) => p.parse::<u8>().map_err(|_| CidrError::Prefix)?,
            None => max,
        };
        if prefix > max {
            return Err(CidrError::Prefix);
        }
        let network = mask(address, prefix);
        if network != address {
            return Err(CidrError::HostBits(format!("{network}/{prefix}")));
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn trusted(address: IpAddr, proxies: &[IpCidr]) -> bool {
    proxies.iter().any(|cidr| cidr.contains(address))
}

/// The client's address for a request from `peer`: `peer` itself unless it is inside one
/// of `proxies`; then the rightmost entry of `X-Forwarded-For` (or, without that header,
/// of `Forwarded: for=`) that is not a trusted proxy. An entry that is not an address
/// (`unknown`, an obfuscated name, garbage) ends the walk at the nearest trusted hop that
/// reported it; a chain of trusted hops only gives its leftmost.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &[IpCidr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(peer, proxies) {
        return peer;
    }
    let entries = if headers.contains_key("x-forwarded-for") {
        forwarded_for(headers, "x-forwarded-for", Some)
    } else {
        forwarded_for(headers, "forwarded", forwarded_element_for)
    };
    let mut nearest = peer;
    for entry in entries.iter().rev().take(MAX_HOPS) {
        let Some(address) = entry.and_then(parse_node) else {
            return nearest;
        };
        if !trusted(address, proxies) {
            return address;
        }
        nearest = address;
    }
    nearest
}

/// The comma-separated entries of every `name` header, in order, each mapped by `pick`
/// (`None`: an entry that names no node). A value that is not text is one unusable entry.
fn forwarded_for<'h>(
    headers: &'h HeaderMap,
    name: &str,
    pick: impl Fn(&'h str) -> Option<&'h str>,
) -> Vec<Option<&'h str>> {
    let mut entries = Vec::new();
    for value in headers.get_all(name) {
        match value.to_str() {
            Ok(text) => entries.extend(text.split(',').map(|e| pick(e.trim()))),
            Err(_) => entries.push(None),
        }
    }
    entries
}

/// The `for=` parameter of one RFC 7239 forwarded-element (`for=x;proto=https;by=y`),
/// quotes removed.
fn forwarded_element_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        Some(
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value),
        )
    })
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:8080`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !port_ok {
            return None;
        }
        return address
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6)
            .map(|a| a.to_canonical());
    }
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    let (address, port) = node.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    address.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cidrs(list: &[&str]) -> Vec<IpCidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn resolve(peer: &str, pairs: &[(&'static str, &str)], proxies: &[&str]) -> IpAddr {
        client_address(ip(peer), &headers(pairs), &cidrs(proxies))
    }

    #[test]
    fn cidrs_parse_and_refuse_what_they_must() {
        for (text, shown) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("127.0.0.1", "127.0.0.1/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("fd00::/8", "fd00::/8"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
            ("2001:db8:1:2::/64", "2001:db8:1:2::/64"),
        ] {
            assert_eq!(text.parse::<IpCidr>().unwrap().to_string(), shown);
        }
        for (text, error) in [
            ("", CidrError::Address),
            ("10.0.0/8", CidrError::Address),
            ("example.com/8", CidrError::Address),
            ("[::1]/128", CidrError::Address),
            ("10.0.0.0/33", CidrError::Prefix),
            ("10.0.0.0/", CidrError::Prefix),
            ("10.0.0.0/+8", CidrError::Prefix),
            ("10.0.0.0/8/8", CidrError::Prefix),
            ("10.0.0.0/-1", CidrError::Prefix),
            ("fd00::/129", CidrError::Prefix),
            ("10.0.0.0/999999999999", CidrError::Prefix),
            ("10.0.0.1/8", CidrError::HostBits("10.0.0.0/8".into())),
            ("fd00::1/64", CidrError::HostBits("fd00::/64".into())),
        ] {
            assert_eq!(text.parse::<IpCidr>(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn cidrs_contain_their_addresses_and_mapped_ipv4() {
        let net: IpCidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::a00:1")), "IPv6 is not IPv4");
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")) && !all.contains(ip("2001:db8::1")));
        let v6: IpCidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let spoofed = [
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ];
        assert_eq!(resolve("198.51.100.1", &spoofed, &[]), ip("198.51.100.1"));
    }

    #[test]
    fn spoofed_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(
            resolve("198.51.100.1", &spoofed, &["10.0.0.0/8"]),
            ip("198.51.100.1")
        );
        // A mapped IPv4 peer is its IPv4 address.
        assert_eq!(
            resolve("::ffff:198.51.100.1", &spoofed, &["10.0.0.0/8"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = ["10.0.0.0/8"];
        let xff = |v| [("x-forwarded-for", v)];
        assert_eq!(
            resolve("10.0.0.1", &xff("203.0.113.9"), &proxies),
            ip("203.0.113.9")
        );
        // The client's own claims are to the left of the first untrusted hop.
        assert_eq!(
            resolve("10.0.0.1", &xff("1.1.1.1, 203.0.113.9"), &proxies),
            ip("203.0.113.9")
        );
        // Several trusted hops are skipped.
        assert_eq!(
            resolve(
                "10.0.0.1",
                &xff("6.6.6.6, 203.0.113.9, 10.0.0.3, 10.0.0.2"),
                &proxies
            ),
            ip("203.0.113.9")
        );
        // Several header lines are one list, in order.
        let lines = [
            ("x-forwarded-for", "6.6.6.6, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.2"),
        ];
        assert_eq!(resolve("10.0.0.1", &lines, &proxies), ip("203.0.113.9"));
        // Only trusted hops: the furthest one.
        assert_eq!(
            resolve("10.0.0.1", &xff("10.0.0.7, 10.0.0.2"), &proxies),
            ip("10.0.0.7")
        );
        // No header: the proxy itself.
        assert_eq!(resolve("10.0.0.1", &[], &proxies), ip("10.0.0.1"));
    }

    #[test]
    fn ports_brackets_and_ipv6_are_understood() {
        let proxies = ["10.0.0.0/8", "fd00::/8"];
        for (value, client) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("2001:db8::17", "2001:db8::17"),
            ("[2001:db8::17]", "2001:db8::17"),
            ("[2001:db8::17]:4711", "2001:db8::17"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            (" 203.0.113.9 ,fd00::2", "203.0.113.9"),
        ] {
            assert_eq!(
                resolve("fd00::1", &[("x-forwarded-for", value)], &proxies),
                ip(client),
                "{value:?}"
            );
        }
    }

    #[test]
    fn rfc_7239_forwarded_is_read_without_x_forwarded_for() {
        let proxies = ["10.0.0.0/8"];
        for (value, client) in [
            ("for=203.0.113.9", "203.0.113.9"),
            ("For=\"203.0.113.9:80\";proto=https", "203.0.113.9"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            (
                "for=\"[2001:db8:cafe::17]\";by=10.0.0.1",
                "2001:db8:cafe::17",
            ),
            (
                "proto=https;for=6.6.6.6, for=203.0.113.9;by=x, for=10.0.0.2",
                "203.0.113.9",
            ),
        ] {
            assert_eq!(
                resolve("10.0.0.1", &[("forwarded", value)], &proxies),
                ip(client),
                "{value:?}"
            );
        }
        // X-Forwarded-For wins when both are there.
        let both = [
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(resolve("10.0.0.1", &both, &proxies), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_entries_stop_at_the_nearest_trusted_hop() {
        let proxies = ["10.0.0.0/8"];
        for value in [
            "unknown",
            "203.0.113.9, _hidden",
            "203.0.113.9, garbage, 10.0.0.2",
            "",
            "203.0.113.9,",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[10.0.0.5]",
            "203.0.113.9:",
            "203.0.113.9:http",
            "2001:db8::1:80:",
        ] {
            let got = resolve("10.0.0.1", &[("x-forwarded-for", value)], &proxies);
            assert!(
                got == ip("10.0.0.1") || got == ip("10.0.0.2"),
                "{value:?} gave {got}"
            );
        }
        assert_eq!(
            resolve(
                "10.0.0.1",
                &[("x-forwarded-for", "203.0.113.9, garbage, 10.0.0.2")],
                &proxies
            ),
            ip("10.0.0.2")
        );
        for value in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=\"203.0.113.9",
            "for",
        ] {
            assert_eq!(
                resolve("10.0.0.1", &[("forwarded", value)], &proxies),
                ip("10.0.0.1"),
                "{value:?}"
            );
        }
        // A value that is not text.
        let mut map = HeaderMap::new();
        map.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"203.0.113.\xff").unwrap(),
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &map, &cidrs(&proxies)),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn long_chains_are_bounded() {
        let proxies = ["10.0.0.0/8"];
        let mut chain = vec!["203.0.113.9".to_owned()];
        chain.extend((0..1000).map(|n| format!("10.0.{}.{}", n / 250, n % 250 + 1)));
        let value = chain.join(",");
        let got = resolve("10.0.0.1", &[("x-forwarded-for", &value)], &proxies);
        assert!(cidrs(&proxies)[0].contains(got), "{got}");
    }
}
