//! SMTP personas: how a simulated server greets and talks.
//!
//! A [`Persona`] owns a per-connection async handler, [`Persona::handle`], generic over the
//! byte stream so the same dialogue can later run inside TLS. For now every persona is a plain
//! conversational SMTP server in the style of a real MTA; the TLS (STARTTLS, implicit TLS) and
//! hostile personas of the banner-grab issue add new [`Kind`] variants and registry entries.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Longest command line accepted, CRLF included (RFC 5321 allows 512; we are lenient).
pub const MAX_LINE: usize = 4096;

/// Texts of a conversational persona. Templates may contain `{host}` (the server's host
/// name), `{client}` (the peer's address) and `{helo}` (the client's EHLO/HELO argument).
#[derive(Debug)]
struct Dialect {
    /// Greeting line without the CRLF.
    greeting: &'static str,
    /// EHLO reply lines without codes or CRLF; the first is the hello line.
    ehlo: &'static [&'static str],
    /// HELO reply text (after "250 ").
    helo: &'static str,
    /// QUIT reply line.
    quit: &'static str,
    /// Reply line to any other command.
    unknown: &'static str,
}

/// What kind of server a persona is.
#[derive(Debug)]
enum Kind {
    /// A well-behaved plaintext SMTP server speaking the given dialect.
    Plain(Dialect),
}

/// A simulated SMTP server personality, selected per open (address, port).
#[derive(Debug)]
pub struct Persona {
    name: &'static str,
    software: &'static str,
    kind: Kind,
}

/// Facts about one accepted connection that a persona may use.
#[derive(Clone, Debug)]
pub struct Session {
    /// The server's (local) socket address.
    pub local: SocketAddr,
    /// The client's address.
    pub peer: SocketAddr,
    /// The host name the server announces.
    pub host_name: String,
    /// How long to wait for each client line before giving up with 421.
    pub idle_timeout: Duration,
}

static PERSONAS: [Persona; 6] = [
    Persona {
        name: "postfix",
        software: "Postfix 3.4 (Debian)",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} ESMTP Postfix (Debian/GNU)",
            ehlo: &[
                "{host}",
                "PIPELINING",
                "SIZE 10240000",
                "VRFY",
                "ETRN",
                "ENHANCEDSTATUSCODES",
                "8BITMIME",
                "DSN",
                "SMTPUTF8",
                "CHUNKING",
            ],
            helo: "{host}",
            quit: "221 2.0.0 Bye",
            unknown: "502 5.5.2 Error: command not recognized",
        }),
    },
    Persona {
        name: "exim-4.89",
        software: "Exim 4.89",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} ESMTP Exim 4.89 Tue, 05 Mar 2019 14:22:31 +0000",
            ehlo: &[
                "{host} Hello {helo} [{client}]",
                "SIZE 52428800",
                "8BITMIME",
                "PIPELINING",
                "PRDR",
                "HELP",
            ],
            helo: "{host} Hello {helo} [{client}]",
            quit: "221 {host} closing connection",
            unknown: "502 Command not implemented",
        }),
    },
    Persona {
        name: "exim-4.94",
        software: "Exim 4.94.2",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} ESMTP Exim 4.94.2 Fri, 14 May 2021 08:03:17 +0200",
            ehlo: &[
                "{host} Hello {helo} [{client}]",
                "SIZE 52428800",
                "8BITMIME",
                "PIPELINING",
                "CHUNKING",
                "PRDR",
                "HELP",
            ],
            helo: "{host} Hello {helo} [{client}]",
            quit: "221 {host} closing connection",
            unknown: "502 Command not implemented",
        }),
    },
    Persona {
        name: "exchange-2019",
        software: "Microsoft Exchange Server 2019",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} Microsoft ESMTP MAIL Service ready at Wed, 12 Jun 2019 09:41:07 +0000",
            ehlo: &[
                "{host} Hello [{client}]",
                "SIZE 37748736",
                "PIPELINING",
                "DSN",
                "ENHANCEDSTATUSCODES",
                "AUTH NTLM",
                "8BITMIME",
                "BINARYMIME",
                "CHUNKING",
                "SMTPUTF8",
            ],
            helo: "{host} Hello [{client}]",
            quit: "221 2.0.0 Service closing transmission channel",
            unknown: "502 5.3.3 Command not implemented",
        }),
    },
    Persona {
        name: "sendmail",
        software: "Sendmail 8.15.2",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} ESMTP Sendmail 8.15.2/8.15.2/Debian-14~deb10u1; Thu, 7 Nov 2019 16:03:55 GMT",
            ehlo: &[
                "{host} Hello [{client}], pleased to meet you",
                "ENHANCEDSTATUSCODES",
                "PIPELINING",
                "EXPN",
                "VERB",
                "8BITMIME",
                "SIZE",
                "DSN",
                "ETRN",
                "DELIVERBY",
                "HELP",
            ],
            helo: "{host} Hello [{client}], pleased to meet you",
            quit: "221 2.0.0 {host} closing connection",
            unknown: "502 5.5.1 Command unrecognized",
        }),
    },
    Persona {
        name: "opensmtpd",
        software: "OpenSMTPD",
        kind: Kind::Plain(Dialect {
            greeting: "220 {host} ESMTP OpenSMTPD",
            ehlo: &[
                "{host} Hello {helo} [{client}], pleased to meet you",
                "8BITMIME",
                "ENHANCEDSTATUSCODES",
                "SIZE 36700160",
                "DSN",
                "HELP",
            ],
            helo: "{host} Hello {helo} [{client}], pleased to meet you",
            quit: "221 2.0.0 Bye",
            unknown: "502 5.5.1 Invalid command: Command unrecognized",
        }),
    },
];

/// Every persona, in a fixed order (ground truth picks from it by index).
pub fn all() -> &'static [Persona] {
    &PERSONAS
}

/// The persona called `name`.
pub fn find(name: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.name == name)
}

/// The host name a simulated server at `ip` announces, e.g. `mx-198-18-3-7.testbed.example`.
pub fn host_name(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("mx-{a}-{b}-{c}-{d}.testbed.example")
}

fn fill(template: &str, host: &str, client: IpAddr, helo: &str) -> String {
    let mut out = template.replace("{host}", host);
    if out.contains("{client}") {
        out = out.replace("{client}", &client.to_string());
    }
    if out.contains("{helo}") {
        out = out.replace("{helo}", helo);
    }
    out
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

impl Persona {
    /// The persona's name as written in the ground truth.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The software this persona imitates.
    pub fn software(&self) -> &'static str {
        self.software
    }

    /// The exact greeting the persona sends, CRLF included.
    pub fn greeting(&self, host: &str) -> String {
        match &self.kind {
            Kind::Plain(d) => {
                let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                format!("{}\r\n", fill(d.greeting, host, unspecified, ""))
            }
        }
    }

    /// The exact multi-line reply to `EHLO helo` from `client`, CRLF included.
    pub fn ehlo_reply(&self, host: &str, client: IpAddr, helo: &str) -> String {
        match &self.kind {
            Kind::Plain(d) => {
                let helo = sanitize_helo(helo);
                let mut out = String::new();
                for (i, line) in d.ehlo.iter().enumerate() {
                    let sep = if i + 1 == d.ehlo.len() { ' ' } else { '-' };
                    out.push_str(&format!("250{sep}{}\r\n", fill(line, host, client, &helo)));
                }
                out
            }
        }
    }

    /// Serves one accepted connection until QUIT, EOF, an error or the idle timeout.
    pub async fn handle<S>(&self, stream: S, session: &Session) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match &self.kind {
            Kind::Plain(d) => self.converse(d, stream, session).await,
        }
    }

    async fn converse<S>(&self, d: &Dialect, stream: S, s: &Session) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let host = s.host_name.as_str();
        let client = s.peer.ip();
        let mut conn = BufReader::new(stream);
        conn.get_mut()
            .write_all(self.greeting(host).as_bytes())
            .await?;
        loop {
            let line = match tokio::time::timeout(s.idle_timeout, read_line(&mut conn)).await {
                Err(_elapsed) => {
                    let bye = format!("421 4.4.2 {host} Error: timeout exceeded\r\n");
                    conn.get_mut().write_all(bye.as_bytes()).await?;
                    break;
                }
                Ok(Ok(Line::Eof)) => break,
                Ok(Ok(Line::TooLong)) => {
                    conn.get_mut()
                        .write_all(b"500 5.5.0 Line too long\r\n")
                        .await?;
                    break;
                }
                Ok(Ok(Line::Text(line))) => line,
                Ok(Err(e)) => return Err(e),
            };
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v, a.trim()),
                None => (line.trim(), ""),
            };
            let verb = verb.to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" | "HELO" if arg.is_empty() => {
                    format!("501 5.5.4 Syntax: {verb} hostname\r\n")
                }
                "EHLO" => self.ehlo_reply(host, client, arg),
                "HELO" => format!(
                    "250 {}\r\n",
                    fill(d.helo, host, client, &sanitize_helo(arg))
                ),
                "QUIT" => {
                    let bye = format!("{}\r\n", fill(d.quit, host, client, ""));
                    conn.get_mut().write_all(bye.as_bytes()).await?;
                    break;
                }
                _ => format!("{}\r\n", d.unknown),
            };
            conn.get_mut().write_all(reply.as_bytes()).await?;
        }
        conn.get_mut().shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn session(idle: Duration) -> Session {
        Session {
            local: "198.18.0.9:25".parse().unwrap(),
            peer: "198.19.255.1:40000".parse().unwrap(),
            host_name: host_name(Ipv4Addr::new(198, 18, 0, 9)),
            idle_timeout: idle,
        }
    }

    /// Runs `persona` against a scripted client and returns everything the server wrote.
    async fn talk(persona: &'static Persona, client_lines: &[u8], idle: Duration) -> String {
        let (mut client, server) = duplex(1 << 16);
        let s = session(idle);
        let task = tokio::spawn(async move { persona.handle(server, &s).await });
        client.write_all(client_lines).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn registry_is_consistent() {
        let names: std::collections::HashSet<_> = all().iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), all().len());
        for p in all() {
            assert!(std::ptr::eq(find(p.name()).unwrap(), p));
            let g = p.greeting("mx.testbed.example");
            assert!(g.starts_with("220 mx.testbed.example "), "{g}");
            assert!(g.ends_with("\r\n") && g.matches("\r\n").count() == 1);
            assert!(!p.software().is_empty());
        }
        assert!(find("nope").is_none());
        assert_eq!(
            host_name(Ipv4Addr::new(198, 18, 3, 7)),
            "mx-198-18-3-7.testbed.example"
        );
    }

    #[test]
    fn ehlo_reply_is_multiline_and_well_formed() {
        let client: IpAddr = "198.19.255.1".parse().unwrap();
        for p in all() {
            let r = p.ehlo_reply("h.example", client, "scanner.example extra");
            let lines: Vec<&str> = r.split_terminator("\r\n").collect();
            assert!(lines.len() >= 3, "{}: {r}", p.name());
            assert!(
                lines[..lines.len() - 1]
                    .iter()
                    .all(|l| l.starts_with("250-"))
            );
            assert!(lines.last().unwrap().starts_with("250 "));
            assert!(lines[0].contains("h.example"));
            assert!(!r.contains("extra") && !r.contains('{'));
        }
        let exim = find("exim-4.89").unwrap();
        let r = exim.ehlo_reply("h", client, "bad\u{1}name");
        assert!(
            r.starts_with("250-h Hello bad?name [198.19.255.1]\r\n"),
            "{r}"
        );
    }

    #[tokio::test]
    async fn full_conversation() {
        let p = find("postfix").unwrap();
        let out = talk(
            p,
            b"EHLO scanner.example\r\nhelo x\r\nNOOP\r\nEHLO\r\nMAIL FROM:<a@b>\r\nquit\r\nEHLO late\r\n",
            Duration::from_secs(5),
        )
        .await;
        let host = host_name(Ipv4Addr::new(198, 18, 0, 9));
        let client: IpAddr = "198.19.255.1".parse().unwrap();
        let expected = format!(
            "{}{}250 {host}\r\n502 5.5.2 Error: command not recognized\r\n501 5.5.4 Syntax: EHLO hostname\r\n502 5.5.2 Error: command not recognized\r\n221 2.0.0 Bye\r\n",
            p.greeting(&host),
            p.ehlo_reply(&host, client, "scanner.example"),
        );
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn bare_lf_and_eof_without_quit() {
        let p = find("sendmail").unwrap();
        let out = talk(p, b"HELO a\nEHLO b", Duration::from_secs(5)).await;
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[1].starts_with("250 mx-198-18-0-9.testbed.example Hello [198.19.255.1]"));
    }

    #[tokio::test]
    async fn overlong_line_is_refused() {
        let p = find("opensmtpd").unwrap();
        let mut input = vec![b'A'; MAX_LINE + 10];
        input.extend_from_slice(b"\r\n");
        let out = talk(p, &input, Duration::from_secs(5)).await;
        assert!(out.ends_with("500 5.5.0 Line too long\r\n"), "{out}");
    }

    #[tokio::test]
    async fn idle_timeout_says_421() {
        let p = find("exchange-2019").unwrap();
        let (mut client, server) = duplex(1 << 16);
        let s = session(Duration::from_millis(50));
        let task = tokio::spawn(async move { p.handle(server, &s).await });
        let mut out = Vec::new();
        // The client stays silent (and keeps its side open) until the server gives up.
        client.read_to_end(&mut out).await.unwrap();
        task.await.unwrap().unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("220 "));
        assert!(out.ends_with("Error: timeout exceeded\r\n"), "{out}");
    }
}
