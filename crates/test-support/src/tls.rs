//! A self-signed certificate for `127.0.0.1` and `localhost`, generated with
//! rcgen when a test starts, and a rustls server config that presents it.
//!
//! The client side trusts it by adding [`TestCert::cert_pem`] as an extra
//! root (`EmailConfig::extra_root_cert_pem`).

use std::sync::Arc;

use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A freshly generated certificate and its key.
pub struct TestCert {
    /// The certificate, PEM: what a client must trust.
    pub cert_pem: Vec<u8>,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for TestCert {
    /// Without the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCert").finish_non_exhaustive()
    }
}

impl TestCert {
    /// Generates a certificate valid for `127.0.0.1` and `localhost`.
    pub fn generate() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("generate test certificate");
        Self {
            cert_pem: certified.cert.pem().into_bytes(),
            cert_der: certified.cert.der().clone(),
            key_der: certified.signing_key.serialize_der(),
        }
    }

    /// A TLS server config presenting this certificate. Uses the `ring`
    /// provider explicitly, so it does not depend on the process default.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![self.cert_der.clone()], key)
        .expect("server certificate");
        Arc::new(config)
    }
}
