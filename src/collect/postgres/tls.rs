//! TLS as libpq's `sslmode` asks for it: `disable`; `allow`, `prefer` and
//! `require` encrypt without checking the certificate (as libpq does without
//! a root certificate); `verify-ca` and `verify-full` check it against the
//! platform's trusted roots and the host name.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::BuilderVerifierExt as _;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it (libpq's default); `allow` reads as this.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS with a certificate checked against the trusted roots and the host
    /// name (`verify-ca` reads as this, the stricter of the two).
    VerifyFull,
}

impl SslMode {
    /// Reads a `sslmode` value.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" | "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// The mode the `postgres` crate negotiates with.
    pub fn negotiation(self) -> postgres::config::SslMode {
        match self {
            Self::Disable => postgres::config::SslMode::Disable,
            Self::Prefer => postgres::config::SslMode::Prefer,
            Self::Require | Self::VerifyFull => postgres::config::SslMode::Require,
        }
    }

    /// The TLS connector for this mode; `roots`, a PEM file of CA
    /// certificates (`sslrootcert`), replaces the platform's trusted roots
    /// for `verify-ca` and `verify-full`.
    pub fn connector(self, roots: Option<&std::path::Path>) -> Result<MakeRustlsConnect, String> {
        match (self, roots) {
            (Self::VerifyFull, Some(roots)) => with_roots(roots).map(MakeRustlsConnect::new),
            _ => client_config(self == Self::VerifyFull).map(MakeRustlsConnect::new),
        }
    }
}

/// The most bytes of an `sslrootcert` file read.
const MAX_ROOTS_BYTES: u64 = 4 * 1024 * 1024;

/// A TLS client configuration that checks the server's certificate against
/// the CA certificates of the PEM file `path` (a private CA: RDS, Cloud SQL)
/// and the host name.
fn with_roots(path: &std::path::Path) -> Result<ClientConfig, String> {
    use rustls::pki_types::pem::PemObject as _;
    let shown = crate::escape::path_name(path);
    let metadata = std::fs::metadata(path)
        .map_err(|e| format!("sslrootcert {shown}: {}", crate::source::io_reason(&e)))?;
    if !metadata.is_file() || metadata.len() > MAX_ROOTS_BYTES {
        return Err(format!(
            "sslrootcert {shown}: not a regular file of at most {} MiB",
            MAX_ROOTS_BYTES >> 20
        ));
    }
    let pem = std::fs::read(path)
        .map_err(|e| format!("sslrootcert {shown}: {}", crate::source::io_reason(&e)))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("sslrootcert {shown}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {shown}: holds no PEM certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A TLS client configuration that checks the server's certificate against
/// the platform's trusted roots and the host name (`verify`), or encrypts
/// without checking it (the handshake's signatures are still checked).
pub fn client_config(verify: bool) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(if verify {
        builder
            .with_platform_verifier()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth()
    })
}

/// Encryption without authentication of the server, as libpq's `prefer`
/// and `require`: the handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
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
        verify_tls13_signature(
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

/// A TLS connector whose stream follows the server's messages inside the
/// encryption, as the relay follows them outside it: a request for the
/// password in the clear or as an MD5 hash is refused before it is
/// answered (unless `allow_password`), and no message is larger than the
/// relay allows.
pub struct Guarded {
    inner: MakeRustlsConnect,
    allow_password: bool,
}

impl Guarded {
    /// `inner`, guarded.
    pub fn new(inner: MakeRustlsConnect, allow_password: bool) -> Self {
        Self {
            inner,
            allow_password,
        }
    }
}

type Socket = postgres::Socket;
type Inner = <MakeRustlsConnect as postgres::tls::MakeTlsConnect<Socket>>::TlsConnect;
type InnerStream = <MakeRustlsConnect as postgres::tls::MakeTlsConnect<Socket>>::Stream;

impl postgres::tls::MakeTlsConnect<Socket> for Guarded {
    type Stream = GuardedStream;
    type TlsConnect = GuardedConnect;
    type Error = <MakeRustlsConnect as postgres::tls::MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<GuardedConnect, Self::Error> {
        Ok(GuardedConnect {
            inner: postgres::tls::MakeTlsConnect::<Socket>::make_tls_connect(
                &mut self.inner,
                domain,
            )?,
            allow_password: self.allow_password,
        })
    }
}

/// [`Guarded`] for one connection.
pub struct GuardedConnect {
    inner: Inner,
    allow_password: bool,
}

impl postgres::tls::TlsConnect<Socket> for GuardedConnect {
    type Stream = GuardedStream;
    type Error = <Inner as postgres::tls::TlsConnect<Socket>>::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<GuardedStream, Self::Error>> + Send>,
    >;

    fn connect(self, stream: Socket) -> Self::Future {
        let allow_password = self.allow_password;
        let handshake = postgres::tls::TlsConnect::<Socket>::connect(self.inner, stream);
        Box::pin(async move {
            handshake.await.map(|inner| GuardedStream {
                inner,
                framing: super::relay::Framing::header(),
                allow_password,
            })
        })
    }
}

/// A TLS stream whose decrypted messages are followed (see [`Guarded`]).
pub struct GuardedStream {
    inner: InnerStream,
    framing: super::relay::Framing,
    allow_password: bool,
}

/// How a refusal inside the encryption starts, so the connection error can
/// be told from others.
pub const PASSWORD_REFUSED: &str = "the server asks for the password";

impl tokio::io::AsyncRead for GuardedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            std::task::Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                match this.framing.inspect(read, this.allow_password) {
                    Ok(()) => std::task::Poll::Ready(Ok(())),
                    Err(super::relay::Refusal::Password(code)) => {
                        std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::PermissionDenied,
                            format!(
                                "{PASSWORD_REFUSED} {} inside TLS whose certificate is not verified; refused, and the password was not sent (use sslmode=verify-full, or allow it with require_auth={} in the URL)",
                                if code == 3 {
                                    "in the clear"
                                } else {
                                    "as an MD5 hash"
                                },
                                if code == 3 { "password" } else { "md5" }
                            ),
                        )))
                    }
                    Err(_) => std::task::Poll::Ready(Err(std::io::Error::other(
                        "the server announced a message larger than scalectl reads; refused",
                    ))),
                }
            }
            other => other,
        }
    }
}

impl tokio::io::AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl postgres::tls::TlsStream for GuardedStream {
    fn channel_binding(&self) -> postgres::tls::ChannelBinding {
        self.inner.channel_binding()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_libpq_mode_is_read() {
        assert_eq!(SslMode::parse("allow"), Some(SslMode::Prefer));
        assert_eq!(SslMode::parse("verify-ca"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("disable"), Some(SslMode::Disable));
        assert_eq!(SslMode::parse("Require"), None);
        for mode in [SslMode::Prefer, SslMode::Require, SslMode::VerifyFull] {
            assert!(mode.connector(None).is_ok());
        }
    }
}
