//! SMTP personas: how a simulated server greets, talks, and misbehaves.
//!
//! A [`Persona`] is either *realistic* (greeting, EHLO, HELP and STARTTLS replies in the style of
//! a real product) or *hostile* (one of the [`Hostile`] behaviours a scanner must survive). The
//! per-connection handler, [`Persona::handle`], is generic over the byte stream so unit tests can
//! drive it over in-memory pipes; TLS (implicit on 465, or after STARTTLS) is done with rustls.

mod catalog;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::date::{DateStyle, SmtpDate};
use crate::tls;

/// Longest command line accepted, CRLF included (RFC 5321 allows 512; we are lenient).
pub const MAX_LINE: usize = 4096;

/// Bytes the endless greeting sends before it gives up (well beyond a 64 KiB reply cap).
pub const ENDLESS_LIMIT: usize = 1 << 20;

/// Highest TLS version a persona's server speaks (it always speaks TLS 1.2 too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 only.
    #[serde(rename = "TLSv1.2")]
    Tls12,
    /// TLS 1.3 (and 1.2).
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    /// The name as written in the ground truth, e.g. `"TLSv1.3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// Which reply identifies a persona's product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FingerprintSource {
    /// The greeting (`smtp.banner`).
    Banner,
    /// The EHLO reply (`smtp.ehlo`).
    Ehlo,
    /// The HELP reply (`smtp.help`).
    Help,
}

/// The status a correct banner grabber reports for a persona (ZGrab2-style names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedStatus {
    /// The conversation completes.
    Success,
    /// Reads time out (silent or dripping server).
    IoTimeout,
    /// The server closes or resets the connection before the facts are gathered.
    ConnectionClosed,
    /// The server does not speak SMTP (garbage, endless reply).
    ProtocolError,
    /// The server refuses the conversation (421/554 greeting).
    ApplicationError,
    /// The TLS handshake fails.
    HandshakeError,
    /// The server speaks only TLS versions a modern client does not.
    TlsVersionUnsupported,
}

impl ExpectedStatus {
    /// The name as written in the ground truth, e.g. `"io-timeout"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedStatus::Success => "success",
            ExpectedStatus::IoTimeout => "io-timeout",
            ExpectedStatus::ConnectionClosed => "connection-closed",
            ExpectedStatus::ProtocolError => "protocol-error",
            ExpectedStatus::ApplicationError => "application-error",
            ExpectedStatus::HandshakeError => "handshake-error",
            ExpectedStatus::TlsVersionUnsupported => "tls-version-unsupported",
        }
    }
}

/// The misbehaviours of hostile personas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hostile {
    /// Accepts the connection and never sends a byte.
    Silent,
    /// Sends `220-` lines one byte per second.
    Drip,
    /// Sends `220-` continuation lines without end.
    Endless,
    /// Sends random bytes instead of a greeting.
    Garbage,
    /// Greets, reads the first command, then resets the connection (SO_LINGER 0).
    ResetAfterGreeting,
    /// Advertises STARTTLS, then answers it with 454.
    StartTls454,
    /// Answers the ClientHello (after STARTTLS, or at once on an implicit-TLS port) with random
    /// non-TLS bytes.
    TlsGarbage,
    /// Greets with 421 and closes.
    Greeting421,
    /// Greets with 554 and answers 503 to everything but QUIT.
    Greeting554,
    /// Answers EHLO with 500; HELO works.
    Ehlo500,
    /// Answers the ClientHello with a TLS 1.0 ServerHello, like an old OpenSSL server.
    Tls10Only,
}

impl Hostile {
    /// The status a correct grabber reports (with STARTTLS enabled and a session deadline below
    /// the testbed's 60-second cap on slow personas).
    pub fn expected_status(self) -> ExpectedStatus {
        match self {
            Hostile::Silent | Hostile::Drip => ExpectedStatus::IoTimeout,
            Hostile::Endless | Hostile::Garbage => ExpectedStatus::ProtocolError,
            Hostile::ResetAfterGreeting => ExpectedStatus::ConnectionClosed,
            Hostile::StartTls454 | Hostile::Ehlo500 => ExpectedStatus::Success,
            Hostile::TlsGarbage => ExpectedStatus::HandshakeError,
            Hostile::Greeting421 | Hostile::Greeting554 => ExpectedStatus::ApplicationError,
            Hostile::Tls10Only => ExpectedStatus::TlsVersionUnsupported,
        }
    }

    /// Whether the misbehaviour replaces the TLS handshake itself.
    pub fn breaks_tls_handshake(self) -> bool {
        matches!(self, Hostile::TlsGarbage | Hostile::Tls10Only)
    }
}

/// The texts of a talking persona (see `catalog` for the template syntax).
#[derive(Debug)]
struct Dialect {
    /// Greeting lines with their codes, without CRLF.
    greeting: &'static [&'static str],
    /// How `{date}` is written.
    date_style: DateStyle,
    /// First line of the EHLO reply (after `250-`).
    hello: &'static str,
    /// EHLO extensions in plaintext (each line after the first, without code).
    ehlo: &'static [&'static str],
    /// EHLO extensions inside TLS (after STARTTLS, or on an implicit-TLS port).
    ehlo_tls: &'static [&'static str],
    /// HELO reply text (after `250 `).
    helo: &'static str,
    /// Reply line to STARTTLS (a 220 when the upgrade goes ahead).
    starttls: &'static str,
    /// HELP reply lines with codes.
    help: &'static [&'static str],
    /// Reply to NOOP and RSET.
    noop: &'static str,
    /// Reply to any other command.
    unknown: &'static str,
    /// Reply to QUIT.
    quit: &'static str,
    /// Sent when the client stays idle too long.
    timeout: &'static str,
    /// Highest TLS version spoken.
    max_tls: TlsVersion,
}

impl Dialect {
    fn offers_starttls(&self) -> bool {
        self.ehlo.contains(&"STARTTLS")
    }
}

/// A simulated SMTP server personality, selected per open (address, port).
#[derive(Debug)]
pub struct Persona {
    name: &'static str,
    software: &'static str,
    family: Option<&'static str>,
    version: Option<&'static str>,
    source: Option<FingerprintSource>,
    dialect: Option<&'static Dialect>,
    hostile: Option<Hostile>,
}

/// Facts about one accepted connection that a persona uses.
#[derive(Clone, Debug)]
pub struct Session {
    /// The server's (local) socket address.
    pub local: SocketAddr,
    /// The client's address.
    pub peer: SocketAddr,
    /// The host name the server announces.
    pub host_name: String,
    /// The frozen date printed in the greeting.
    pub date: SmtpDate,
    /// How long to wait for each client line (or TLS handshake) before giving up.
    pub idle_timeout: Duration,
    /// How long a hostile behaviour (silence, drip, garbage...) lasts at most.
    pub hostile_limit: Duration,
    /// The TLS configuration, for STARTTLS and implicit TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Whether the connection starts with a TLS handshake (port 465).
    pub implicit_tls: bool,
    /// Seed of the random bytes hostile personas send.
    pub noise: u64,
}

/// Every persona, in a fixed order: the realistic ones, then the hostile ones.
pub fn all() -> &'static [Persona] {
    &catalog::PERSONAS
}

/// The realistic personas.
pub fn realistic() -> &'static [Persona] {
    &catalog::PERSONAS[..catalog::REALISTIC]
}

/// The hostile personas.
pub fn hostile() -> &'static [Persona] {
    &catalog::PERSONAS[catalog::REALISTIC..]
}

/// The persona called `name`.
pub fn find(name: &str) -> Option<&'static Persona> {
    catalog::PERSONAS.iter().find(|p| p.name == name)
}

/// The host name a simulated server at `ip` announces, e.g. `mx-198-18-3-7.testbed.example`.
pub fn host_name(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("mx-{a}-{b}-{c}-{d}.testbed.example")
}

/// Values substituted into templates.
struct Vars<'a> {
    host: &'a str,
    date: String,
    client: String,
    client_port: String,
    helo: String,
}

impl<'a> Vars<'a> {
    fn new(host: &'a str) -> Self {
        Vars {
            host,
            date: String::new(),
            client: String::new(),
            client_port: String::new(),
            helo: String::new(),
        }
    }

    fn fill(&self, template: &str) -> String {
        let mut out = template.replace("{host}", self.host);
        for (key, value) in [
            ("{date}", &self.date),
            ("{client}", &self.client),
            ("{client_port}", &self.client_port),
            ("{helo}", &self.helo),
        ] {
            if out.contains(key) {
                out = out.replace(key, value);
            }
        }
        out
    }
}

/// The client's EHLO/HELO argument made safe to echo: first word, printable ASCII, bounded.
fn sanitize_helo(arg: &str) -> String {
    arg.split_ascii_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// Lines joined with CRLF, CRLF-terminated.
fn lines(lines: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

impl Persona {
    /// The persona's name as written in the ground truth.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The software (or misbehaviour) this persona imitates.
    pub fn software(&self) -> &'static str {
        self.software
    }

    /// The misbehaviour, for hostile personas.
    pub fn hostile(&self) -> Option<Hostile> {
        self.hostile
    }

    /// Whether this is a hostile persona.
    pub fn is_hostile(&self) -> bool {
        self.hostile.is_some()
    }

    /// The Recog-style family of the imitated product, if a fingerprint can tell.
    pub fn family(&self) -> Option<&'static str> {
        self.family
    }

    /// The product version the persona's replies carry, if any.
    pub fn version(&self) -> Option<&'static str> {
        self.version
    }

    /// Which reply carries the family.
    pub fn fingerprint_source(&self) -> Option<FingerprintSource> {
        self.source
    }

    /// The status a correct grabber reports.
    pub fn expected_status(&self) -> ExpectedStatus {
        self.hostile
            .map_or(ExpectedStatus::Success, Hostile::expected_status)
    }

    /// Whether the persona can run on `port` (STARTTLS-454 makes no sense on implicit TLS).
    pub fn usable_on(&self, port: u16) -> bool {
        !(port == 465 && self.hostile == Some(Hostile::StartTls454))
    }

    /// Whether the plaintext EHLO reply advertises STARTTLS.
    pub fn offers_starttls(&self) -> bool {
        self.hostile != Some(Hostile::Ehlo500) && self.dialect.is_some_and(Dialect::offers_starttls)
    }

    /// Highest TLS version the persona's server speaks.
    pub fn max_tls(&self) -> TlsVersion {
        self.dialect.map_or(TlsVersion::Tls13, |d| d.max_tls)
    }

    /// The exact greeting, CRLF included, as sent once the connection (and any implicit TLS) is
    /// up; `None` for personas that never send a complete greeting.
    pub fn greeting(&self, host: &str, date: &SmtpDate) -> Option<String> {
        let d = self.dialect?;
        let mut vars = Vars::new(host);
        vars.date = date.format(d.date_style);
        Some(lines(d.greeting.iter().map(|l| vars.fill(l))))
    }

    /// The EHLO extension lines advertised in plaintext or inside TLS, as sent (without codes);
    /// empty when EHLO is not answered positively.
    pub fn ehlo_extensions(&self, inside_tls: bool) -> Vec<String> {
        match self.dialect {
            Some(d) if self.answers_ehlo() => {
                let ext = if inside_tls { d.ehlo_tls } else { d.ehlo };
                ext.iter().map(|s| (*s).to_owned()).collect()
            }
            _ => Vec::new(),
        }
    }

    fn answers_ehlo(&self) -> bool {
        !matches!(
            self.hostile,
            Some(Hostile::Ehlo500 | Hostile::Greeting421 | Hostile::Greeting554)
        )
    }

    /// The exact reply to `EHLO helo` from `client`, CRLF included (`None` if the persona does
    /// not answer EHLO positively).
    pub fn ehlo_reply(
        &self,
        host: &str,
        client: SocketAddr,
        helo: &str,
        inside_tls: bool,
    ) -> Option<String> {
        let d = self.dialect.filter(|_| self.answers_ehlo())?;
        let ext = self.ehlo_extensions(inside_tls);
        let mut vars = Vars::new(host);
        vars.client = client.ip().to_string();
        vars.client_port = client.port().to_string();
        vars.helo = sanitize_helo(helo);
        let body: Vec<String> = std::iter::once(vars.fill(d.hello)).chain(ext).collect();
        let n = body.len();
        Some(lines(body.into_iter().enumerate().map(|(i, l)| {
            let sep = if i + 1 == n { ' ' } else { '-' };
            format!("250{sep}{l}")
        })))
    }

    /// The exact reply to HELP, CRLF included.
    pub fn help_reply(&self, host: &str) -> Option<String> {
        let d = self.dialect?;
        let vars = Vars::new(host);
        Some(lines(d.help.iter().map(|l| vars.fill(l))))
    }

    /// Serves one accepted connection until QUIT, EOF, an error, the idle timeout or the end of
    /// a hostile behaviour.
    pub async fn handle<S>(&self, stream: S, session: &Session) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut io: BoxIo = Box::pin(stream);
        let limit = session.hostile_limit;
        if session.implicit_tls {
            match self.hostile {
                Some(h) if h.breaks_tls_handshake() => {
                    return capped(limit, broken_handshake(h, io, session)).await;
                }
                _ => io = accept_tls(io, session).await?,
            }
        }
        match self.hostile {
            Some(Hostile::Silent) => capped(limit, drain(io)).await,
            Some(Hostile::Drip) => capped(limit, drip(io, session)).await,
            Some(Hostile::Endless) => capped(limit, endless(io, session)).await,
            Some(Hostile::Garbage) => capped(limit, garbage(io, session)).await,
            _ => self.converse(io, session).await,
        }
    }

    async fn converse(&self, io: BoxIo, s: &Session) -> io::Result<()> {
        let d = self
            .dialect
            .ok_or_else(|| io::Error::other("persona without a dialect cannot converse"))?;
        let host = s.host_name.as_str();
        let vars = Vars::new(host);
        let mut in_tls = s.implicit_tls;
        let mut conn = BufReader::new(io);
        let greeting = self.greeting(host, &s.date).unwrap_or_default();
        send(&mut conn, &greeting).await?;
        if self.hostile == Some(Hostile::Greeting421) {
            return conn.get_mut().shutdown().await;
        }
        loop {
            let line = match tokio::time::timeout(s.idle_timeout, read_line(&mut conn)).await {
                Err(_elapsed) => {
                    send(&mut conn, &lines([vars.fill(d.timeout)])).await?;
                    break;
                }
                Ok(Ok(Line::Eof)) => break,
                Ok(Ok(Line::TooLong)) => {
                    send(&mut conn, "500 5.5.0 Line too long\r\n").await?;
                    break;
                }
                Ok(Ok(Line::Text(line))) => line,
                Ok(Err(e)) => return Err(e),
            };
            if self.hostile == Some(Hostile::ResetAfterGreeting) {
                // The server socket has SO_LINGER 0: dropping it sends RST.
                return Ok(());
            }
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v, a.trim()),
                None => (line.trim(), ""),
            };
            let verb = verb.to_ascii_uppercase();
            if self.hostile == Some(Hostile::Greeting554) && verb != "QUIT" {
                send(&mut conn, &lines([vars.fill(d.unknown)])).await?;
                continue;
            }
            let reply = match verb.as_str() {
                "EHLO" | "HELO" if arg.is_empty() => {
                    format!("501 5.5.4 Syntax: {verb} hostname\r\n")
                }
                "EHLO" => self
                    .ehlo_reply(host, s.peer, arg, in_tls)
                    .unwrap_or_else(|| lines([vars.fill(d.unknown)])),
                "HELO" => {
                    let mut v = Vars::new(host);
                    v.client = s.peer.ip().to_string();
                    v.client_port = s.peer.port().to_string();
                    v.helo = sanitize_helo(arg);
                    format!("250 {}\r\n", v.fill(d.helo))
                }
                "STARTTLS" if !in_tls && self.offers_starttls() => match self.hostile {
                    Some(Hostile::StartTls454) => {
                        "454 4.7.0 TLS not available due to local problem\r\n".to_owned()
                    }
                    Some(h) if h.breaks_tls_handshake() => {
                        send(&mut conn, &lines([vars.fill(d.starttls)])).await?;
                        let io = conn.into_inner();
                        return capped(s.hostile_limit, broken_handshake(h, io, s)).await;
                    }
                    _ => {
                        send(&mut conn, &lines([vars.fill(d.starttls)])).await?;
                        // Anything pipelined after STARTTLS is discarded, as RFC 3207 requires.
                        let io = accept_tls(conn.into_inner(), s).await?;
                        conn = BufReader::new(io);
                        in_tls = true;
                        continue;
                    }
                },
                "HELP" => lines(d.help.iter().map(|l| vars.fill(l))),
                "NOOP" | "RSET" => lines([vars.fill(d.noop)]),
                "QUIT" => {
                    send(&mut conn, &lines([vars.fill(d.quit)])).await?;
                    break;
                }
                _ => lines([vars.fill(d.unknown)]),
            };
            send(&mut conn, &reply).await?;
        }
        conn.get_mut().shutdown().await
    }
}

/// A type-erased bidirectional byte stream (plain TCP, TLS over it, or an in-memory pipe).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type BoxIo = Pin<Box<dyn Io>>;

async fn send(conn: &mut BufReader<BoxIo>, text: &str) -> io::Result<()> {
    let w = conn.get_mut();
    w.write_all(text.as_bytes()).await?;
    w.flush().await
}

/// Runs a hostile behaviour for at most `limit`; running out of time is a normal end.
async fn capped(
    limit: Duration,
    behaviour: impl Future<Output = io::Result<()>>,
) -> io::Result<()> {
    tokio::time::timeout(limit, behaviour)
        .await
        .unwrap_or(Ok(()))
}

async fn accept_tls(io: BoxIo, s: &Session) -> io::Result<BoxIo> {
    let config = s
        .tls
        .clone()
        .ok_or_else(|| io::Error::other("this persona needs TLS but has no certificate"))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    match tokio::time::timeout(s.idle_timeout, acceptor.accept(io)).await {
        Ok(Ok(tls)) => Ok(Box::pin(tls)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// Reads and discards everything until EOF (or an error).
async fn drain(mut io: BoxIo) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    while io.read(&mut buf).await? > 0 {}
    Ok(())
}

async fn drip(mut io: BoxIo, s: &Session) -> io::Result<()> {
    let text = format!(
        "220-{} ESMTP service starting, please wait\r\n",
        s.host_name
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for byte in text.bytes().cycle() {
        tick.tick().await;
        io.write_all(&[byte]).await?;
        io.flush().await?;
    }
    Ok(())
}

async fn endless(mut io: BoxIo, s: &Session) -> io::Result<()> {
    let mut sent = 0;
    let mut n = 0u64;
    while sent < ENDLESS_LIMIT {
        let line = format!(
            "220-{} ESMTP welcome, this greeting goes on and on ({n:08})\r\n",
            s.host_name
        );
        io.write_all(line.as_bytes()).await?;
        sent += line.len();
        n += 1;
    }
    io.flush().await?;
    io.shutdown().await
}

async fn garbage(mut io: BoxIo, s: &Session) -> io::Result<()> {
    let mut bytes = tls::noise(s.noise, 512);
    bytes.extend_from_slice(b"\r\n");
    io.write_all(&bytes).await?;
    io.flush().await?;
    drain(io).await
}

/// The TLS-level misbehaviours: read the ClientHello, answer with garbage or a TLS 1.0
/// ServerHello, then wait for the client to give up.
async fn broken_handshake(kind: Hostile, mut io: BoxIo, s: &Session) -> io::Result<()> {
    let Some(_record) = tls::read_record(&mut io).await? else {
        return Ok(());
    };
    let answer = match kind {
        Hostile::Tls10Only => tls::tls10_server_hello(s.noise),
        _ => tls::noise(s.noise, 256),
    };
    io.write_all(&answer).await?;
    io.flush().await?;
    drain(io).await
}

enum Line {
    Text(String),
    TooLong,
    Eof,
}

async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> io::Result<Line> {
    let mut buf = Vec::new();
    let limit = MAX_LINE as u64 + 1;
    (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if buf.last() != Some(&b'\n') {
        return Ok(if buf.len() > MAX_LINE {
            Line::TooLong
        } else {
            Line::Eof
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Text(String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests;
