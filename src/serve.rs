//! Serving HTTP connections: the accept loop, with the limits that keep slow or numerous
//! clients from pinning the server.
//!
//! `axum::serve` gives hyper no timer, so its header-read timeout never fires and a client that
//! dribbles its headers holds a connection for as long as it likes. This loop serves each
//! connection with hyper's HTTP/1 server, a [`TokioTimer`] and a header-read timeout, holds a
//! semaphore permit per connection (when all are taken it stops accepting, and new clients wait
//! in the listen backlog), hands handlers the client's address as
//! [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), and at shutdown stops accepting,
//! lets in-flight requests finish within a grace period, and closes whatever is left.
//!
//! It knows nothing of routes or of time limits per request: it serves the [`Router`] it is
//! given, which carries those as layers.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
    /// After shutdown starts, how long in-flight requests may take to finish before their
    /// connections are closed regardless.
    pub shutdown_grace: Duration,
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
        let service = hyper::service::Service::call(&make_service, remote)
            .await
            .unwrap_or_else(|never| match never {});
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                // Header-read timeouts, clients hanging up, malformed requests: routine.
                tracing::debug!(%remote, %error, "connection ended with an error");
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
