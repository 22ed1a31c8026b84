//! One session: a tokio task driving the sans-I/O SMTP conversation over TCP and rustls.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Instant as StdInstant, SystemTime};

use rustls::pki_types::ServerName;
use smtpsweep_output::format_system_time;
use smtpsweep_smtp::{Action, Session, Timeout, TlsMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Duration, Instant, sleep, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{GrabConfig, GrabConfigError};
use crate::record::{GrabRecord, SmtpData};
use crate::tls::{Handshake, classify_handshake_error, client_config, default_roots};

/// Size of the read buffer of a session. Replies larger than this are assembled by
/// the reply parser, which grows only as far as the reply cap.
const READ_CHUNK: usize = 2048;

/// Pause before retrying a connect that failed for lack of local resources.
const LOCAL_RETRY: Duration = Duration::from_millis(50);

/// The connection in its current form.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connect errors that say nothing about the target: out of descriptors or local ports.
fn local_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Grab one target: connect, (implicit TLS,) greeting, EHLO/HELO, STARTTLS, HELP, QUIT.
///
/// Every read, write and TLS handshake is bounded by `cfg.read_timeout`, the connect
/// by `cfg.connect_timeout`, and everything together by `cfg.session_timeout`.
/// Implicit TLS is used when the port is in `cfg.smtps_ports`. The record's `scan`
/// field is left empty. Fails only on an invalid configuration.
pub async fn grab(target: SocketAddrV4, cfg: &GrabConfig) -> Result<GrabRecord, GrabConfigError> {
    cfg.validate()?;
    Ok(grab_validated(target, cfg).await)
}

/// [`grab`] for a configuration already validated.
pub(crate) async fn grab_validated(target: SocketAddrV4, cfg: &GrabConfig) -> GrabRecord {
    let started_wall = SystemTime::now();
    let started = StdInstant::now();
    let deadline = Instant::now() + cfg.session_timeout;
    let mut session = match Session::new(cfg.smtp_config(target.port())) {
        Ok(s) => s,
        // validate() checked the same settings.
        Err(e) => unreachable!("validated SMTP config rejected: {e}"),
    };
    let mut handshake: Option<Handshake> = None;
    let mut conn = connect(target, cfg, deadline, &mut session).await;
    let mut buf = vec![0u8; READ_CHUNK];

    'session: loop {
        // Write everything the session wants sent.
        while let Some(bytes) = session.poll_transmit() {
            let Some(c) = conn.as_mut() else { break };
            let (until, kind) = step_deadline(cfg, deadline);
            let res = timeout_at(until, async {
                c.write_all(&bytes).await?;
                c.flush().await
            })
            .await;
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => session.handle_io_error(format!("write failed: {e}")),
                Err(_) => session.handle_timeout(kind),
            }
        }
        // Then act on one action; acting may call into the session again.
        if let Some(action) = session.poll_action() {
            match action {
                Action::StartTls => {
                    let mode = if cfg.smtps_ports.contains(&target.port()) && handshake.is_none() {
                        TlsMode::Implicit
                    } else {
                        TlsMode::Starttls
                    };
                    conn = match conn.take() {
                        Some(Conn::Plain(tcp)) => {
                            let (until, kind) = step_deadline(cfg, deadline);
                            let connector = TlsConnector::from(client_config());
                            let name = ServerName::IpAddress((*target.ip()).into());
                            match timeout_at(until, connector.connect(name, tcp)).await {
                                Ok(Ok(tls)) => {
                                    handshake = Some(Handshake::capture(mode, tls.get_ref().1));
                                    session.tls_established();
                                    Some(Conn::Tls(Box::new(tls)))
                                }
                                Ok(Err(e)) => {
                                    let (kind, detail) = classify_handshake_error(&e);
                                    session.tls_failed(kind, detail);
                                    None
                                }
                                Err(_) => {
                                    session.handle_timeout(kind);
                                    None
                                }
                            }
                        }
                        other => {
                            // TLS inside TLS is never requested; refuse rather than nest.
                            session.tls_failed(
                                smtpsweep_smtp::TlsFailure::Handshake,
                                "TLS requested on a connection that is not plain TCP",
                            );
                            other
                        }
                    };
                }
                Action::Close => {
                    if let Some(mut c) = conn.take() {
                        let (until, _) = step_deadline(cfg, deadline);
                        let _ = timeout_at(until, c.shutdown()).await;
                    }
                }
                Action::Done => break 'session,
            }
            continue;
        }
        // Nothing to write or do: wait for the server.
        let Some(c) = conn.as_mut() else {
            // The session asked for nothing and there is no connection; end it.
            session.handle_io_error("connection lost");
            continue;
        };
        let (until, kind) = step_deadline(cfg, deadline);
        match timeout_at(until, c.read(&mut buf)).await {
            Ok(Ok(0)) => session.handle_eof(),
            Ok(Ok(n)) => session.handle_input(&buf[..n]),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => session.handle_eof(),
            Ok(Err(e)) => session.handle_io_error(format!("read failed: {e}")),
            Err(_) => session.handle_timeout(kind),
        }
    }
    drop(conn);

    let result = session.result();
    let smtp = SmtpData::from(result);
    let roots = cfg.trust_roots.clone().unwrap_or_else(default_roots);
    let tls = handshake.map(|h| {
        let first = result.banner.as_ref().map(|b| b.first_line());
        h.into_data(first, cfg.store_certs, &roots)
    });
    GrabRecord {
        ip: *target.ip(),
        port: target.port(),
        scan: None,
        // The session always ends with a status once Done was polled.
        status: result
            .status
            .unwrap_or(smtpsweep_smtp::Status::ConnectionClosed),
        error: result.error.clone(),
        timestamp: format_system_time(started_wall),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        smtp,
        tls,
        fingerprint: None,
        cves: Vec::new(),
    }
}

/// When the next step must be done by, and which timer that is.
fn step_deadline(cfg: &GrabConfig, deadline: Instant) -> (Instant, Timeout) {
    let read = Instant::now() + cfg.read_timeout;
    if read < deadline {
        (read, Timeout::Read)
    } else {
        (deadline, Timeout::Deadline)
    }
}

/// Connect under the connect timeout (and the session deadline). Failures are
/// reported to the session; local resource shortages are retried until the timeout.
async fn connect(
    target: SocketAddrV4,
    cfg: &GrabConfig,
    deadline: Instant,
    session: &mut Session,
) -> Option<Conn> {
    let until = (Instant::now() + cfg.connect_timeout).min(deadline);
    loop {
        match timeout_at(until, TcpStream::connect(SocketAddr::V4(target))).await {
            Ok(Ok(tcp)) => {
                let _ = tcp.set_nodelay(true);
                session.connected();
                return Some(Conn::Plain(tcp));
            }
            Ok(Err(e)) if local_resource_error(&e) && Instant::now() + LOCAL_RETRY < until => {
                sleep(LOCAL_RETRY).await;
            }
            Ok(Err(e)) => {
                session.connect_failed(e.to_string());
                return None;
            }
            Err(_) => {
                session.handle_timeout(Timeout::Connect);
                return None;
            }
        }
    }
}
