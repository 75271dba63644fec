//! The notifier's one SMTP connection, kept open between mails.
//!
//! lettre speaks SMTP (greeting, EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA, dot
//! stuffing); this module only opens the TCP connection itself, because
//! lettre's own transport leaves Nagle's algorithm on and writes a mail's
//! body and its closing `.` line separately: the second write then waits
//! for the server's delayed acknowledgement of the first, on every mail.
//! Here the socket has `TCP_NODELAY`, and implicit TLS (`smtps://`) is
//! tokio-rustls over that socket with the webpki roots lettre trusts too.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// `smtp://`: plain text.
    None,
    /// `smtp+starttls://`: plain, then STARTTLS, which must succeed.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// Where and how to reach the SMTP server (`--smtp-url`).
#[derive(Clone)]
pub(super) struct SmtpServer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for SmtpServer {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("authenticated", &self.credentials.is_some())
            .finish()
    }
}

impl SmtpServer {
    /// Reads `smtp://`, `smtp+starttls://` or `smtps://`, with an optional
    /// `user:password@` (percent-encoded) and port (25, 587, 465 by default).
    pub(super) fn parse(text: &str) -> Result<SmtpServer, String> {
        let url = url::Url::parse(text).map_err(|error| format!("{text:?}: {error}"))?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::None, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Implicit, 465),
            _ => {
                return Err(format!(
                    "{text:?} must start with smtp://, smtp+starttls:// or smtps://"
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| format!("{text:?} names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| format!("{text:?}: the user or password is not UTF-8"))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None if !url.username().is_empty() => {
                return Err(format!("{text:?}: a user needs a password"))
            }
            None => None,
        };
        if security != Security::None {
            TlsParameters::new(host.clone()).map_err(|error| format!("{text:?}: {error}"))?;
        }
        Ok(SmtpServer {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
        })
    }
}

/// Why a mail did not go.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendFailure {
    /// The server answered, or the dialogue broke; lettre says which.
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The TCP connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// TLS could not be set up on the connection.
    #[error("TLS: {0}")]
    Tls(String),
    /// The exchange took longer than the timeout (a stalled server).
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

impl SendFailure {
    /// True when trying again cannot help: a 5xx, or a mail this server can
    /// never take (a non-ASCII address to a server without SMTPUTF8).
    pub(super) fn is_final(&self) -> bool {
        matches!(self, SendFailure::Smtp(error) if error.is_permanent() || error.is_client())
    }
}

/// One connection, opened when needed and dropped after any failure.
pub(super) struct SmtpClient {
    server: SmtpServer,
    hello: ClientId,
    timeout: Duration,
    connection: Option<AsyncSmtpConnection>,
}

impl SmtpClient {
    pub(super) fn new(server: SmtpServer, timeout: Duration) -> SmtpClient {
        SmtpClient {
            server,
            hello: ClientId::default(),
            timeout,
            connection: None,
        }
    }

    /// Sends one mail. A kept connection the server has closed meanwhile
    /// is replaced once before the failure counts.
    pub(super) async fn send(
        &mut self,
        envelope: &Envelope,
        bytes: &[u8],
    ) -> Result<(), SendFailure> {
        let reused = self.connection.is_some();
        match self.try_send(envelope, bytes).await {
            Err(failure) if reused && !failure.is_final() => {
                tracing::debug!(%failure, "the kept SMTP connection failed; reconnecting once");
                self.try_send(envelope, bytes).await
            }
            outcome => outcome,
        }
    }

    async fn try_send(&mut self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendFailure> {
        let timeout = self.timeout;
        let outcome = tokio::time::timeout(timeout, async {
            if self.connection.as_ref().is_none_or(|c| c.has_broken()) {
                self.connection = Some(self.connect().await?);
            }
            let connection = self.connection.as_mut().expect("connected above");
            connection.send(envelope, bytes).await?;
            Ok(())
        })
        .await
        .unwrap_or(Err(SendFailure::TimedOut(timeout)));
        if outcome.is_err() {
            // lettre aborts the dialogue on a refusal; whatever happened,
            // the next mail starts on a fresh connection.
            self.connection = None;
        }
        outcome
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let server = &self.server;
        let tcp = TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(SendFailure::Connect)?;
        tcp.set_nodelay(true).map_err(SendFailure::Connect)?;
        let stream: Box<dyn AsyncTokioStream> = match server.security {
            Security::Implicit => Box::new(ImplicitTls::wrap(tcp, &server.host).await?),
            Security::None | Security::StartTls => Box::new(tcp),
        };
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        if server.security == Security::StartTls {
            let parameters = TlsParameters::new(server.host.clone())?;
            connection.starttls(parameters, &self.hello).await?;
        }
        if let Some(credentials) = &server.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }
}

/// A TLS stream lettre can speak over (it needs the peer's address too).
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl ImplicitTls {
    async fn wrap(tcp: TcpStream, host: &str) -> Result<ImplicitTls, SendFailure> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| SendFailure::Tls(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|error| SendFailure::Tls(error.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|error| SendFailure::Tls(error.to_string()))?;
        Ok(ImplicitTls(stream))
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gives_host_port_security_and_credentials() {
        let plain = SmtpServer::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.security),
            ("127.0.0.1", 2525, Security::None)
        );
        assert!(plain.credentials.is_none());
        let submission = SmtpServer::parse("smtp+starttls://user:s%40cret@mail.example").unwrap();
        assert_eq!(
            (submission.port, submission.security),
            (587, Security::StartTls)
        );
        assert!(submission.credentials.is_some());
        assert!(!format!("{submission:?}").contains("cret"));
        let implicit = SmtpServer::parse("smtps://mail.example").unwrap();
        assert_eq!(
            (implicit.port, implicit.security),
            (465, Security::Implicit)
        );
        let v6 = SmtpServer::parse("smtp://[::1]:2525").unwrap();
        assert_eq!(v6.host, "::1");
        for bad in [
            "http://mail.example",
            "smtp://",
            "smtp://user@mail.example",
            "mail.example:25",
        ] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad} was taken");
        }
    }
}
