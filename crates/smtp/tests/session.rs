//! The conversation state machine driven by scripted server bytes.

use std::collections::VecDeque;

use smtpsweep_smtp::{
    Action, Config, ConfigError, Phase, ReplyParser, Session, SessionResult, Status, Timeout,
    TlsFailure, TlsMode,
};

/// One step of a scripted server.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The server sends these bytes.
    Send(&'static [u8]),
    /// The client must have sent exactly this command line.
    Expect(&'static str),
    /// The client must ask for a TLS handshake, which then succeeds.
    Tls,
    /// The client must ask for a TLS handshake, which then fails.
    TlsFail(TlsFailure),
    /// The server closes the connection.
    Eof,
    /// A driver timer fires.
    Timer(Timeout),
}

use Step::*;

/// A driver stand-in: runs the script, delivering server bytes in chunks of `chunk`.
struct Harness {
    session: Session,
    sent: VecDeque<Vec<u8>>,
    actions: VecDeque<Action>,
    all_sent: Vec<String>,
}

impl Harness {
    fn new(config: Config) -> Self {
        let mut session = Session::new(config).expect("valid config");
        session.connected();
        let mut h = Self {
            session,
            sent: VecDeque::new(),
            actions: VecDeque::new(),
            all_sent: Vec::new(),
        };
        h.pump();
        h
    }

    fn pump(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            self.all_sent
                .push(String::from_utf8(bytes.clone()).unwrap());
            self.sent.push_back(bytes);
        }
        while let Some(action) = self.session.poll_action() {
            assert!(
                !self.actions.contains(&Action::Done),
                "action {action:?} after Done"
            );
            self.actions.push_back(action);
        }
    }

    fn step(&mut self, step: Step, chunk: usize) {
        match step {
            Send(bytes) => {
                for piece in bytes.chunks(chunk) {
                    self.session.handle_input(piece);
                    self.pump();
                }
            }
            Expect(cmd) => {
                let got = self.sent.pop_front().map(|b| String::from_utf8(b).unwrap());
                assert_eq!(got.as_deref(), Some(cmd), "client command");
            }
            Tls => {
                assert_eq!(self.actions.pop_front(), Some(Action::StartTls));
                self.session.tls_established();
                self.pump();
            }
            TlsFail(kind) => {
                assert_eq!(self.actions.pop_front(), Some(Action::StartTls));
                self.session.tls_failed(kind, "alert received");
                self.pump();
            }
            Eof => {
                self.session.handle_eof();
                self.pump();
            }
            Timer(kind) => {
                self.session.handle_timeout(kind);
                self.pump();
            }
        }
    }

    /// Check the session ended cleanly; return the result.
    fn finish(self) -> SessionResult {
        assert!(self.sent.is_empty(), "unexpected commands: {:?}", self.sent);
        assert_eq!(
            self.actions.iter().copied().collect::<Vec<_>>(),
            [Action::Close, Action::Done],
            "final actions"
        );
        assert!(self.session.is_done());
        let result = self.session.into_result();
        let status = result.status.expect("final status");
        assert_eq!(
            result.error.is_some(),
            status != Status::Success,
            "error text iff not success: {result:?}"
        );
        result
    }
}

fn run_chunked(config: &Config, script: &[Step], chunk: usize) -> SessionResult {
    let mut h = Harness::new(config.clone());
    for &step in script {
        h.step(step, chunk);
    }
    h.finish()
}

/// Run a script whole and byte by byte (and in a few chunk sizes); all must agree.
fn run(config: &Config, script: &[Step]) -> SessionResult {
    let whole = run_chunked(config, script, usize::MAX);
    for chunk in [1, 2, 3, 7, 64] {
        assert_eq!(
            run_chunked(config, script, chunk),
            whole,
            "chunk size {chunk}"
        );
    }
    whole
}

fn config() -> Config {
    Config {
        ehlo_name: "scanner.example.net".into(),
        ..Config::default()
    }
}

const GREETING: &[u8] = b"220-mail.example.com ESMTP Postfix (Debian/GNU)\r\n220 no UCE\r\n";
const EHLO_PLAIN: &[u8] = b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
const STARTTLS_OK: &[u8] = b"220 2.0.0 Ready to start TLS\r\n";
const EHLO_TLS: &[u8] = b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250 8BITMIME\r\n";
const HELP: &[u8] = b"214 2.0.0 Ciao\r\n";
const QUIT: &[u8] = b"221 2.0.0 Bye\r\n";

/// The full STARTTLS conversation with HELP.
fn starttls_script() -> Vec<Step> {
    vec![
        Send(GREETING),
        Expect("EHLO scanner.example.net\r\n"),
        Send(EHLO_PLAIN),
        Expect("STARTTLS\r\n"),
        Send(STARTTLS_OK),
        Tls,
        Expect("EHLO scanner.example.net\r\n"),
        Send(EHLO_TLS),
        Expect("HELP\r\n"),
        Send(HELP),
        Expect("QUIT\r\n"),
        Send(QUIT),
    ]
}

fn help_config() -> Config {
    Config {
        send_help: true,
        ..config()
    }
}

#[test]
fn starttls_then_second_ehlo() {
    let r = run(&help_config(), &starttls_script());
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.tls, Some(TlsMode::Starttls));
    let banner = r.banner.unwrap();
    assert_eq!(banner.raw, GREETING);
    assert_eq!(
        banner.lines,
        ["mail.example.com ESMTP Postfix (Debian/GNU)", "no UCE"]
    );
    assert_eq!(r.ehlo.unwrap().raw, EHLO_PLAIN);
    let plain = r.extensions.unwrap();
    assert!(plain.starttls && plain.pipelining && plain.enhancedstatuscodes);
    assert!(plain.auth.is_empty());
    assert_eq!(plain.size, Some(10_240_000));
    assert_eq!(r.starttls.unwrap().code, 220);
    assert_eq!(r.ehlo_tls.unwrap().raw, EHLO_TLS);
    let tls = r.extensions_tls.unwrap();
    assert!(!tls.starttls);
    assert_eq!(tls.auth, ["PLAIN", "LOGIN"]);
    assert_eq!(r.help.unwrap().code, 214);
    assert_eq!(r.quit.unwrap().code, 221);
    assert!(r.helo.is_none() && r.helo_tls.is_none());
}

#[test]
fn starttls_disabled_is_not_attempted() {
    let cfg = Config {
        starttls: false,
        ..config()
    };
    let r = run(
        &cfg,
        &[
            Send(GREETING),
            Expect("EHLO scanner.example.net\r\n"),
            Send(EHLO_PLAIN),
            Expect("QUIT\r\n"),
            Send(QUIT),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert!(r.extensions.unwrap().starttls);
    assert!(r.starttls.is_none() && r.tls.is_none() && r.ehlo_tls.is_none());
}

#[test]
fn ehlo_rejected_falls_back_to_helo() {
    let r = run(
        &config(),
        &[
            Send(b"220 legacy.example.org SMTP ready\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"500 5.5.1 Command unrecognized: \"EHLO scanner.example.net\"\n"),
            Expect("HELO scanner.example.net\r\n"),
            Send(b"250 legacy.example.org Hello\n"),
            Expect("QUIT\r\n"),
            Send(b"221 closing\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.ehlo.as_ref().unwrap().code, 500);
    assert!(r.extensions.is_none(), "no extensions from a 500 reply");
    assert_eq!(r.helo.unwrap().lines, ["legacy.example.org Hello"]);
    assert!(r.starttls.is_none());
}

#[test]
fn ehlo_and_helo_rejected_is_application_error() {
    let r = run(
        &config(),
        &[
            Send(b"220 picky.example.org\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"550 go away\r\n"),
            Expect("HELO scanner.example.net\r\n"),
            Send(b"550 really\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
    assert!(r.error.unwrap().contains("550 really"));
    assert_eq!(r.quit.unwrap().code, 221);
}

#[test]
fn ehlo_transient_failure_is_application_error_without_helo() {
    let r = run(
        &config(),
        &[
            Send(b"220 busy.example.org\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"421 4.3.2 Service shutting down\r\n"),
            Expect("QUIT\r\n"),
            Eof,
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
    assert!(r.helo.is_none());
    assert!(r.quit.is_none());
}

#[test]
fn greeting_421_is_application_error_with_text() {
    let r = run(
        &config(),
        &[
            Send(b"421 4.7.0 mx.example.org Too many connections, try later\r\n"),
            Expect("QUIT\r\n"),
            Eof,
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
    let banner = r.banner.unwrap();
    assert_eq!(banner.code, 421);
    assert_eq!(
        banner.lines,
        ["4.7.0 mx.example.org Too many connections, try later"]
    );
    assert!(r.error.unwrap().contains("Too many connections"));
    assert!(r.ehlo.is_none());
}

#[test]
fn greeting_554_keeps_status_through_quit() {
    let r = run(
        &config(),
        &[
            Send(b"554 5.7.1 No SMTP service here\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 2.0.0 Bye\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
    assert_eq!(r.banner.unwrap().code, 554);
    assert_eq!(r.quit.unwrap().code, 221);

    // A server that then hangs on QUIT: the timeout does not change the status.
    let r = run(
        &config(),
        &[
            Send(b"554 nope\r\n"),
            Expect("QUIT\r\n"),
            Timer(Timeout::Read),
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
    assert!(r.error.unwrap().contains("554 nope"));
}

#[test]
fn starttls_454_is_recorded_and_still_success() {
    let r = run(
        &config(),
        &[
            Send(b"220 mx.example.org ESMTP\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250-mx.example.org\r\n250 STARTTLS\r\n"),
            Expect("STARTTLS\r\n"),
            Send(b"454 4.7.0 TLS not available due to local problem\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.starttls.unwrap().code, 454);
    assert!(r.tls.is_none() && r.ehlo_tls.is_none());
    assert!(r.error.is_none());
}

#[test]
fn starttls_421_is_application_error() {
    let r = run(
        &config(),
        &[
            Send(b"220 mx\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250-mx\r\n250 STARTTLS\r\n"),
            Expect("STARTTLS\r\n"),
            Send(b"421 shutting down\r\n"),
            Expect("QUIT\r\n"),
            Eof,
        ],
    );
    assert_eq!(r.status, Some(Status::ApplicationError));
}

#[test]
fn plaintext_after_starttls_ready_is_discarded() {
    // A server (or a man in the middle) that injects a reply after "220 ready":
    // it must not be taken as the answer to the EHLO inside TLS.
    let r = run(
        &config(),
        &[
            Send(b"220 mx\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250-mx\r\n250 STARTTLS\r\n"),
            Expect("STARTTLS\r\n"),
            Send(b"220 ready\r\n250-injected\r\n250 AUTH PLAIN\r\n"),
            Tls,
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250-mx\r\n250 AUTH CRAM-MD5\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.extensions_tls.unwrap().auth, ["CRAM-MD5"]);
}

#[test]
fn tls_handshake_failures() {
    for (kind, status) in [
        (TlsFailure::Handshake, Status::HandshakeError),
        (
            TlsFailure::VersionUnsupported,
            Status::TlsVersionUnsupported,
        ),
    ] {
        let r = run(
            &config(),
            &[
                Send(b"220 mx\r\n"),
                Expect("EHLO scanner.example.net\r\n"),
                Send(b"250-mx\r\n250 STARTTLS\r\n"),
                Expect("STARTTLS\r\n"),
                Send(b"220 go ahead\r\n"),
                TlsFail(kind),
            ],
        );
        assert_eq!(r.status, Some(status));
        assert!(r.error.unwrap().contains("alert received"));
        assert!(r.tls.is_none());
        // What was gathered before TLS is kept.
        assert!(r.extensions.unwrap().starttls);
        assert_eq!(r.starttls.unwrap().code, 220);
    }
}

#[test]
fn failures_after_starttls_are_post_tls_application_errors() {
    let prefix = [
        Send(b"220 mx\r\n"),
        Expect("EHLO scanner.example.net\r\n"),
        Send(b"250-mx\r\n250 STARTTLS\r\n"),
        Expect("STARTTLS\r\n"),
        Send(b"220 go ahead\r\n"),
        Tls,
        Expect("EHLO scanner.example.net\r\n"),
    ];
    let endings: [&[Step]; 4] = [
        &[Send(b"421 4.7.0 TLS policy\r\n"), Expect("QUIT\r\n"), Eof],
        &[Eof],
        &[Send(b"\x15\x03\x03\x00\x02\x02\x28"), Eof],
        &[
            Send(b"502 no\r\n"),
            Expect("HELO scanner.example.net\r\n"),
            Send(b"503 no\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ],
    ];
    for ending in endings {
        let script: Vec<Step> = prefix.iter().chain(ending).copied().collect();
        let r = run(&config(), &script);
        assert_eq!(
            r.status,
            Some(Status::PostTlsApplicationError),
            "{ending:?}: {r:?}"
        );
        assert_eq!(r.tls, Some(TlsMode::Starttls));
    }

    // EHLO 5yz inside TLS, HELO accepted: success.
    let script: Vec<Step> = prefix
        .iter()
        .chain(&[
            Send(b"500 what\r\n"),
            Expect("HELO scanner.example.net\r\n"),
            Send(b"250 ok\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ])
        .copied()
        .collect();
    let r = run(&config(), &script);
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.helo_tls.unwrap().code, 250);

    // A timeout inside TLS is still an I/O timeout.
    let script: Vec<Step> = prefix
        .iter()
        .chain(&[Timer(Timeout::Read)])
        .copied()
        .collect();
    assert_eq!(run(&config(), &script).status, Some(Status::IoTimeout));
}

#[test]
fn implicit_tls_conversation() {
    let cfg = Config {
        implicit_tls: true,
        ..config()
    };
    let r = run(
        &cfg,
        &[
            Tls,
            Send(b"220 smtps.example.org ESMTP\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            // STARTTLS advertised inside TLS (a misconfiguration) is not attempted.
            Send(b"250-smtps.example.org\r\n250-AUTH LOGIN\r\n250 STARTTLS\r\n"),
            Expect("QUIT\r\n"),
            Send(b"221 bye\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.tls, Some(TlsMode::Implicit));
    assert!(r.starttls.is_none());
    assert_eq!(r.extensions.unwrap().auth, ["LOGIN"]);

    // A refusal inside implicit TLS follows the plain rules.
    let r = run(&cfg, &[Tls, Send(b"554 no\r\n"), Expect("QUIT\r\n"), Eof]);
    assert_eq!(r.status, Some(Status::ApplicationError));

    let r = run(&cfg, &[TlsFail(TlsFailure::VersionUnsupported)]);
    assert_eq!(r.status, Some(Status::TlsVersionUnsupported));
    assert!(r.banner.is_none());

    // Closed during the handshake.
    let mut h = Harness::new(cfg.clone());
    assert_eq!(h.actions.pop_front(), Some(Action::StartTls));
    h.step(Eof, 1);
    assert_eq!(h.finish().status, Some(Status::HandshakeError));
}

#[test]
fn not_smtp_is_protocol_error_without_quit() {
    for garbage in [
        &b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"[..],
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"\x16\x03\x03\x00\x4a\x02\x00\x00\x46",
        b"\x00\xff\x10\x80garbage",
        &[0xa5; 4096],
        b"* OK IMAP4rev1 ready\r\n",
        b"+OK POP3 ready\r\n",
    ] {
        // Short garbage is judged when the server closes; long garbage at once.
        let r = run(&config(), &[Send(garbage), Eof]);
        assert_eq!(r.status, Some(Status::ProtocolError), "{garbage:?}");
        let err = r.error.unwrap();
        assert!(err.contains("not an SMTP reply"), "{err}");
        assert!(!err.contains('\n'));
        assert!(r.banner.is_none());
    }
}

#[test]
fn garbage_after_valid_greeting_is_protocol_error() {
    let r = run(
        &config(),
        &[
            Send(b"220 mx\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250-mx\r\n251 PIPELINING\r\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::ProtocolError));
    assert!(r.error.unwrap().contains("inconsistent"));
    assert!(r.banner.is_some());
}

#[test]
fn oversize_greeting_is_protocol_error() {
    let cfg = Config {
        max_reply: 1024,
        ..config()
    };
    let mut h = Harness::new(cfg);
    // An endless multi-line greeting.
    for _ in 0..1000 {
        if h.session.is_done() {
            break;
        }
        h.step(
            Send(b"220-Welcome to an endless greeting, please keep waiting\r\n"),
            1000,
        );
    }
    let r = h.finish();
    assert_eq!(r.status, Some(Status::ProtocolError));
    assert!(r.error.unwrap().contains("exceeds 1024 bytes"));
}

#[test]
fn greeting_with_lenient_and_non_utf8() {
    let r = run(
        &config(),
        &[
            Send(b"220mx.example.org \xe9\xe9 ready\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250 mx.example.org\n"),
            Expect("QUIT\r\n"),
            Send(b"221\n"),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    let banner = r.banner.unwrap();
    assert!(banner.lenient);
    assert_eq!(banner.raw, b"220mx.example.org \xe9\xe9 ready\n");
    assert_eq!(banner.lines, ["mx.example.org \u{fffd}\u{fffd} ready"]);
    let ext = r.extensions.unwrap();
    assert_eq!(ext.domain, "mx.example.org");
    assert_eq!(r.quit.unwrap().lines, [""]);
}

#[test]
fn timeouts_and_connect_failures() {
    // Silent after connect.
    let r = run(&config(), &[Timer(Timeout::Read)]);
    assert_eq!(r.status, Some(Status::IoTimeout));
    assert!(r.error.unwrap().contains("greeting"));

    // One byte per second until the deadline.
    let r = run(&config(), &[Send(b"220 sl"), Timer(Timeout::Deadline)]);
    assert_eq!(r.status, Some(Status::IoTimeout));
    assert!(r.error.unwrap().contains("deadline"));

    // Timeout waiting for QUIT after the facts: success.
    let r = run(
        &config(),
        &[
            Send(b"220 mx\r\n"),
            Expect("EHLO scanner.example.net\r\n"),
            Send(b"250 mx\r\n"),
            Expect("QUIT\r\n"),
            Timer(Timeout::Read),
        ],
    );
    assert_eq!(r.status, Some(Status::Success));
    assert!(r.quit.is_none());

    // Connect timeout and refusal: only Done, no Close.
    let mut s = Session::new(config()).unwrap();
    s.handle_timeout(Timeout::Connect);
    assert_eq!(s.poll_action(), Some(Action::Done));
    assert_eq!(s.poll_action(), None);
    assert_eq!(s.result().status, Some(Status::ConnectionTimeout));

    let mut s = Session::new(config()).unwrap();
    s.connect_failed("Connection refused (os error 111)");
    assert_eq!(s.poll_action(), Some(Action::Done));
    assert_eq!(s.poll_action(), None);
    assert_eq!(s.result().status, Some(Status::ConnectionRefused));
    assert!(s.result().error.as_ref().unwrap().contains("refused"));
    assert!(s.poll_transmit().is_none());
}

#[test]
fn reset_after_greeting_keeps_banner() {
    let mut h = Harness::new(config());
    h.step(Send(b"220 mx.example.org ESMTP Exim 4.89\r\n"), 100);
    h.step(Expect("EHLO scanner.example.net\r\n"), 0);
    h.session
        .handle_io_error("Connection reset by peer (os error 104)");
    h.pump();
    let r = h.finish();
    assert_eq!(r.status, Some(Status::ConnectionClosed));
    assert_eq!(r.banner.unwrap().lines, ["mx.example.org ESMTP Exim 4.89"]);
    assert!(r.error.unwrap().contains("reset by peer"));
}

#[test]
fn unterminated_greeting_at_eof_is_recorded() {
    let r = run(&config(), &[Send(b"220 bare banner"), Eof]);
    assert_eq!(r.status, Some(Status::ConnectionClosed));
    assert_eq!(r.banner.unwrap().lines, ["bare banner"]);
}

#[test]
fn events_after_done_are_ignored() {
    let mut h = Harness::new(config());
    for &step in &[
        Send(b"220 mx\r\n"),
        Expect("EHLO scanner.example.net\r\n"),
        Send(b"250 mx\r\n"),
        Expect("QUIT\r\n"),
        Send(b"221 bye\r\n250 extra\r\n"),
    ] {
        h.step(step, usize::MAX);
    }
    h.session.handle_input(b"220 more\r\n");
    h.session.handle_eof();
    h.session.handle_timeout(Timeout::Deadline);
    h.session.tls_established();
    h.session.tls_failed(TlsFailure::Handshake, "late");
    h.pump();
    let r = h.finish();
    assert_eq!(r.status, Some(Status::Success));
    assert_eq!(r.quit.unwrap().code, 221);
}

/// Byte offsets in the server stream where each reply of `starttls_script` ends.
fn segment_ends() -> Vec<usize> {
    let mut end = 0;
    [GREETING, EHLO_PLAIN, STARTTLS_OK, EHLO_TLS, HELP, QUIT]
        .iter()
        .map(|seg| {
            end += seg.len();
            end
        })
        .collect()
}

/// Run `starttls_script` but stop after `cut` server bytes and apply `interrupt`.
fn run_cut(cut: usize, interrupt: Step) -> SessionResult {
    let mut h = Harness::new(help_config());
    let mut budget = cut;
    for step in starttls_script() {
        match step {
            Send(bytes) => {
                let n = budget.min(bytes.len());
                h.step(Send(&bytes[..n]), 1);
                budget -= n;
                if n < bytes.len() {
                    break;
                }
            }
            Expect(_) | Tls => {
                if budget == 0 && matches!(step, Tls) {
                    // The cut falls between "220 ready" and the handshake.
                    assert_eq!(h.actions.pop_front(), Some(Action::StartTls));
                    break;
                }
                h.step(step, 1);
            }
            other => h.step(other, 1),
        }
    }
    if !h.session.is_done() {
        h.step(interrupt, 1);
    }
    h.finish()
}

#[test]
fn early_eof_at_every_point() {
    let ends = segment_ends();
    let total = *ends.last().unwrap();
    for cut in 0..=total {
        let r = run_cut(cut, Eof);
        // Index of the reply being waited for when the server closed.
        let waiting = ends.iter().position(|&e| cut < e).unwrap_or(ends.len());
        let expected = match waiting {
            0..=2 => Status::ConnectionClosed,
            // STARTTLS reply complete: closed before/during the handshake.
            3 if cut == ends[2] => Status::HandshakeError,
            3 => Status::PostTlsApplicationError,
            _ => Status::Success,
        };
        assert_eq!(r.status, Some(expected), "cut at {cut}: {r:?}");
        // Every complete reply is recorded exactly; a partial one only as a prefix.
        let full = GREETING;
        match &r.banner {
            Some(b) if cut >= ends[0] => assert_eq!(b.raw, full),
            Some(b) => assert!(full.starts_with(&b.raw) && b.raw.len() <= cut),
            None => assert!(cut < ends[0]),
        }
        assert_eq!(r.tls.is_some(), cut > ends[2], "cut at {cut}");
        assert_eq!(r.extensions_tls.is_some(), cut >= ends[3], "cut at {cut}");
    }
}

#[test]
fn timeout_at_every_point() {
    let ends = segment_ends();
    let total = *ends.last().unwrap();
    for cut in 0..total {
        let r = run_cut(cut, Timer(Timeout::Read));
        let expected = if cut >= ends[3] {
            Status::Success
        } else {
            Status::IoTimeout
        };
        assert_eq!(r.status, Some(expected), "cut at {cut}: {r:?}");
    }
}

/// A tiny deterministic generator for the robustness test (no external crates).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_servers_never_panic_and_never_send_mail_commands() {
    let pieces: [&[u8]; 14] = [
        b"220 ok\r\n",
        b"250-x\r\n",
        b"250 STARTTLS\r\n",
        b"250 ok\n",
        b"220-",
        b"\r\n",
        b"\n",
        b"421 bye\r\n",
        b"500 no\r\n",
        b"454 no tls\r\n",
        b"\xff\xfe",
        b"SSH-2.0",
        b"2",
        b"221 ",
    ];
    let mut rng = Lcg(0x5eed);
    for round in 0..3000 {
        let mut cfg = config();
        cfg.send_help = rng.next() % 2 == 0;
        cfg.implicit_tls = rng.next() % 4 == 0;
        cfg.max_reply = 16 + (rng.next() % 200) as usize;
        let mut s = Session::new(cfg).unwrap();
        s.connected();
        let mut sent = Vec::new();
        for _ in 0..(rng.next() % 40) {
            match rng.next() % 10 {
                0 => s.tls_established(),
                1 if rng.next() % 4 == 0 => s.tls_failed(TlsFailure::Handshake, "x"),
                _ => {
                    let piece = pieces[(rng.next() % pieces.len() as u64) as usize];
                    s.handle_input(piece);
                }
            }
            while let Some(t) = s.poll_transmit() {
                sent.push(String::from_utf8(t).unwrap());
            }
        }
        match rng.next() % 3 {
            0 => s.handle_eof(),
            1 => s.handle_timeout(Timeout::Read),
            _ => s.handle_io_error("reset"),
        }
        let mut actions = Vec::new();
        while let Some(a) = s.poll_action() {
            actions.push(a);
        }
        assert_eq!(actions.last(), Some(&Action::Done), "round {round}");
        assert!(s.is_done() && s.phase() == Phase::Done);
        let status = s.result().status.expect("status");
        assert_eq!(s.result().error.is_some(), status != Status::Success);
        for cmd in &sent {
            let verb = cmd.split_whitespace().next().unwrap_or("");
            assert!(
                ["EHLO", "HELO", "STARTTLS", "HELP", "QUIT"].contains(&verb),
                "round {round}: sent {cmd:?}"
            );
            assert!(cmd.ends_with("\r\n") && cmd.matches('\n').count() == 1);
        }
    }
}

#[test]
fn invalid_configs_are_rejected() {
    let bad = |name: &str| {
        Session::new(Config {
            ehlo_name: name.into(),
            ..Config::default()
        })
        .unwrap_err()
    };
    assert_eq!(bad(""), ConfigError::EmptyEhloName);
    let err = bad("x\r\nMAIL FROM:<a@example.com>");
    assert!(matches!(err, ConfigError::BadEhloName(_)));
    assert!(!err.to_string().contains('\n'));
    assert!(matches!(bad("two words"), ConfigError::BadEhloName(_)));
    assert!(matches!(
        bad("caf\u{e9}.example"),
        ConfigError::BadEhloName(_)
    ));
    assert!(matches!(
        bad(&"a".repeat(256)),
        ConfigError::EhloNameTooLong(256)
    ));
    assert!(
        Session::new(Config {
            ehlo_name: "[192.0.2.1]".into(),
            ..Config::default()
        })
        .is_ok()
    );
    let err = Session::new(Config {
        max_reply: 0,
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(err, ConfigError::ZeroMaxReply);
}

#[test]
fn parser_is_usable_standalone_from_the_crate_root() {
    let mut p = ReplyParser::with_max_reply(128);
    p.feed(b"250 ok\r\n");
    assert_eq!(p.next_reply().unwrap().unwrap().code, 250);
}

#[test]
fn result_serializes_with_status_names() {
    let r = run(&help_config(), &starttls_script());
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["tls"], "starttls");
    assert_eq!(v["banner"]["code"], 220);
    assert_eq!(v["extensions_tls"]["auth"][1], "LOGIN");
    let back: SessionResult = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}
