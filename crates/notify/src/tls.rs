//! One rustls crypto provider for the whole process.
//!
//! lettre and reqwest both use rustls 0.23, built here with the `ring`
//! provider only (no aws-lc-rs). reqwest's `rustls-no-provider` feature
//! panics when a client is built and no process-level provider is installed,
//! and rustls refuses to pick one by itself when another crate in the
//! binary enables a second provider. Installing `ring` once, up front, makes
//! both work regardless of what else the binary links.

/// Installs rustls' `ring` provider as the process default, unless a default
/// is already installed (then that one stays: rustls allows only one).
///
/// Idempotent and cheap; [`crate::EmailSender::new`] and
/// [`crate::SmsSender::new`] call it, and `main` may call it first thing so
/// that every other rustls user in the process agrees.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed a provider in between: that
        // provider is then the default, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn installs_a_default_provider() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
