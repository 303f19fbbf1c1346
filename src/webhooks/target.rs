//! Where a webhook may be sent: the URL's shape (http or https, a host, no credentials) and the
//! addresses its host resolves to. Loopback, link-local, unspecified, multicast and cloud
//! metadata addresses are refused unless the operator allowed private targets
//! (`--webhook-allow-private`). The check runs when a subscription is created and again inside
//! the HTTP client's resolver on every new connection, so a name that resolves to a public
//! address at creation and to a private one later (DNS rebinding) is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL with a host.
    #[error("url: {0}")]
    Malformed(String),
    /// The host is, or resolves to, an address webhooks may not reach.
    #[error(
        "url: {host} is {address}, a {kind} address; webhooks may not reach it unless the server runs with --webhook-allow-private"
    )]
    Forbidden {
        /// The URL's host.
        host: String,
        /// The address refused.
        address: IpAddr,
        /// What kind of address it is.
        kind: &'static str,
    },
    /// The host did not resolve.
    #[error("url: {host} does not resolve: {detail}")]
    Unresolved {
        /// The URL's host.
        host: String,
        /// The resolver's words.
        detail: String,
    },
}

/// The longest a host name lookup may take.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Parses a subscription's URL: absolute, http or https, with a host, without user
/// credentials or a fragment.
pub fn parse_url(raw: &str) -> Result<Url, TargetError> {
    if raw.len() > MAX_URL_LEN {
        return Err(TargetError::Malformed(format!(
            "at most {MAX_URL_LEN} characters"
        )));
    }
    let url = Url::parse(raw.trim())
        .map_err(|e| TargetError::Malformed(format!("{e}: give an absolute http or https URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Malformed(format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Malformed("the URL has no host".to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Malformed(
            "credentials in the URL are not kept; receivers verify the signature instead"
                .to_owned(),
        ));
    }
    if url.fragment().is_some() {
        return Err(TargetError::Malformed("the URL has a #fragment".to_owned()));
    }
    Ok(url)
}

/// What kind of forbidden address `ip` is, if it is one.
#[must_use]
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            // The AWS metadata service's IPv6 address.
            if v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
                Some("cloud metadata")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_unicast_link_local() {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<&'static str> {
    if v4 == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata")
    } else if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_unspecified() || v4.octets()[0] == 0 {
        Some("unspecified")
    } else if v4.is_link_local() {
        Some("link-local")
    } else if v4.is_multicast() || v4.is_broadcast() {
        Some("multicast or broadcast")
    } else {
        None
    }
}

/// Refuses `addresses` of `host` if any of them is forbidden (a name with one public and one
/// private address could otherwise be steered to the private one).
pub fn check_addresses(
    host: &str,
    addresses: impl IntoIterator<Item = IpAddr>,
) -> Result<(), TargetError> {
    for address in addresses {
        if let Some(kind) = forbidden_kind(address) {
            return Err(TargetError::Forbidden {
                host: host.to_owned(),
                address,
                kind,
            });
        }
    }
    Ok(())
}

/// Resolves `url`'s host and checks every address (unless private targets are allowed).
pub async fn check_url(url: &Url, allow_private: bool) -> Result<(), TargetError> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>();
    let addresses: Vec<IpAddr> = match literal {
        Ok(ip) => vec![ip],
        Err(_) => tokio::time::timeout(
            LOOKUP_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("the lookup timed out")))
        .map_err(|e| TargetError::Unresolved {
            host: host.clone(),
            detail: e.to_string(),
        })?
        .map(|a| a.ip())
        .collect(),
    };
    if addresses.is_empty() {
        return Err(TargetError::Unresolved {
            host,
            detail: "no addresses".to_owned(),
        });
    }
    check_addresses(&host, addresses)
}

/// The webhook client's resolver: the system resolver, then (unless private targets are
/// allowed) the same check as at creation, on every new connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver {
    /// Whether private addresses are allowed (`--webhook-allow-private`).
    pub allow_private: bool,
}

/// What [`GuardedResolver`] answers.
pub type Resolving = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    std::vec::IntoIter<SocketAddr>,
                    Box<dyn std::error::Error + Send + Sync>,
                >,
            > + Send,
    >,
>;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Resolving;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)))
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the lookup timed out")))?
                    .collect();
            if !allow_private {
                check_addresses(&host, addresses.iter().map(SocketAddr::ip))?;
            }
            Ok(addresses.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_without_credentials_are_taken() {
        assert!(parse_url("https://crm.example.org/hook").is_ok());
        assert!(parse_url("http://10.0.0.5:8080/h?x=1").is_ok());
        for bad in [
            "ftp://example.org/",
            "file:///etc/passwd",
            "/relative",
            "https://user:pw@example.org/",
            "https://example.org/#x",
            "gopher://127.0.0.1:6379/_",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn loopback_link_local_metadata_and_unspecified_addresses_are_refused() {
        for refused in [
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "0.0.0.0",
            "::",
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(forbidden_kind(ip).is_some(), "{refused} was allowed");
        }
        for allowed in ["93.184.216.34", "10.0.0.5", "2001:db8::1", "fd00::1"] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert_eq!(forbidden_kind(ip), None, "{allowed} was refused");
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_unless_allowed() {
        let url = parse_url("http://localhost:9/hook").unwrap();
        assert!(matches!(
            check_url(&url, false).await,
            Err(TargetError::Forbidden { .. })
        ));
        assert!(check_url(&url, true).await.is_ok());
        let literal = parse_url("http://[::ffff:169.254.169.254]/latest/meta-data").unwrap();
        assert!(check_url(&literal, false).await.is_err());
    }
}
