//! Serving HTTP connections: the accept loop, with the limits that keep slow or numerous
//! clients from pinning the server.
//!
//! `axum::serve` gives hyper no timer, so its header-read timeout never fires and a client that
//! dribbles its headers holds a connection for as long as it likes. This loop serves each
//! connection with hyper's HTTP/1 server, a [`TokioTimer`] and a header-read timeout, holds a
//! semaphore permit per connection (when all are taken it stops accepting, and new clients wait
//! in the listen backlog), closes at once a new connection from an address that already holds
//! its share of connections (so one client cannot take every slot), hands handlers the client's
//! address as [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) and the address it
//! connected to as [`LocalAddr`], lets a handler have its connection closed
//! ([`CloseConnection`], for an answer its client stopped reading), and at shutdown stops
//! accepting, lets in-flight requests finish within a grace period, and closes whatever is left.
//!
//! It knows nothing of routes or of time limits per request: it serves the [`Router`] it is
//! given, which carries those as layers.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinError, JoinSet};

/// How long to wait before accepting again after `accept` failed (typically: out of file
/// descriptors), so a persistent failure does not spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits the accept loop enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers, counted from the first read of
    /// a new connection or the end of the previous response on a kept-alive one. A connection
    /// over it is closed; so an idle connection lives no longer than this either.
    pub header_read_timeout: Duration,
    /// The most connections served at once; clients beyond it wait in the listen backlog until
    /// a connection closes. Values below 1 count as 1.
    pub max_connections: usize,
    /// The most connections one client address holds at once (IPv6 clients count per /64, the
    /// block one host usually has); a new connection beyond it is closed at once, without
    /// waiting for a slot. Values below 1 count as 1.
    pub max_connections_per_address: usize,
    /// After shutdown starts, how long in-flight requests may take to finish before their
    /// connections are closed regardless.
    pub shutdown_grace: Duration,
}

/// The local address a connection was accepted on (the address the client connected to), as a
/// request extension: for a server listening on every address, the one this client used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAddr(pub SocketAddr);

/// A request extension through which a handler can have the server close its connection: for
/// an answer still being sent to a client that stopped reading (a live-feed stream cut for
/// falling behind), which would otherwise hold the connection, and what the answer holds, until
/// that client reads again or goes away. The connection is dropped at once, whatever it was
/// writing; every request of a kept-alive connection sees the same one.
#[derive(Clone, Debug, Default)]
pub struct CloseConnection(Arc<Notify>);

impl CloseConnection {
    /// Closes the connection (now if it is being served; a request served later on it would
    /// find it closed).
    pub fn close(&self) {
        self.0.notify_one();
    }

    /// Completes when [`CloseConnection::close`] is called.
    async fn closed(&self) {
        self.0.notified().await;
    }
}

/// Live connections per client address, with a cap. A connection counts from its acceptance
/// until its task ends (the [`Slot`] it holds is dropped).
#[derive(Debug)]
struct PerAddress {
    cap: usize,
    live: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerAddress`]; gives it back when dropped.
struct Slot {
    table: Arc<PerAddress>,
    address: IpAddr,
}

impl PerAddress {
    fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            live: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `peer`, or `None` when that address holds `cap` already.
    /// The table holds only addresses with live connections, so it is bounded by the global cap.
    fn take(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let address = client_address(peer);
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let count = live.entry(address).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            table: self.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut live = self
            .table
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = live.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                live.remove(&self.address);
            }
        }
    }
}

/// The address a client is counted under: IPv4 (also when mapped into IPv6, as a dual-stack
/// listener sees it) as is; IPv6 by its /64, since one host usually holds a whole /64 and could
/// otherwise open each connection from a new address.
fn client_address(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish (for at most [`Limits::shutdown_grace`]), closes the remaining
/// connections and returns. When it returns, every clone of the router has been dropped.
///
/// Connections speak HTTP/1.1 only, as with `axum::serve` without axum's `http2` feature.
/// hyper-util's `auto` builder (what `axum::serve` uses) first reads a connection's opening
/// bytes to tell HTTP/2 from HTTP/1, with no timer: a client that connected and sent nothing
/// would never be cut off. Browsers speak HTTP/2 only over TLS, which a proxy in front of
/// rollbook would terminate.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // Called once per connection with the peer's address, it yields the router with that
    // address attached as `ConnectInfo<SocketAddr>`, exactly as `axum::serve` would.
    let make_service =
        TowerToHyperService::new(router.into_make_service_with_connect_info::<SocketAddr>());
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let per_address = PerAddress::new(limits.max_connections_per_address);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);

    loop {
        while let Some(ended) = connections.try_join_next() {
            report_connection_task(ended);
        }
        // A permit before accepting: when all are taken, connections stay in the backlog.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        // Over its address's share: closed at once, and the global permit goes straight back.
        let Some(slot) = per_address.take(remote.ip()) else {
            tracing::debug!(%remote, "too many connections from one address; closed");
            drop(stream);
            continue;
        };
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(error) => {
                tracing::debug!(%remote, %error, "connection gone before it was served");
                continue;
            }
        };
        let service = hyper::service::Service::call(&make_service, remote)
            .await
            .unwrap_or_else(|never| match never {});
        let service = TowerToHyperService::new(service);
        let closer = CloseConnection::default();
        let handlers_closer = closer.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(LocalAddr(local));
            request.extensions_mut().insert(handlers_closer.clone());
            hyper::service::Service::call(&service, request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            let _permit = permit;
            let _slot = slot;
            tokio::select! {
                ended = connection => if let Err(error) = ended {
                    // Header-read timeouts, clients hanging up, malformed requests: routine.
                    tracing::debug!(%remote, %error, "connection ended with an error");
                },
                // Dropping the connection closes the socket and drops the answer being sent.
                () = closer.closed() => {
                    tracing::debug!(%remote, "connection closed by the server");
                }
            }
        });
    }

    drop(listener);
    while let Some(ended) = connections.try_join_next() {
        report_connection_task(ended);
    }
    tracing::info!(
        open = connections.len(),
        "no longer accepting connections; letting in-flight requests finish"
    );
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        graceful.shutdown().await;
        while let Some(ended) = connections.join_next().await {
            report_connection_task(ended);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_seconds = limits.shutdown_grace.as_secs_f64(),
            "connections outlived the shutdown grace period; closing them"
        );
    }
    // Aborts what is left and waits for it, so no connection still holds the router.
    connections.shutdown().await;
}

/// Logs a connection task that panicked (hyper and the handlers' panic layer make this a bug).
fn report_connection_task(ended: Result<(), JoinError>) {
    if let Err(error) = ended {
        if error.is_panic() {
            tracing::error!(%error, "a connection task panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::sync::oneshot;

    use super::*;

    #[test]
    fn one_address_holds_at_most_its_share_and_gets_it_back() {
        let table = PerAddress::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = table.take(a).expect("first");
        let second = table.take(a).expect("second");
        assert!(table.take(a).is_none(), "a third from the same address");
        // Seen through a dual-stack listener, the same client.
        assert!(table.take("::ffff:192.0.2.1".parse().unwrap()).is_none());
        let other = table.take(b).expect("another address has its own share");
        drop(first);
        let again = table.take(a).expect("a place given back is free again");
        drop((second, again, other));
        assert!(
            table.live.lock().unwrap().is_empty(),
            "no empty entries kept"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let table = PerAddress::new(1);
        let _held = table.take("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            table
                .take("2001:db8:1:2:ffff::9".parse().unwrap())
                .is_none()
        );
        assert!(table.take("2001:db8:1:3::1".parse().unwrap()).is_some());
    }

    #[tokio::test]
    async fn handlers_see_the_client_address_and_shutdown_returns() {
        async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
            addr.to_string()
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            header_read_timeout: Duration::from_secs(30),
            max_connections: 4,
            max_connections_per_address: 4,
            shutdown_grace: Duration::from_secs(30),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            Router::new().route("/peer", get(peer)),
            limits,
            async move {
                let _ = stopped.await;
            },
        ));

        let (me, response) = tokio::task::spawn_blocking(move || {
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client
                .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            client.read_to_string(&mut response).unwrap();
            (client.local_addr().unwrap(), response)
        })
        .await
        .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(&format!("\r\n\r\n{me}")), "{response}");

        stop.send(()).unwrap();
        server.await.unwrap();
    }
}
