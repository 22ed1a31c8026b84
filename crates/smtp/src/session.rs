//! The banner-grab conversation as a sans-I/O state machine.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ehlo::Extensions;
use crate::reply::{DEFAULT_MAX_REPLY, Reply, ReplyError, ReplyParser};
use crate::status::Status;

/// EHLO/HELO argument used when none is configured. `.invalid` is reserved (RFC 2606),
/// so it names the client honestly without claiming anybody's domain.
pub const DEFAULT_EHLO_NAME: &str = "smtpsweep.invalid";

/// Longest EHLO name accepted (a domain is at most 255 octets).
pub const MAX_EHLO_NAME: usize = 255;

/// What the conversation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Argument of `EHLO`/`HELO`: a domain or an address literal such as `[192.0.2.1]`.
    pub ehlo_name: String,
    /// Upgrade with `STARTTLS` when the server advertises it.
    pub starttls: bool,
    /// Send `HELP` before `QUIT` and record the reply.
    pub send_help: bool,
    /// The connection starts with a TLS handshake (SMTPS, port 465).
    pub implicit_tls: bool,
    /// Cap on each reply in bytes.
    pub max_reply: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ehlo_name: DEFAULT_EHLO_NAME.to_string(),
            starttls: true,
            send_help: false,
            implicit_tls: false,
            max_reply: DEFAULT_MAX_REPLY,
        }
    }
}

/// An invalid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The EHLO name is empty.
    #[error("EHLO name is empty")]
    EmptyEhloName,
    /// The EHLO name is longer than [`MAX_EHLO_NAME`].
    #[error("EHLO name is {0} bytes long, more than {MAX_EHLO_NAME}")]
    EhloNameTooLong(usize),
    /// The EHLO name holds a byte outside printable ASCII (space and CR/LF included).
    #[error("EHLO name {0:?} contains a space, control or non-ASCII character")]
    BadEhloName(String),
    /// `max_reply` is zero.
    #[error("maximum reply size must be at least 1 byte")]
    ZeroMaxReply,
}

impl Config {
    /// Check the configuration; the EHLO name must not be able to smuggle in a command.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = &self.ehlo_name;
        if name.is_empty() {
            return Err(ConfigError::EmptyEhloName);
        }
        if name.len() > MAX_EHLO_NAME {
            return Err(ConfigError::EhloNameTooLong(name.len()));
        }
        if !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::BadEhloName(name.clone()));
        }
        if self.max_reply == 0 {
            return Err(ConfigError::ZeroMaxReply);
        }
        Ok(())
    }
}

/// Something the driver must do, obtained from [`Session::poll_action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run a TLS client handshake on the connection now, then call
    /// [`Session::tls_established`] or [`Session::tls_failed`]. From then on pass
    /// decrypted bytes to `handle_input` and encrypt what `poll_transmit` returns.
    StartTls,
    /// Write any transmits already taken, then close the connection.
    Close,
    /// The session is over; [`Session::result`] is final. Always the last action.
    Done,
}

/// Which timer fired in the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// The TCP connect did not complete in time.
    Connect,
    /// A read (or the TLS handshake) did not complete in time.
    Read,
    /// The deadline for the whole session passed.
    Deadline,
}

/// How a TLS handshake failed, as classified by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// Any handshake failure other than version negotiation (bad record, alert, garbage).
    Handshake,
    /// The server offers only protocol versions the client does not speak (e.g. TLS 1.0/1.1 only).
    VersionUnsupported,
}

/// How TLS came to protect the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// Upgraded with the STARTTLS command.
    Starttls,
}

/// Where the conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the driver to report the TCP connection.
    Connecting,
    /// Waiting for the implicit-TLS handshake.
    ImplicitTls,
    /// Waiting for the greeting.
    Greeting,
    /// Waiting for the EHLO reply.
    Ehlo,
    /// Waiting for the HELO reply (EHLO got 5yz).
    Helo,
    /// Waiting for the STARTTLS reply.
    StartTls,
    /// Waiting for the TLS handshake after `220` to STARTTLS.
    StartTlsHandshake,
    /// Waiting for the EHLO reply inside TLS.
    EhloTls,
    /// Waiting for the HELO reply inside TLS.
    HeloTls,
    /// Waiting for the HELP reply.
    Help,
    /// Waiting for the QUIT reply.
    Quit,
    /// Finished.
    Done,
}

impl Phase {
    fn waiting_for(self) -> &'static str {
        match self {
            Phase::Connecting => "the connection",
            Phase::ImplicitTls | Phase::StartTlsHandshake => "the TLS handshake",
            Phase::Greeting => "the greeting",
            Phase::Ehlo => "the EHLO reply",
            Phase::Helo => "the HELO reply",
            Phase::StartTls => "the STARTTLS reply",
            Phase::EhloTls => "the EHLO reply inside TLS",
            Phase::HeloTls => "the HELO reply inside TLS",
            Phase::Help => "the HELP reply",
            Phase::Quit => "the QUIT reply",
            Phase::Done => "nothing",
        }
    }

    /// True while a reply from the server is awaited.
    pub fn awaits_reply(self) -> bool {
        matches!(
            self,
            Phase::Greeting
                | Phase::Ehlo
                | Phase::Helo
                | Phase::StartTls
                | Phase::EhloTls
                | Phase::HeloTls
                | Phase::Help
                | Phase::Quit
        )
    }

    /// True once everything the scan wants is known (only HELP/QUIT remain).
    fn gathered(self) -> bool {
        matches!(self, Phase::Help | Phase::Quit)
    }

    /// True after a STARTTLS upgrade, before the facts are gathered.
    fn inside_starttls(self) -> bool {
        matches!(self, Phase::EhloTls | Phase::HeloTls)
    }
}

/// Everything recorded about one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResult {
    /// Final status; `None` only while the session is still running.
    pub status: Option<Status>,
    /// One line saying what went wrong, for every status except `success`.
    pub error: Option<String>,
    /// The greeting.
    pub banner: Option<Reply>,
    /// The reply to the first EHLO.
    pub ehlo: Option<Reply>,
    /// Extensions parsed from `ehlo` when it was positive.
    pub extensions: Option<Extensions>,
    /// The reply to HELO, sent when EHLO got a 5yz reply.
    pub helo: Option<Reply>,
    /// The reply to STARTTLS, whatever its code.
    pub starttls: Option<Reply>,
    /// How TLS was established, if it was.
    pub tls: Option<TlsMode>,
    /// The reply to EHLO sent inside TLS after STARTTLS.
    pub ehlo_tls: Option<Reply>,
    /// Extensions parsed from `ehlo_tls` when it was positive.
    pub extensions_tls: Option<Extensions>,
    /// The reply to HELO inside TLS, sent when `ehlo_tls` was 5yz.
    pub helo_tls: Option<Reply>,
    /// The reply to HELP.
    pub help: Option<Reply>,
    /// The reply to QUIT.
    pub quit: Option<Reply>,
}

/// The SMTP banner-grab conversation for one connection.
///
/// See the crate documentation for the driver contract and the status rules.
#[derive(Debug)]
pub struct Session {
    config: Config,
    parser: ReplyParser,
    phase: Phase,
    transmit: VecDeque<Vec<u8>>,
    actions: VecDeque<Action>,
    result: SessionResult,
    /// A failure status decided while the polite QUIT is still in flight.
    locked: Option<Status>,
}

impl Session {
    /// A session waiting for [`connected`](Self::connected).
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            parser: ReplyParser::with_max_reply(config.max_reply),
            config,
            phase: Phase::Connecting,
            transmit: VecDeque::new(),
            actions: VecDeque::new(),
            result: SessionResult::default(),
            locked: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the conversation stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True once [`Action::Done`] has been queued.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// What has been recorded so far (final once the session is done).
    pub fn result(&self) -> &SessionResult {
        &self.result
    }

    /// Take the result.
    pub fn into_result(self) -> SessionResult {
        self.result
    }

    /// Bytes to write to the connection (through TLS once established), in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The TCP connection is up. With implicit TLS this queues [`Action::StartTls`].
    pub fn connected(&mut self) {
        if self.phase != Phase::Connecting {
            return;
        }
        if self.config.implicit_tls {
            self.phase = Phase::ImplicitTls;
            self.actions.push_back(Action::StartTls);
        } else {
            self.phase = Phase::Greeting;
        }
    }

    /// The TCP connection could not be made (refused, unreachable, ...): `connection-refused`.
    /// Connect timeouts go to [`handle_timeout`](Self::handle_timeout) instead.
    pub fn connect_failed(&mut self, detail: impl Into<String>) {
        if self.phase == Phase::Connecting {
            self.end(Status::ConnectionRefused, detail.into());
        } else {
            self.handle_io_error(detail);
        }
    }

    /// Bytes received from the server (decrypted, once TLS is up). Bytes arriving
    /// while no reply is awaited (during a TLS handshake, after the end) are ignored.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.phase == Phase::Connecting && !self.config.implicit_tls {
            self.connected();
        }
        if !self.phase.awaits_reply() {
            return;
        }
        self.parser.feed(data);
        self.process_replies();
    }

    /// The server closed the connection (orderly EOF).
    pub fn handle_eof(&mut self) {
        self.closed("connection closed by the server".to_string());
    }

    /// Reading or writing failed (reset, broken pipe, ...): treated like a close,
    /// with `detail` recorded.
    pub fn handle_io_error(&mut self, detail: impl Into<String>) {
        self.closed(detail.into());
    }

    /// A driver timer fired.
    pub fn handle_timeout(&mut self, kind: Timeout) {
        let what = match kind {
            Timeout::Connect => "connect timed out",
            Timeout::Read => "read timed out",
            Timeout::Deadline => "session deadline passed",
        };
        let detail = format!("{what} while waiting for {}", self.phase.waiting_for());
        let status = match self.phase {
            Phase::Done => return,
            Phase::Connecting => Status::ConnectionTimeout,
            p if p.gathered() => Status::Success,
            _ => Status::IoTimeout,
        };
        self.end(status, detail);
    }

    /// The TLS handshake requested by [`Action::StartTls`] completed.
    pub fn tls_established(&mut self) {
        match self.phase {
            Phase::ImplicitTls => {
                self.result.tls = Some(TlsMode::Implicit);
                self.parser.reset();
                self.phase = Phase::Greeting;
            }
            Phase::StartTlsHandshake => {
                self.result.tls = Some(TlsMode::Starttls);
                self.parser.reset();
                self.send_hello("EHLO");
                self.phase = Phase::EhloTls;
            }
            _ => {}
        }
    }

    /// The TLS handshake requested by [`Action::StartTls`] failed.
    pub fn tls_failed(&mut self, kind: TlsFailure, detail: impl Into<String>) {
        if matches!(self.phase, Phase::ImplicitTls | Phase::StartTlsHandshake) {
            let status = match kind {
                TlsFailure::Handshake => Status::HandshakeError,
                TlsFailure::VersionUnsupported => Status::TlsVersionUnsupported,
            };
            self.end(status, format!("TLS handshake failed: {}", detail.into()));
        }
    }

    fn closed(&mut self, detail: String) {
        if self.phase == Phase::Done {
            return;
        }
        if self.phase.awaits_reply() {
            // A reply cut off at its final line is recorded, but the
            // conversation does not advance on it.
            self.parser.finish();
            match self.parser.next_reply() {
                Some(Ok(reply)) => self.store(reply, false),
                None | Some(Err(ReplyError::Truncated { .. })) => {}
                Some(Err(err)) => return self.on_parse_error(err),
            }
        }
        let status = match self.phase {
            Phase::Done => return,
            Phase::Connecting | Phase::Greeting | Phase::Ehlo | Phase::Helo | Phase::StartTls => {
                Status::ConnectionClosed
            }
            Phase::ImplicitTls | Phase::StartTlsHandshake => Status::HandshakeError,
            Phase::EhloTls | Phase::HeloTls => Status::PostTlsApplicationError,
            Phase::Help | Phase::Quit => Status::Success,
        };
        let detail = format!("{detail} while waiting for {}", self.phase.waiting_for());
        self.end(status, detail);
    }

    fn process_replies(&mut self) {
        while self.phase.awaits_reply() {
            match self.parser.next_reply() {
                None => break,
                Some(Ok(reply)) => self.on_reply(reply),
                Some(Err(err)) => self.on_parse_error(err),
            }
        }
    }

    fn on_parse_error(&mut self, err: ReplyError) {
        let status = if self.phase.gathered() {
            Status::Success
        } else if self.phase.inside_starttls() {
            Status::PostTlsApplicationError
        } else {
            Status::ProtocolError
        };
        let detail = format!("{}: {err}", self.phase.waiting_for());
        self.end(status, detail);
    }

    /// Record `reply` in the field for the current phase (with its extensions if
    /// `parse` and the reply is a positive EHLO reply).
    fn store(&mut self, reply: Reply, parse: bool) {
        let ext = || (parse && reply.is_completion()).then(|| Extensions::from_reply(&reply));
        let r = &mut self.result;
        match self.phase {
            Phase::Greeting => r.banner = Some(reply),
            Phase::Ehlo => {
                r.extensions = ext();
                r.ehlo = Some(reply);
            }
            Phase::EhloTls => {
                r.extensions_tls = ext();
                r.ehlo_tls = Some(reply);
            }
            Phase::Helo => r.helo = Some(reply),
            Phase::HeloTls => r.helo_tls = Some(reply),
            Phase::StartTls => r.starttls = Some(reply),
            Phase::Help => r.help = Some(reply),
            Phase::Quit => r.quit = Some(reply),
            Phase::Connecting | Phase::ImplicitTls | Phase::StartTlsHandshake | Phase::Done => {}
        }
    }

    fn on_reply(&mut self, reply: Reply) {
        let text = format!("{} {}", reply.code, reply.lines.join(" / "));
        let (code, ok, permanent) = (reply.code, reply.is_completion(), reply.is_permanent());
        let phase = self.phase;
        self.store(reply, true);
        let inside = phase.inside_starttls();
        let refused = if inside {
            Status::PostTlsApplicationError
        } else {
            Status::ApplicationError
        };
        match phase {
            Phase::Greeting if ok => {
                self.send_hello("EHLO");
                self.phase = Phase::Ehlo;
            }
            Phase::Greeting => self.refuse(refused, format!("greeting: {text}")),
            Phase::Ehlo | Phase::EhloTls if ok => {
                let advertised = self.result.extensions.as_ref().is_some_and(|e| e.starttls);
                if !inside && advertised && self.config.starttls && self.result.tls.is_none() {
                    self.send(b"STARTTLS\r\n".to_vec());
                    self.phase = Phase::StartTls;
                } else {
                    self.help_or_quit();
                }
            }
            Phase::Ehlo | Phase::EhloTls if permanent => {
                self.send_hello("HELO");
                self.phase = if inside { Phase::HeloTls } else { Phase::Helo };
            }
            Phase::Ehlo | Phase::EhloTls => self.refuse(refused, format!("EHLO refused: {text}")),
            Phase::Helo | Phase::HeloTls if ok => self.help_or_quit(),
            Phase::Helo | Phase::HeloTls => {
                self.refuse(refused, format!("EHLO and HELO refused: HELO got {text}"));
            }
            Phase::StartTls if ok => {
                // Plaintext after "220 ready" must not be taken as a reply.
                self.parser.reset();
                self.phase = Phase::StartTlsHandshake;
                self.actions.push_back(Action::StartTls);
            }
            Phase::StartTls if code == 421 => {
                self.refuse(Status::ApplicationError, format!("STARTTLS: {text}"));
            }
            // Refused upgrade (454, 5yz): a recorded fact, not a failure.
            Phase::StartTls => self.help_or_quit(),
            Phase::Help => {
                self.send(b"QUIT\r\n".to_vec());
                self.phase = Phase::Quit;
            }
            Phase::Quit => self.end(Status::Success, String::new()),
            Phase::Connecting | Phase::ImplicitTls | Phase::StartTlsHandshake | Phase::Done => {}
        }
    }

    /// The server refused: remember the status, then say QUIT politely.
    fn refuse(&mut self, status: Status, detail: String) {
        self.locked = Some(status);
        self.result.error = Some(detail);
        self.send(b"QUIT\r\n".to_vec());
        self.phase = Phase::Quit;
    }

    fn help_or_quit(&mut self) {
        if self.config.send_help {
            self.send(b"HELP\r\n".to_vec());
            self.phase = Phase::Help;
        } else {
            self.send(b"QUIT\r\n".to_vec());
            self.phase = Phase::Quit;
        }
    }

    fn send_hello(&mut self, verb: &str) {
        let line = format!("{verb} {}\r\n", self.config.ehlo_name);
        self.send(line.into_bytes());
    }

    fn send(&mut self, bytes: Vec<u8>) {
        self.transmit.push_back(bytes);
    }

    /// Finish: a locked status wins over `status`; queue Close (if connected) and Done.
    fn end(&mut self, status: Status, detail: String) {
        if self.phase == Phase::Done {
            return;
        }
        let status = match self.locked {
            Some(locked) => locked,
            None => {
                if status != Status::Success {
                    self.result.error = Some(detail);
                }
                status
            }
        };
        self.result.status = Some(status);
        self.transmit.clear();
        self.actions.retain(|a| *a != Action::StartTls);
        if self.phase != Phase::Connecting {
            self.actions.push_back(Action::Close);
        }
        self.actions.push_back(Action::Done);
        self.phase = Phase::Done;
    }
}
