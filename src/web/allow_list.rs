//! Addresses allowed to read `/metrics` without signing in (`--metrics-allow`): single IP
//! addresses or CIDR ranges, checked against the TCP peer of a connection.
//!
//! It trusts the peer address only, never `X-Forwarded-For` or the like: behind a reverse
//! proxy every client has the proxy's address, so the proxy's address must not be listed.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// An IP address, or a range of them in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` is in the range. An IPv4 address seen as IPv6 (`::ffff:127.0.0.1`, from a
    /// dual-stack listener) counts as the IPv4 address.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of two left-aligned 128-bit values agree.
fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    a & mask == b & mask
}

/// Why an `--metrics-allow` entry was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or a CIDR range such as 10.0.0.0/8")]
pub struct IpRangeError(String);

impl FromStr for IpRange {
    type Err = IpRangeError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let text = raw.trim();
        let invalid = || IpRangeError(raw.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| invalid())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(invalid)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The addresses allowed to read `/metrics` without signing in; empty by default.
#[derive(Clone, Debug, Default)]
pub struct AllowList(Arc<[IpRange]>);

impl AllowList {
    /// A list of the given ranges.
    #[must_use]
    pub fn new(ranges: Vec<IpRange>) -> Self {
        Self(ranges.into())
    }

    /// Whether `ip` is in one of the ranges.
    #[must_use]
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_parse_and_match() {
        let list = AllowList::new(
            ["127.0.0.1", "10.0.0.0/8", " fd00::/8", "::1"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect(),
        );
        assert!(list.allows(ip("127.0.0.1")));
        assert!(list.allows(ip("::ffff:127.0.0.1")));
        assert!(!list.allows(ip("127.0.0.2")));
        assert!(list.allows(ip("10.200.3.4")));
        assert!(!list.allows(ip("11.0.0.1")));
        assert!(list.allows(ip("fd12::1")));
        assert!(list.allows(ip("::1")));
        assert!(!list.allows(ip("fe80::1")));
        assert!(!AllowList::default().allows(ip("127.0.0.1")));
        let everyone: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(everyone.contains(ip("203.0.113.9")));
        assert!(!everyone.contains(ip("2001:db8::1")));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "1.2.3.4/x",
            "1.2.3",
        ] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad:?}");
        }
    }
}
