//! The texts of every persona, written in the style of the real products.
//!
//! Templates may contain `{host}` (the server's host name), `{date}` (the frozen greeting date in
//! the dialect's style), `{client}` and `{client_port}` (the peer) and `{helo}` (the client's
//! EHLO/HELO argument, sanitised). Greetings use only `{host}` and `{date}`.

use super::{Dialect, FingerprintSource, Hostile, Persona, TlsVersion};
use crate::date::DateStyle;

use FingerprintSource::{Banner, Ehlo, Help};
use TlsVersion::{Tls12, Tls13};

const POSTFIX_HELP: &[&str] = &["502 5.5.2 Error: command not recognized"];

static POSTFIX_DEBIAN: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Postfix (Debian/GNU)"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &[
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ],
    ehlo_tls: &[
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "AUTH PLAIN LOGIN",
        "AUTH=PLAIN LOGIN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ],
    helo: "{host}",
    starttls: "220 2.0.0 Ready to start TLS",
    help: POSTFIX_HELP,
    noop: "250 2.0.0 Ok",
    unknown: "502 5.5.2 Error: command not recognized",
    quit: "221 2.0.0 Bye",
    timeout: "421 4.4.2 {host} Error: timeout exceeded",
    max_tls: Tls13,
};

static POSTFIX_UBUNTU: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Postfix (Ubuntu)"],
    ehlo: &[
        "PIPELINING",
        "SIZE 52428800",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
    ],
    ehlo_tls: &[
        "PIPELINING",
        "SIZE 52428800",
        "VRFY",
        "ETRN",
        "AUTH PLAIN LOGIN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
    ],
    ..POSTFIX_DEBIAN
};

static POSTFIX_VERSIONED: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Postfix (3.4.13)"],
    ehlo: &[
        "PIPELINING",
        "SIZE 20480000",
        "VRFY",
        "ETRN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ],
    ehlo_tls: &[
        "PIPELINING",
        "SIZE 20480000",
        "VRFY",
        "ETRN",
        "AUTH PLAIN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ],
    ..POSTFIX_DEBIAN
};

static ZIMBRA: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Zimbra"],
    ehlo: &[
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
    ],
    ehlo_tls: &[
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "AUTH PLAIN LOGIN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
    ],
    ..POSTFIX_DEBIAN
};

static EXIM_4_89: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Exim 4.89 {date}"],
    date_style: DateStyle::Rfc5322Padded,
    hello: "{host} Hello {helo} [{client}]",
    ehlo: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "CHUNKING",
        "PRDR",
        "HELP",
    ],
    ehlo_tls: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "AUTH PLAIN LOGIN",
        "CHUNKING",
        "PRDR",
        "HELP",
    ],
    helo: "{host} Hello {helo} [{client}]",
    starttls: "220 TLS go ahead",
    help: &[
        "214-Commands supported:",
        "214 AUTH HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP",
    ],
    noop: "250 OK",
    unknown: "500 unrecognized command",
    quit: "221 {host} closing connection",
    timeout: "421 {host} SMTP incoming data timeout - closing connection.",
    max_tls: Tls12,
};

const EXIM_TLS_HELP: &[&str] = &[
    "214-Commands supported:",
    "214 AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP",
];

static EXIM_4_90_UBUNTU: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Exim 4.90_1 Ubuntu {date}"],
    ehlo: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "CHUNKING",
        "STARTTLS",
        "PRDR",
        "HELP",
    ],
    help: EXIM_TLS_HELP,
    max_tls: Tls13,
    ..EXIM_4_89
};

static EXIM_4_91_CPANEL: Dialect = Dialect {
    greeting: &[
        "220-{host} ESMTP Exim 4.91 #2 {date} ",
        "220-We do not authorize the use of this system to transport unsolicited, ",
        "220 and/or bulk e-mail.",
    ],
    ehlo: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "AUTH PLAIN LOGIN",
        "STARTTLS",
        "HELP",
    ],
    ehlo_tls: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "AUTH PLAIN LOGIN",
        "HELP",
    ],
    help: EXIM_TLS_HELP,
    max_tls: Tls12,
    ..EXIM_4_89
};

static EXIM_4_92: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Exim 4.92 {date}"],
    ehlo: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "CHUNKING",
        "STARTTLS",
        "PRDR",
        "HELP",
    ],
    help: EXIM_TLS_HELP,
    max_tls: Tls13,
    ..EXIM_4_89
};

static EXIM_4_94_2: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Exim 4.94.2 {date}"],
    ehlo: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "PIPE_CONNECT",
        "CHUNKING",
        "STARTTLS",
        "SMTPUTF8",
        "PRDR",
        "HELP",
    ],
    ehlo_tls: &[
        "SIZE 52428800",
        "8BITMIME",
        "PIPELINING",
        "PIPE_CONNECT",
        "AUTH PLAIN LOGIN",
        "CHUNKING",
        "SMTPUTF8",
        "PRDR",
        "HELP",
    ],
    help: EXIM_TLS_HELP,
    max_tls: Tls13,
    ..EXIM_4_89
};

static EXIM_4_96: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Exim 4.96 {date}"],
    ..EXIM_4_94_2
};

static EXCHANGE_2013: Dialect = Dialect {
    greeting: &["220 {host} Microsoft ESMTP MAIL Service ready at {date}"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello [{client}]",
    ehlo: &[
        "SIZE 37748736",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "X-ANONYMOUSTLS",
        "AUTH NTLM",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "XRDST",
    ],
    ehlo_tls: &[
        "SIZE 37748736",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "AUTH GSSAPI NTLM LOGIN",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "XRDST",
    ],
    helo: "{host} Hello [{client}]",
    starttls: "220 2.0.0 SMTP server ready",
    help: &[
        "214-This server supports the following commands:",
        "214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT",
    ],
    noop: "250 2.0.0 OK",
    unknown: "500 5.3.3 Unrecognized command",
    quit: "221 2.0.0 Service closing transmission channel",
    timeout: "451 4.7.0 Timeout waiting for client input",
    max_tls: Tls12,
};

static EXCHANGE_2016: Dialect = Dialect {
    ehlo: &[
        "SIZE 36700160",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "X-ANONYMOUSTLS",
        "AUTH NTLM",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "XRDST",
    ],
    ehlo_tls: &[
        "SIZE 36700160",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "AUTH GSSAPI NTLM LOGIN",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "XRDST",
    ],
    ..EXCHANGE_2013
};

static EXCHANGE_2019: Dialect = Dialect {
    ehlo: &[
        "SIZE 37748736",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "X-ANONYMOUSTLS",
        "AUTH NTLM",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "SMTPUTF8",
        "XRDST",
    ],
    ehlo_tls: &[
        "SIZE 37748736",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "AUTH GSSAPI NTLM LOGIN",
        "X-EXPS GSSAPI NTLM",
        "8BITMIME",
        "BINARYMIME",
        "CHUNKING",
        "SMTPUTF8",
        "XRDST",
    ],
    ..EXCHANGE_2013
};

static IIS_10: Dialect = Dialect {
    greeting: &["220 {host} Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at  {date}"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello [{client}]",
    ehlo: &[
        "TURN",
        "SIZE 2097152",
        "ETRN",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8bitmime",
        "BINARYMIME",
        "CHUNKING",
        "VRFY",
        "STARTTLS",
        "OK",
    ],
    ehlo_tls: &[
        "AUTH LOGIN",
        "AUTH=LOGIN",
        "TURN",
        "SIZE 2097152",
        "ETRN",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8bitmime",
        "BINARYMIME",
        "CHUNKING",
        "VRFY",
        "OK",
    ],
    helo: "{host} Hello [{client}]",
    starttls: "220 2.0.0 SMTP server ready",
    help: &[
        "214-This server supports the following commands:",
        "214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH TURN ETRN BDAT VRFY",
    ],
    noop: "250 2.0.0 OK",
    unknown: "500 5.3.3 Unrecognized command",
    quit: "221 2.0.0 {host} Service closing transmission channel",
    timeout: "421 4.4.2 {host} Connection dropped due to timeout",
    max_tls: Tls12,
};

static IIS_6: Dialect = Dialect {
    greeting: &["220 {host} Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  {date}"],
    ehlo: &[
        "TURN",
        "SIZE 2097152",
        "ETRN",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8bitmime",
        "BINARYMIME",
        "CHUNKING",
        "VRFY",
        "OK",
    ],
    help: &[
        "214-This server supports the following commands:",
        "214 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH TURN ETRN BDAT VRFY",
    ],
    ..IIS_10
};

/// Windows Server 2003 with a certificate: STARTTLS offered, but only TLS 1.0 spoken.
static IIS_6_TLS10: Dialect = Dialect {
    greeting: &["220 {host} Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at  {date}"],
    ..IIS_10
};

static SENDMAIL_DEBIAN: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Sendmail 8.15.2/8.15.2/Debian-14~deb10u1; {date}"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello {helo} [{client}] (may be forged), pleased to meet you",
    ehlo: &[
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "EXPN",
        "VERB",
        "8BITMIME",
        "SIZE",
        "DSN",
        "ETRN",
        "AUTH DIGEST-MD5 CRAM-MD5",
        "STARTTLS",
        "DELIVERBY",
        "HELP",
    ],
    ehlo_tls: &[
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "EXPN",
        "VERB",
        "8BITMIME",
        "SIZE",
        "DSN",
        "ETRN",
        "AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
        "DELIVERBY",
        "HELP",
    ],
    helo: "{host} Hello {helo} [{client}] (may be forged), pleased to meet you",
    starttls: "220 2.0.0 Ready to start TLS",
    help: &[
        "214-2.0.0 This is sendmail version 8.15.2",
        "214-2.0.0 Topics:",
        "214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA",
        "214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY",
        "214-2.0.0 \tEXPN\tVERB\tETRN\tDSN\tAUTH",
        "214-2.0.0 \tSTARTTLS",
        "214-2.0.0 For more info use \"HELP <topic>\".",
        "214-2.0.0 For local information send email to Postmaster at your site.",
        "214 2.0.0 End of HELP info",
    ],
    noop: "250 2.0.0 OK",
    unknown: "500 5.5.1 Command unrecognized",
    quit: "221 2.0.0 {host} closing connection",
    timeout: "421 4.4.1 {host} Lost input channel",
    max_tls: Tls13,
};

static SENDMAIL_8_14: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Sendmail 8.14.7/8.14.7; {date}"],
    ehlo: &[
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "8BITMIME",
        "SIZE",
        "DSN",
        "ETRN",
        "DELIVERBY",
        "HELP",
    ],
    ehlo_tls: &[
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "8BITMIME",
        "SIZE",
        "DSN",
        "ETRN",
        "AUTH LOGIN PLAIN",
        "DELIVERBY",
        "HELP",
    ],
    help: &[
        "214-2.0.0 This is sendmail version 8.14.7",
        "214-2.0.0 Topics:",
        "214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA",
        "214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY",
        "214-2.0.0 \tEXPN\tVERB\tETRN\tDSN",
        "214-2.0.0 For more info use \"HELP <topic>\".",
        "214-2.0.0 For local information send email to Postmaster at your site.",
        "214 2.0.0 End of HELP info",
    ],
    max_tls: Tls12,
    ..SENDMAIL_DEBIAN
};

static MDAEMON: Dialect = Dialect {
    greeting: &["220 {host} ESMTP MDaemon 19.5.2; {date}"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello {helo}, pleased to meet you",
    ehlo: &[
        "ETRN",
        "AUTH=LOGIN",
        "AUTH LOGIN CRAM-MD5 PLAIN",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "SIZE 100000000",
    ],
    ehlo_tls: &[
        "ETRN",
        "AUTH=LOGIN",
        "AUTH LOGIN CRAM-MD5 PLAIN",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "SIZE 100000000",
    ],
    helo: "{host} Hello {helo}, pleased to meet you",
    starttls: "220 Ready to start TLS",
    help: &["214 Help system currently inactive."],
    noop: "250 2.0.0 OK",
    unknown: "500 5.5.1 Command unrecognized",
    quit: "221 See ya in cyberspace",
    timeout: "421 4.4.2 {host} Timeout, closing connection",
    max_tls: Tls12,
};

static OPENSMTPD: Dialect = Dialect {
    greeting: &["220 {host} ESMTP OpenSMTPD"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello {helo} [{client}], pleased to meet you",
    ehlo: &[
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "SIZE 36700160",
        "DSN",
        "STARTTLS",
        "HELP",
    ],
    ehlo_tls: &[
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "SIZE 36700160",
        "DSN",
        "AUTH PLAIN LOGIN",
        "HELP",
    ],
    helo: "{host} Hello {helo} [{client}], pleased to meet you",
    starttls: "220 2.0.0 Ready to start TLS",
    help: &[
        "214-2.0.0 This is OpenSMTPD",
        "214-2.0.0 To report bugs in the implementation, please contact bugs@openbsd.org",
        "214-2.0.0 with full details",
        "214 2.0.0 End of HELP info",
    ],
    noop: "250 2.0.0 Ok",
    unknown: "500 5.5.1 Invalid command: Command unrecognized",
    quit: "221 2.0.0 Bye",
    timeout: "421 4.4.2 {host} Timeout",
    max_tls: Tls13,
};

static IBM_DOMINO: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Service (IBM Domino Release 9.0.1FP10) ready at {date}"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello {helo} ([{client}]), pleased to meet you",
    ehlo: &[
        "HELP",
        "SIZE 26214400",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "STARTTLS",
    ],
    ehlo_tls: &[
        "HELP",
        "AUTH LOGIN",
        "SIZE 26214400",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
    ],
    helo: "{host} Hello {helo} ([{client}]), pleased to meet you",
    starttls: "220 Ready to start TLS",
    help: &[
        "214-Enter one of the following commands:",
        "214 HELO EHLO MAIL RCPT DATA RSET NOOP HELP VRFY EXPN ETRN STARTTLS QUIT",
    ],
    noop: "250 OK",
    unknown: "500 Syntax error, command unrecognized",
    quit: "221 {host} SMTP Service closing transmission channel",
    timeout: "421 {host} SMTP service closing connection, timeout",
    max_tls: Tls12,
};

static LOTUS_DOMINO: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Service (Lotus Domino Release 8.5.3FP6) ready at {date}"],
    ehlo: &[
        "HELP",
        "SIZE 10485760",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
    ],
    help: &[
        "214-Enter one of the following commands:",
        "214 HELO EHLO MAIL RCPT DATA RSET NOOP HELP VRFY EXPN ETRN QUIT",
    ],
    ..IBM_DOMINO
};

static ECELERITY: Dialect = Dialect {
    greeting: &["220 {host} ESMTP ecelerity 4.2.1.55028 r(Core:4.2.1.14) {date}"],
    date_style: DateStyle::Rfc5322Padded,
    hello: "{host} says EHLO to {client}:{client_port}",
    ehlo: &[
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "SIZE 41943040",
    ],
    ehlo_tls: &[
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
        "AUTH=LOGIN PLAIN",
        "AUTH LOGIN PLAIN",
        "SIZE 41943040",
    ],
    helo: "{host} says HELO to {client}:{client_port}",
    starttls: "220 2.0.0 continue",
    help: &["502 5.5.2 HELP not supported"],
    noop: "250 2.0.0 OK",
    unknown: "500 5.5.2 command not understood",
    quit: "221 2.0.0 {host} closing connection",
    timeout: "421 4.4.2 {host} Timeout",
    max_tls: Tls12,
};

static QMAIL: Dialect = Dialect {
    greeting: &["220 {host} ESMTP"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &["PIPELINING", "8BITMIME"],
    ehlo_tls: &["PIPELINING", "8BITMIME", "AUTH LOGIN PLAIN CRAM-MD5"],
    helo: "{host}",
    starttls: "220 ready for tls",
    help: &["214 netqmail home page: http://qmail.org/netqmail"],
    noop: "250 ok",
    unknown: "502 unimplemented (#5.5.1)",
    quit: "221 {host}",
    timeout: "451 timeout (#4.4.2)",
    max_tls: Tls12,
};

static COURIER: Dialect = Dialect {
    greeting: &["220 {host} ESMTP"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Ok.",
    ehlo: &[
        "AUTH LOGIN PLAIN",
        "XVERP=Courier",
        "XEXDATA",
        "XSECURITY=NONE,STARTTLS",
        "PIPELINING",
        "8BITMIME",
        "SIZE",
        "DSN",
        "STARTTLS",
    ],
    ehlo_tls: &[
        "AUTH LOGIN PLAIN",
        "XVERP=Courier",
        "XEXDATA",
        "XSECURITY=NONE,STARTTLS",
        "PIPELINING",
        "8BITMIME",
        "SIZE",
        "DSN",
    ],
    helo: "{host} Ok.",
    starttls: "220 Ok",
    help: &["214 Ok"],
    noop: "250 Ok",
    unknown: "502 ESMTP command error",
    quit: "221 Bye.",
    timeout: "421 {host} Timeout.",
    max_tls: Tls13,
};

static KERIO: Dialect = Dialect {
    greeting: &["220 {host} Kerio Connect 9.2.12 patch 1 ESMTP ready"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &[
        "AUTH CRAM-MD5 PLAIN LOGIN DIGEST-MD5",
        "SIZE 20971520",
        "DSN",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "PIPELINING",
    ],
    ehlo_tls: &[
        "AUTH CRAM-MD5 PLAIN LOGIN DIGEST-MD5",
        "SIZE 20971520",
        "DSN",
        "ETRN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "PIPELINING",
    ],
    helo: "{host}",
    starttls: "220 2.0.0 Ready to start TLS",
    help: &["214 2.0.0 See RFC 5321"],
    noop: "250 2.0.0 OK",
    unknown: "500 5.5.1 Unrecognized command",
    quit: "221 2.0.0 SMTP closing connection",
    timeout: "421 4.4.2 {host} Idle timeout, closing connection",
    max_tls: Tls12,
};

static HMAILSERVER: Dialect = Dialect {
    greeting: &["220 {host} ESMTP"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &["SIZE 20480000", "AUTH LOGIN", "STARTTLS", "HELP"],
    ehlo_tls: &["SIZE 20480000", "AUTH LOGIN PLAIN", "HELP"],
    helo: "Hello.",
    starttls: "220 Ready to start TLS",
    help: &["211 DATA HELO EHLO MAIL NOOP QUIT RCPT RSET SAML TURN VRFY"],
    noop: "250 OK",
    unknown: "502 Unimplemented command.",
    quit: "221 goodbye",
    timeout: "421 Connection timeout.",
    max_tls: Tls12,
};

static HARAKA: Dialect = Dialect {
    greeting: &["220 {host} ESMTP Haraka/2.8.28 ready"],
    date_style: DateStyle::Rfc5322,
    hello: "{host} Hello {helo} [{client}], Haraka is at your service.",
    ehlo: &["PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 0", "STARTTLS"],
    ehlo_tls: &[
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "SIZE 0",
        "AUTH PLAIN LOGIN",
    ],
    helo: "{host} Hello {helo} [{client}], Haraka is at your service.",
    starttls: "220 Go ahead.",
    help: &["500 5.5.1 Unrecognized command"],
    noop: "250 OK",
    unknown: "500 5.5.1 Unrecognized command",
    quit: "221 2.0.0 {host} closing connection. Have a jolly good day.",
    timeout: "421 timeout",
    max_tls: Tls13,
};

static CISCO_ESA: Dialect = Dialect {
    greeting: &["220 {host} ESMTP"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &["8BITMIME", "SIZE 10485760", "STARTTLS"],
    ehlo_tls: &["8BITMIME", "SIZE 10485760"],
    helo: "{host}",
    starttls: "220 Go ahead with TLS",
    help: &["500 #5.5.1 command not recognized"],
    noop: "250 OK",
    unknown: "500 #5.5.1 command not recognized",
    quit: "221 {host} closing connection",
    timeout: "421 Timeout waiting for command",
    max_tls: Tls12,
};

/// An old server that knows HELO only (hostile persona "EHLO answered 500").
static HELO_ONLY: Dialect = Dialect {
    greeting: &["220 {host} SMTP Server ready"],
    date_style: DateStyle::Rfc5322,
    hello: "{host}",
    ehlo: &[],
    ehlo_tls: &[],
    helo: "{host} Hello [{client}]",
    starttls: "500 Syntax error, command unrecognized",
    help: &[
        "214-Commands:",
        "214 HELO MAIL RCPT DATA RSET NOOP QUIT HELP",
    ],
    noop: "250 OK",
    unknown: "500 Syntax error, command unrecognized",
    quit: "221 {host} Service closing transmission channel",
    timeout: "421 {host} Timeout",
    max_tls: Tls12,
};

static REFUSE_421: Dialect = Dialect {
    greeting: &["421 4.3.2 {host} Service not available, closing transmission channel"],
    ..HELO_ONLY
};

static REFUSE_554: Dialect = Dialect {
    greeting: &["554 5.7.1 {host} ESMTP not accepting messages"],
    unknown: "503 5.5.1 Bad sequence of commands",
    quit: "221 2.0.0 {host} closing connection",
    ..HELO_ONLY
};

const fn realistic(
    name: &'static str,
    software: &'static str,
    family: Option<&'static str>,
    version: Option<&'static str>,
    source: Option<FingerprintSource>,
    dialect: &'static Dialect,
) -> Persona {
    Persona {
        name,
        software,
        family,
        version,
        source,
        dialect: Some(dialect),
        hostile: None,
    }
}

const fn hostile(
    name: &'static str,
    software: &'static str,
    kind: Hostile,
    dialect: Option<&'static Dialect>,
    family: Option<&'static str>,
    version: Option<&'static str>,
) -> Persona {
    Persona {
        name,
        software,
        family,
        version,
        source: if family.is_some() { Some(Banner) } else { None },
        dialect,
        hostile: Some(kind),
    }
}

/// Number of realistic personas (they come first in [`PERSONAS`]).
pub(super) const REALISTIC: usize = 28;

/// Every persona: the realistic ones first, then the hostile ones.
pub(super) static PERSONAS: [Persona; REALISTIC + 11] = [
    realistic(
        "postfix-debian",
        "Postfix on Debian",
        Some("Postfix"),
        None,
        Some(Banner),
        &POSTFIX_DEBIAN,
    ),
    realistic(
        "postfix-ubuntu",
        "Postfix on Ubuntu",
        Some("Postfix"),
        None,
        Some(Banner),
        &POSTFIX_UBUNTU,
    ),
    realistic(
        "postfix-3.4.13",
        "Postfix 3.4.13 with its version in the banner",
        Some("Postfix"),
        Some("3.4.13"),
        Some(Banner),
        &POSTFIX_VERSIONED,
    ),
    realistic(
        "exim-4.89",
        "Exim 4.89 (Debian 9)",
        Some("exim"),
        Some("4.89"),
        Some(Banner),
        &EXIM_4_89,
    ),
    realistic(
        "exim-4.90-ubuntu",
        "Exim 4.90_1 (Ubuntu 18.04)",
        Some("exim"),
        Some("4.90_1"),
        Some(Banner),
        &EXIM_4_90_UBUNTU,
    ),
    realistic(
        "exim-4.91-cpanel",
        "Exim 4.91 on cPanel (multi-line greeting)",
        Some("exim"),
        Some("4.91"),
        Some(Banner),
        &EXIM_4_91_CPANEL,
    ),
    realistic(
        "exim-4.92",
        "Exim 4.92 (Debian 10)",
        Some("exim"),
        Some("4.92"),
        Some(Banner),
        &EXIM_4_92,
    ),
    realistic(
        "exim-4.94.2",
        "Exim 4.94.2 (Debian 11)",
        Some("exim"),
        Some("4.94.2"),
        Some(Banner),
        &EXIM_4_94_2,
    ),
    realistic(
        "exim-4.96",
        "Exim 4.96 (Debian 12)",
        Some("exim"),
        Some("4.96"),
        Some(Banner),
        &EXIM_4_96,
    ),
    realistic(
        "exchange-2013",
        "Microsoft Exchange Server 2013",
        Some("Exchange Server"),
        None,
        Some(Banner),
        &EXCHANGE_2013,
    ),
    realistic(
        "exchange-2016",
        "Microsoft Exchange Server 2016",
        Some("Exchange Server"),
        None,
        Some(Banner),
        &EXCHANGE_2016,
    ),
    realistic(
        "exchange-2019",
        "Microsoft Exchange Server 2019",
        Some("Exchange Server"),
        None,
        Some(Banner),
        &EXCHANGE_2019,
    ),
    realistic(
        "iis-10",
        "Microsoft IIS SMTP on Windows Server 2019",
        Some("IIS"),
        Some("10.0.17763.1"),
        Some(Banner),
        &IIS_10,
    ),
    realistic(
        "iis-6",
        "Microsoft IIS 6 SMTP on Windows Server 2003",
        Some("IIS"),
        Some("6.0.3790.4675"),
        Some(Banner),
        &IIS_6,
    ),
    realistic(
        "sendmail-8.15.2-debian",
        "Sendmail 8.15.2 (Debian 10)",
        Some("Sendmail"),
        Some("8.15.2"),
        Some(Banner),
        &SENDMAIL_DEBIAN,
    ),
    realistic(
        "sendmail-8.14.7",
        "Sendmail 8.14.7 (CentOS 7)",
        Some("Sendmail"),
        Some("8.14.7"),
        Some(Banner),
        &SENDMAIL_8_14,
    ),
    realistic(
        "mdaemon-19.5.2",
        "MDaemon 19.5.2",
        Some("MDaemon"),
        Some("19.5.2"),
        Some(Banner),
        &MDAEMON,
    ),
    realistic(
        "opensmtpd",
        "OpenSMTPD",
        Some("OpenSMTPD"),
        None,
        Some(Banner),
        &OPENSMTPD,
    ),
    realistic(
        "ibm-domino-9.0.1",
        "IBM Domino 9.0.1 FP10",
        Some("IBM Domino"),
        Some("9.0.1FP10"),
        Some(Banner),
        &IBM_DOMINO,
    ),
    realistic(
        "lotus-domino-8.5.3",
        "Lotus Domino 8.5.3 FP6",
        Some("Lotus Domino"),
        Some("8.5.3FP6"),
        Some(Banner),
        &LOTUS_DOMINO,
    ),
    realistic(
        "ecelerity-4.2",
        "Message Systems Ecelerity 4.2.1",
        Some("Ecelerity Mail Server"),
        Some("4.2.1.55028"),
        Some(Banner),
        &ECELERITY,
    ),
    realistic(
        "qmail",
        "netqmail 1.06 (recognisable by its HELP reply)",
        Some("qmail"),
        None,
        Some(Help),
        &QMAIL,
    ),
    realistic(
        "courier",
        "Courier MTA (recognisable by its EHLO reply)",
        Some("Courier"),
        None,
        Some(Ehlo),
        &COURIER,
    ),
    realistic(
        "zimbra",
        "Zimbra Collaboration",
        Some("Zimbra"),
        None,
        Some(Banner),
        &ZIMBRA,
    ),
    realistic(
        "kerio-connect-9.2.12",
        "Kerio Connect 9.2.12 patch 1",
        Some("Connect"),
        Some("9.2.12"),
        Some(Banner),
        &KERIO,
    ),
    realistic(
        "hmailserver",
        "hMailServer 5.6 (recognisable by its HELP reply)",
        Some("hMailServer"),
        None,
        Some(Help),
        &HMAILSERVER,
    ),
    realistic(
        "haraka-2.8.28",
        "Haraka 2.8.28",
        Some("Haraka"),
        Some("2.8.28"),
        Some(Banner),
        &HARAKA,
    ),
    realistic(
        "cisco-esa",
        "Cisco Secure Email Gateway (IronPort) with an anonymous banner",
        None,
        None,
        None,
        &CISCO_ESA,
    ),
    hostile(
        "hostile-silent",
        "accepts, then never says anything",
        Hostile::Silent,
        None,
        None,
        None,
    ),
    hostile(
        "hostile-drip",
        "sends its greeting one byte per second, never finishing it",
        Hostile::Drip,
        None,
        None,
        None,
    ),
    hostile(
        "hostile-endless-greeting",
        "sends 220- continuation lines without end",
        Hostile::Endless,
        None,
        None,
        None,
    ),
    hostile(
        "hostile-garbage",
        "answers with binary garbage",
        Hostile::Garbage,
        None,
        None,
        None,
    ),
    hostile(
        "hostile-reset",
        "greets, then resets the connection (RST) on the first command",
        Hostile::ResetAfterGreeting,
        Some(&POSTFIX_DEBIAN),
        Some("Postfix"),
        None,
    ),
    hostile(
        "hostile-greeting-421",
        "greets with 421 and closes",
        Hostile::Greeting421,
        Some(&REFUSE_421),
        None,
        None,
    ),
    hostile(
        "hostile-greeting-554",
        "greets with 554 and answers 503 to everything but QUIT",
        Hostile::Greeting554,
        Some(&REFUSE_554),
        None,
        None,
    ),
    hostile(
        "hostile-ehlo-500",
        "answers EHLO with 500, so the client must fall back to HELO",
        Hostile::Ehlo500,
        Some(&HELO_ONLY),
        None,
        None,
    ),
    hostile(
        "hostile-tls-garbage",
        "sends random non-TLS bytes instead of a TLS handshake",
        Hostile::TlsGarbage,
        Some(&CISCO_ESA),
        None,
        None,
    ),
    hostile(
        "hostile-tls10-only",
        "speaks only TLS 1.0 (answers a ClientHello with a TLS 1.0 ServerHello)",
        Hostile::Tls10Only,
        Some(&IIS_6_TLS10),
        Some("IIS"),
        Some("6.0.3790.3959"),
    ),
    hostile(
        "hostile-starttls-454",
        "advertises STARTTLS but answers it with 454",
        Hostile::StartTls454,
        Some(&POSTFIX_UBUNTU),
        Some("Postfix"),
        None,
    ),
];
