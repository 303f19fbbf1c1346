//! The HTTP client of webhook deliveries: HTTP/1.1 over TCP, or over TLS for https targets.
//!
//! TLS is rustls with the `ring` provider, handed to the TLS configuration explicitly (no
//! process-wide default to forget). Receivers' certificates are checked against the platform's
//! trusted roots (on Linux, the `ca-certificates` bundle; `SSL_CERT_FILE` / `SSL_CERT_DIR` are
//! honoured) plus the operator's own CA file (`--webhook-ca-file`, for receivers behind a
//! private CA); a certificate none of them vouches for is refused, never accepted silently.
//! Host names go through the SSRF guard ([`super::target::GuardedResolver`]) on every new
//! connection. Redirects are never followed. One time limit covers a whole request: connecting,
//! the TLS handshake, sending, and reading the answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::http::StatusCode;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::target::GuardedResolver;
use super::{MAX_RESPONSE_BYTES, WebhookOptions};

/// Why the webhook client cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The operator's CA file cannot be read or holds no usable certificate.
    #[error("--webhook-ca-file {}: {detail}", path.display())]
    CaFile {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// rustls refused the configuration (a certificate it cannot use as a root, among others).
    #[error("webhook TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// A receiver's answer: its status, and the start of its body in words (for the error message
/// of an answer other than 2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// Up to [`MAX_RESPONSE_BYTES`] of the body, without control characters, at most 200
    /// characters: `": …"`, or empty.
    pub excerpt: String,
}

/// Sends webhook requests (cheap to clone: connections are pooled and shared).
#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    timeout: Duration,
}

/// Reads the PEM certificates of `path` (the operator's extra trusted roots).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let bad = |detail: String| ClientError::CaFile {
        path: path.to_owned(),
        detail,
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certificates.is_empty() {
        return Err(bad(
            "no certificate in it (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")".to_owned(),
        ));
    }
    Ok(certificates)
}

/// The TLS configuration of webhook deliveries: rustls with the `ring` provider, the
/// platform's roots plus those of `ca_file`, HTTP/1.1.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ClientError> {
    #[allow(
        deprecated,
        reason = "ring has no post-quantum key exchange (aws-lc-rs has, but is a slow C build); \
                  X25519 and the NIST curves are what receivers negotiate today"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = match ca_file {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    let platform =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone());
    let verifier: Arc<dyn ServerCertVerifier> = match (platform, ca_file) {
        (Ok(verifier), _) => Arc::new(verifier),
        // The verifier refuses a root it cannot parse: say which file it came from.
        (Err(e), Some(path)) => {
            return Err(ClientError::CaFile {
                path: path.to_owned(),
                detail: e.to_string(),
            });
        }
        // No trusted root at all (no ca-certificates, no CA file): the server still starts,
        // and https deliveries fail saying why.
        (Err(e), None) => {
            tracing::warn!(
                error = %e,
                "no trusted certificate authorities: https webhooks will fail until \
                 ca-certificates is installed or --webhook-ca-file is given"
            );
            Arc::new(NoTrustedRoots(provider.clone()))
        }
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        // Not dangerous: the platform's verifier, which checks the chain and the name.
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The verifier when the system has no trusted roots and no CA file was given: it refuses
/// every certificate, saying why.
#[derive(Debug)]
struct NoTrustedRoots(Arc<CryptoProvider>);

impl ServerCertVerifier for NoTrustedRoots {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(
            "no trusted certificate authorities on this server (install ca-certificates, or \
             give --webhook-ca-file)"
                .to_owned(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl WebhookClient {
    /// A client with `options`' time limit, SSRF guard and extra CA file (read now: call it
    /// off the async threads).
    pub fn new(options: &WebhookOptions) -> Result<Self, ClientError> {
        let mut tcp = HttpConnector::new_with_resolver(GuardedResolver {
            allow_private: options.allow_private,
        });
        // The https connector below checks the scheme.
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(options.timeout));
        tcp.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(options.ca_file.as_deref())?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1)
            .build(connector);
        Ok(Self {
            http,
            timeout: options.timeout,
        })
    }

    /// Posts `body` (JSON) to `url` with `headers`; the receiver's answer, or what went wrong in
    /// words (with every cause: the guard's refusal, the certificate's fault).
    pub async fn post(
        &self,
        url: &reqwest::Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let mut request = hyper::Request::post(url.as_str())
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("rollbook-webhooks/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status();
            let excerpt = if status.is_success() {
                String::new()
            } else {
                read_bounded(response.into_body()).await
            };
            Ok(Answer { status, excerpt })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()))
    }
}

/// Up to [`MAX_RESPONSE_BYTES`] of an error answer, as a short excerpt.
async fn read_bounded(mut body: hyper::body::Incoming) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_RESPONSE_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            _ => break,
        }
    }
    bytes.truncate(MAX_RESPONSE_BYTES);
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}

/// A client error in words, with its causes (the resolver's refusal, the certificate's fault).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let words = cause.to_string();
        // An I/O error wrapping another repeats its words as its own.
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_empty_or_not_pem_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [&missing, &empty, &junk] {
            let error = tls_config(Some(path)).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("--webhook-ca-file {}: ", path.display())),
                "{error}"
            );
        }
    }
}
