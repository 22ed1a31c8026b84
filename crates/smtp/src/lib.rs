//! Sans-I/O SMTP client for smtpsweep's banner-grab stage.
//!
//! This crate holds no sockets, timers, threads, files or TLS library. A driver
//! (the tokio task per target) moves bytes, runs TLS handshakes and owns the
//! timers; it tells the [`Session`] what happened and does what the session asks.
//!
//! - [`ReplyParser`] turns received bytes into [`Reply`] values, incrementally.
//! - [`Extensions`] is the structured form of a positive EHLO reply.
//! - [`Session`] is the conversation; [`SessionResult`] what it recorded; [`Status`] how it ended.
//!
//! # The conversation
//!
//! 1. With `implicit_tls`, a TLS handshake first ([`Action::StartTls`] right after
//!    [`Session::connected`]).
//! 2. The greeting. A reply other than 2yz ends the scan politely (QUIT).
//! 3. `EHLO <ehlo_name>`; on a 5yz reply, `HELO <ehlo_name>`.
//! 4. If the positive EHLO reply lists `STARTTLS`, `starttls` is enabled and TLS is
//!    not already up: `STARTTLS`; on 2yz, [`Action::StartTls`], then `EHLO` again
//!    inside TLS (with the same HELO fallback), recorded separately.
//! 5. `HELP` if `send_help`, then `QUIT`, then [`Action::Close`] and [`Action::Done`].
//!
//! Only `EHLO`, `HELO`, `STARTTLS`, `HELP` and `QUIT` are ever sent: nothing that
//! could deliver mail. Commands are never pipelined; each waits for the previous reply.
//!
//! # Replies
//!
//! Lines end in CRLF or a bare LF. A reply is lines `ddd-text` ending with a line
//! `ddd text` or just `ddd`; a code followed directly by text (`220host`) is accepted
//! as a final line and flagged [`Reply::lenient`]. Codes must be 200..=599. Blank
//! lines are skipped. Raw bytes are kept exactly; line texts are lossy UTF-8. A reply
//! larger than `max_reply` (default 64 KiB) is an error, detected as bytes arrive, so
//! nothing is buffered beyond the cap. So is a line that cannot start a reply (SSH,
//! HTTP, TLS records, binary; judged when the line ends, once 41 bytes of it have
//! arrived, or at EOF, so the outcome never depends on how TCP split the bytes), a
//! malformed continuation line, or a code change inside a multi-line reply.
//!
//! # Driver contract
//!
//! 1. [`Session::new`] validates the [`Config`] (the EHLO name must be printable
//!    ASCII without spaces, so it cannot inject a command).
//! 2. Connect. Then [`Session::connected`], or [`Session::connect_failed`] /
//!    [`Session::handle_timeout`]`(`[`Timeout::Connect`]`)`.
//! 3. After every call into the session: write everything [`Session::poll_transmit`]
//!    returns, then act on every [`Session::poll_action`]: `StartTls` (handshake, then
//!    [`Session::tls_established`] or [`Session::tls_failed`]), `Close`, `Done` (stop;
//!    [`Session::result`] is final).
//! 4. Feed received (decrypted) bytes to [`Session::handle_input`]; report EOF with
//!    [`Session::handle_eof`], read/write errors with [`Session::handle_io_error`],
//!    expired read timers and the session deadline with [`Session::handle_timeout`].
//!    A TLS handshake that times out is reported as [`Timeout::Read`].
//!
//! The TLS facts (version, cipher, certificates) are the driver's to record; the
//! session only notes in [`SessionResult::tls`] that TLS was established and how.
//!
//! # Status rules
//!
//! The facts are *gathered* once the session has a positive greeting, a positive
//! EHLO (or HELO after a 5yz EHLO) and, when an upgrade was attempted and the server
//! answered STARTTLS with 2yz, a completed handshake and a positive EHLO (or HELO)
//! inside TLS. Only HELP and QUIT remain after that. The first matching rule decides:
//!
//! | status | chosen when |
//! |---|---|
//! | `success` | the facts were gathered. Whatever happens afterwards (HELP/QUIT replies of any code, the server closing or resetting, a timeout, garbage) does not change it. STARTTLS not advertised, disabled, or refused with any code but 421 (e.g. `454 TLS not available`, `502`) is success too: the refusal is recorded in `starttls` and `tls` stays empty. |
//! | `connection-refused` | [`Session::connect_failed`] before the connection was up (RST, ICMP unreachable, any connect error except a timeout). |
//! | `connection-timeout` | any timeout while still connecting. |
//! | `io-timeout` | after connecting, a read timeout, a TLS handshake timeout or the session deadline before the facts were gathered (slow or silent servers, endless 1-byte-per-second greetings). |
//! | `connection-closed` | EOF, reset or another read/write error while waiting for the greeting, the EHLO, HELO or STARTTLS reply (in plaintext, or inside implicit TLS). Replies received before are kept (e.g. the banner), and a final line cut off without its line ending is still recorded. A stream that ends inside a reply counts here, not as `protocol-error`. |
//! | `protocol-error` | not SMTP: while waiting for the greeting, EHLO, HELO or STARTTLS reply, the bytes do not parse as replies (no code 200..=599 at the start, a malformed continuation line, inconsistent codes, a reply over `max_reply`), including such bytes followed by EOF. The connection is closed without QUIT. |
//! | `application-error` | an SMTP server refused: greeting other than 2yz (421, 554, ...); EHLO answered with anything but 2yz or 5yz (e.g. 421, 451); EHLO 5yz and then HELO not 2yz; STARTTLS answered 421. The reply is kept in its field and summarized in `error`. QUIT is still sent, and the status no longer changes. |
//! | `handshake-error` | [`Session::tls_failed`] with [`TlsFailure::Handshake`], or EOF/reset during a TLS handshake (implicit or STARTTLS). |
//! | `tls-version-unsupported` | [`Session::tls_failed`] with [`TlsFailure::VersionUnsupported`] (e.g. a TLS 1.0/1.1-only server). |
//! | `post-tls-application-error` | after a successful STARTTLS handshake and before the facts inside TLS were gathered: EHLO inside TLS answered with anything but 2yz or 5yz, EHLO 5yz then HELO not 2yz, the server closing or resetting, or bytes that are not SMTP. Timeouts there are still `io-timeout`. With implicit TLS the whole conversation is inside TLS and the plain rules above apply. |
//! | `interrupted` | Never chosen by the session: the driver writes it when the run is stopped before the session ends. |
//!
//! [`SessionResult::error`] holds a one-line explanation for every status except `success`.

mod ehlo;
mod reply;
mod session;
mod status;

pub use ehlo::Extensions;
pub use reply::{DEFAULT_MAX_REPLY, Reply, ReplyClass, ReplyError, ReplyParser};
pub use session::{
    Action, Config, ConfigError, DEFAULT_EHLO_NAME, MAX_EHLO_NAME, Phase, Session, SessionResult,
    Timeout, TlsFailure, TlsMode,
};
pub use status::{Status, UnknownStatus};
