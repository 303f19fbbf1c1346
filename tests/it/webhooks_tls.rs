//! Webhooks over https (issue 17): a receiver on loopback behind a private certificate
//! authority, trusted through `--webhook-ca-file` (`AppConfig::webhooks.ca_file`), gets signed
//! deliveries it verifies; a receiver whose certificate nobody vouches for gets nothing, and the
//! subscription's last error names the certificate (no silent acceptance of unknown
//! certificates). A CA file that is not one stops the start, naming the file.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rollbook::auth::Role;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::{TestApp, head};

/// The longest any test waits for something to arrive.
const PATIENCE: Duration = Duration::from_secs(20);

/// A certificate for `127.0.0.1` and `localhost` and its key.
struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A private certificate authority and the PEM of its certificate.
fn private_ca() -> (CertifiedIssuer<'static, KeyPair>, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "rollbook test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let pem = ca.pem();
    (ca, pem)
}

/// A server certificate for loopback issued by `ca`.
fn issued_by(ca: &CertifiedIssuer<'static, KeyPair>) -> ServerCert {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// A self-signed certificate for loopback that no authority vouches for.
fn self_signed() -> ServerCert {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    ServerCert {
        chain: vec![made.cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()).into(),
    }
}

/// What the receiver got in one request.
#[derive(Debug)]
struct Received {
    id: String,
    position: u64,
    signature_ok: bool,
}

struct ReceiverState {
    secret: Mutex<Vec<u8>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// An https receiver on loopback; it reports each failed TLS handshake on `handshake_failures`.
struct TlsReceiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    handshake_failures: mpsc::UnboundedReceiver<String>,
    _task: tokio::task::JoinHandle<()>,
}

impl TlsReceiver {
    async fn start(cert: ServerCert) -> (Self, mpsc::UnboundedReceiver<Received>) {
        #[allow(
            deprecated,
            reason = "the ring provider, as the server under test uses"
        )]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen, seen_rx) = mpsc::unbounded_channel();
        let (failed, handshake_failures) = mpsc::unbounded_channel();
        let state = Arc::new(ReceiverState {
            secret: Mutex::new(Vec::new()),
            seen,
        });
        let router = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, router, failed) = (acceptor.clone(), router.clone(), failed.clone());
                tokio::spawn(async move {
                    let stream = match acceptor.accept(stream).await {
                        Ok(stream) => stream,
                        Err(e) => {
                            let _ = failed.send(e.to_string());
                            return;
                        }
                    };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let receiver = Self {
            addr,
            state,
            handshake_failures,
            _task: task,
        };
        (receiver, seen_rx)
    }

    fn url(&self) -> String {
        format!("https://{}/hook", self.addr)
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let secret = state.secret.lock().unwrap().clone();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let signature_ok = header("webhook-signature")
        .split(' ')
        .any(|candidate| candidate == expected);
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    let _ = state.seen.send(Received {
        id,
        position: event["position"].as_u64().unwrap_or_default(),
        signature_ok,
    });
    StatusCode::NO_CONTENT
}

/// Creates a subscription as admin and hands its secret to the receiver; its id.
async fn subscribe(app: &TestApp, receiver: &TlsReceiver) -> String {
    let created: Value = app
        .api_client(Role::Admin)
        .post(app.url("/api/v1/admin/webhooks"))
        .json(&json!({"name": "crm", "url": receiver.url()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().expect("created");
    *receiver.state.secret.lock().unwrap() = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// The subscription as listed, once `done` holds (polled within [`PATIENCE`]).
async fn until(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let list: Value = app
            .api_client(Role::Admin)
            .get(app.url("/api/v1/admin/webhooks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let item = list["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .expect("listed")
            .clone();
        if done(&item) {
            return item;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscription never got there: {item}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_https_receiver_behind_a_trusted_private_ca_gets_signed_deliveries_and_an_unknown_certificate_gets_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_pem) = private_ca();
    let ca_file = dir.path().join("private-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let app = TestApp::spawn_with(|config| config.webhooks.ca_file = Some(ca_file.clone())).await;
    let cohort = app.create_cohort("Rust 101", 10).await;

    let (trusted, mut seen) = TlsReceiver::start(issued_by(&ca)).await;
    let trusted_id = subscribe(&app, &trusted).await;
    let (mut stranger, mut stranger_seen) = TlsReceiver::start(self_signed()).await;
    let stranger_id = subscribe(&app, &stranger).await;
    let start = head(&app).await;

    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "bo@example.org").await;
    for position in [start + 1, start + 2] {
        let got = tokio::time::timeout(PATIENCE, seen.recv())
            .await
            .expect("the trusted receiver got a delivery over https in time")
            .unwrap();
        assert_eq!(got.position, position);
        assert_eq!(got.id, format!("evt_{position}"));
        assert!(got.signature_ok, "the signature verifies");
    }
    let delivered = until(&app, &trusted_id, |w| w["position"] == start + 2).await;
    assert!(delivered["last_error"].is_null(), "{delivered}");

    // The stranger's certificate is refused: the handshake fails on its side, nothing is
    // delivered, the position stays, and the error says why.
    let failure = tokio::time::timeout(PATIENCE, stranger.handshake_failures.recv())
        .await
        .expect("the client tried the untrusted receiver")
        .unwrap();
    assert!(failure.contains("UnknownCA"), "{failure}");
    let refused = until(&app, &stranger_id, |w| !w["last_error"].is_null()).await;
    let error = refused["last_error"].as_str().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(refused["position"], start, "{refused}");
    assert!(stranger_seen.try_recv().is_err(), "no request got through");
}

#[tokio::test]
async fn a_ca_file_that_is_not_one_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let db = dir.path().join("rollbook.redb");
    let mut config = rollbook::app::AppConfig::new(db, "127.0.0.1:0".parse().unwrap());
    config.webhooks.ca_file = Some(ca_file.clone());
    let Err(error) = rollbook::app::Application::build(&config).await else {
        panic!("the server started with a CA file that is not one");
    };
    let error = format!("{error:#}");
    assert!(
        error.contains(&format!("--webhook-ca-file {}", ca_file.display())),
        "{error}"
    );
}

#[test]
fn the_real_binary_refuses_a_bad_ca_file_at_startup_naming_it() {
    use crate::helpers::process::{Launch, ServerProcess};
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let db = dir.path().join("rollbook.redb");
    let Launch::Exited { status, log } = ServerProcess::launch_with_args(
        &db,
        &[],
        &["--webhook-ca-file", ca_file.to_str().unwrap()],
    ) else {
        panic!("rollbook served with a CA file that is not one");
    };
    assert!(!status.success());
    assert!(
        log.contains(&format!("--webhook-ca-file {}", ca_file.display())),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        !db.exists(),
        "nothing was opened before the flag was checked"
    );
}

#[test]
fn a_system_without_trusted_roots_still_serves_and_says_https_webhooks_will_fail() {
    use crate::helpers::process::{Launch, ServerProcess};
    let dir = tempfile::tempdir().unwrap();
    // rustls-native-certs reads only these when they are set: an empty store.
    let (empty_file, empty_dir) = (dir.path().join("none.pem"), dir.path().join("certs"));
    std::fs::write(&empty_file, "").unwrap();
    std::fs::create_dir(&empty_dir).unwrap();
    let file_var = format!("SSL_CERT_FILE={}", empty_file.display());
    let dir_var = format!("SSL_CERT_DIR={}", empty_dir.display());
    let db = dir.path().join("rollbook.redb");
    let Launch::Serving(server) = ServerProcess::launch_with(&db, &["env", &file_var, &dir_var])
    else {
        panic!("rollbook did not serve without trusted roots");
    };
    assert!(
        server
            .log
            .iter()
            .any(|line| line.contains("https webhooks will fail")),
        "{:#?}",
        server.log
    );
}
