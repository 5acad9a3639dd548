//! What a session remembers about the client that logged it in or last refreshed it: the
//! `User-Agent`, cut to a bound, and the network the address belongs to, never the address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The longest user agent kept, in bytes: enough to tell one browser or app from another,
/// and a bound on what a client can make the store hold per session.
pub const MAX_USER_AGENT_BYTES: usize = 256;

/// IPv4 addresses are kept as their /24 network.
const IPV4_PREFIX: u32 = 24;
/// IPv6 addresses are kept as their /48 network (a site, not a host or a subnet).
const IPV6_PREFIX: u32 = 48;

/// The client a session was last used from, as much as a user needs to recognise a
/// session ("Firefox on a laptop, from my home network") and no more: the user agent cut
/// to [`MAX_USER_AGENT_BYTES`] at a UTF-8 boundary, and the client address truncated to
/// its /24 (IPv4) or /48 (IPv6) network, written `203.0.113.0/24` or `2001:db8:1::/48`.
/// The full address is dropped here, before anything reaches a store.
///
/// The bounds hold for every value of this type, including one read back from a store
/// (deserializing applies them again), so a damaged or hand-edited record cannot make a
/// listing show more.
///
/// ```
/// use gatepass::ClientInfo;
/// let client = ClientInfo::new(Some("curl/8.5.0"), Some("203.0.113.77".parse().unwrap()));
/// assert_eq!(client.user_agent(), Some("curl/8.5.0"));
/// assert_eq!(client.network(), Some("203.0.113.0/24"));
///
/// let v6 = ClientInfo::new(None, Some("2001:db8:1:2:3::9".parse().unwrap()));
/// assert_eq!(v6.network(), Some("2001:db8:1::/48"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawClientInfo")]
pub struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(rename = "ip", skip_serializing_if = "Option::is_none")]
    network: Option<String>,
}

/// What deserialization reads before the bounds are applied again.
#[derive(Deserialize)]
struct RawClientInfo {
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    ip: Option<String>,
}

impl From<RawClientInfo> for ClientInfo {
    fn from(raw: RawClientInfo) -> Self {
        Self::from_stored(raw.user_agent.as_deref(), raw.ip.as_deref())
    }
}

impl ClientInfo {
    /// What to remember of a client: its `User-Agent` (cut to [`MAX_USER_AGENT_BYTES`];
    /// empty counts as none) and its address (kept as its /24 or /48 network only).
    pub fn new(user_agent: Option<&str>, address: Option<IpAddr>) -> Self {
        Self {
            user_agent: user_agent.and_then(bounded_user_agent),
            network: address.map(truncated_network),
        }
    }

    /// A client as a store kept it (user agent, network in CIDR notation), with the
    /// bounds applied again; a network that does not parse is dropped.
    pub(crate) fn from_stored(user_agent: Option<&str>, network: Option<&str>) -> Self {
        Self {
            user_agent: user_agent.and_then(bounded_user_agent),
            network: network.and_then(parse_network).map(truncated_network),
        }
    }

    /// Nothing known about the client (a library login without request metadata).
    pub fn is_empty(&self) -> bool {
        self.user_agent.is_none() && self.network.is_none()
    }

    /// The user agent, at most [`MAX_USER_AGENT_BYTES`] long.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The client's network in CIDR notation (`203.0.113.0/24`, `2001:db8:1::/48`).
    pub fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }
}

impl fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field("user_agent", &self.user_agent)
            .field("network", &self.network)
            .finish()
    }
}

/// `user_agent` cut to the bound at a character boundary; `None` if empty.
fn bounded_user_agent(user_agent: &str) -> Option<String> {
    let mut end = user_agent.len().min(MAX_USER_AGENT_BYTES);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    let cut = user_agent.get(..end).unwrap_or_default().trim();
    (!cut.is_empty()).then(|| cut.to_owned())
}

/// The /24 or /48 network of `address`, in CIDR notation. An IPv4-mapped IPv6 address
/// is an IPv4 client, kept as its /24.
fn truncated_network(address: IpAddr) -> String {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_network(v4),
            None => {
                let bits = u128::from(v6) & (u128::MAX << (128 - IPV6_PREFIX));
                format!("{}/{IPV6_PREFIX}", Ipv6Addr::from(bits))
            }
        },
        IpAddr::V4(v4) => v4_network(v4),
    }
}

fn v4_network(v4: Ipv4Addr) -> String {
    let bits = u32::from(v4) & (u32::MAX << (32 - IPV4_PREFIX));
    format!("{}/{IPV4_PREFIX}", Ipv4Addr::from(bits))
}

/// The address part of a stored network (`a.b.c.0/24`, or a bare address).
fn parse_network(text: &str) -> Option<IpAddr> {
    let address = text.split_once('/').map_or(text, |(address, _)| address);
    address.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_as_their_24_or_48_network() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            ClientInfo::new(None, ip("192.0.2.255")).network(),
            Some("192.0.2.0/24")
        );
        assert_eq!(
            ClientInfo::new(None, ip("2001:db8:abcd:12:1::1")).network(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(
            ClientInfo::new(None, ip("::ffff:198.51.100.7")).network(),
            Some("198.51.100.0/24")
        );
    }

    #[test]
    fn user_agents_are_cut_at_a_character_boundary() {
        // 255 ASCII bytes then a 2-byte character straddling the bound: it goes whole.
        let agent = format!("{}é-and-more", "a".repeat(255));
        let client = ClientInfo::new(Some(&agent), None);
        assert_eq!(client.user_agent(), Some("a".repeat(255).as_str()));
        assert_eq!(ClientInfo::new(Some("   "), None).user_agent(), None);
        assert!(ClientInfo::new(Some(""), None).is_empty());
    }

    #[test]
    fn stored_values_are_bounded_again_when_read_back() {
        let long = "b".repeat(1000);
        let json = format!(r#"{{"user_agent":"{long}","ip":"203.0.113.9"}}"#);
        let client: ClientInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(
            client.user_agent().map(str::len),
            Some(MAX_USER_AGENT_BYTES)
        );
        assert_eq!(client.network(), Some("203.0.113.0/24"));
        let garbage: ClientInfo = serde_json::from_str(r#"{"ip":"not an address"}"#).unwrap();
        assert!(garbage.is_empty());
        let empty: ClientInfo = serde_json::from_str("{}").unwrap();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    }
}
