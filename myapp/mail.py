"""Email through the operator's SMTP server (MYAPP_SMTP_URL), with smtplib.

smtp://[user:pass@]host[:port] (25 by default) upgrades with STARTTLS when the
server offers it; smtps:// (465) speaks TLS from the start. Certificates are
verified against the system's CA bundle (or SMTP_CA_FILE). send() never raises
for the server's or the network's failures: it says what happened, and
whether trying again later could help (a 5xx reply is permanent).
"""

import smtplib
import ssl
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

PORTS = {"smtp": 25, "smtps": 465}
ERROR_MAX = 200  # what an attempt's error column holds


class Smtp(NamedTuple):
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


class Sent(NamedTuple):
    """status_code: the server's reply code (250 when accepted), None without one."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self):
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def permanent(self):
        return self.status_code is not None and self.status_code >= 500


def parse_smtp_url(url):
    """The Smtp of a MYAPP_SMTP_URL, or ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in PORTS:
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("names no host")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Smtp(parts.scheme, parts.hostname, port, username, password)


def configured(config):
    """Whether the operator set up email (MYAPP_SMTP_URL)."""
    return bool(config.get("SMTP_URL"))


def one_line(text):
    """text with control characters (and line or paragraph separators) as spaces."""
    return "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    )


def message(config, *, to, subject, body, headers=()):
    """A plain-text message from MAIL_FROM to `to`, dated now."""
    built = EmailMessage()
    built["From"] = config["MAIL_FROM"]
    built["To"] = to
    built["Subject"] = one_line(subject)
    built["Date"] = formatdate(localtime=False, usegmt=True)
    for name, value in headers:
        built[name] = value
    built.set_content(body)
    return built


def send(config, built):
    """Hand the message to the SMTP server: a Sent, never an exception."""
    server = parse_smtp_url(config["SMTP_URL"])
    context = ssl.create_default_context(cafile=config.get("SMTP_CA_FILE"))
    timeout = config["SMTP_TIMEOUT"]
    try:
        if server.scheme == "smtps":
            connection = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout, context=context
            )
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with connection:
            connection.ehlo()
            if server.scheme == "smtp" and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
            connection.send_message(built)
        return Sent(250, None)
    except smtplib.SMTPRecipientsRefused as refused:
        code, reply = next(iter(refused.recipients.values()))
        return Sent(code, _said(code, reply))
    except smtplib.SMTPResponseException as error:
        return Sent(error.smtp_code, _said(error.smtp_code, error.smtp_error))
    except (smtplib.SMTPException, OSError) as error:
        # No connection, TLS refused, timed out, cut off: try again later.
        return Sent(None, f"no answer from the mail server: {error}"[:ERROR_MAX])


def _said(code, reply):
    """The server's reply as one line, for the attempt's error."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return one_line(f"{code} {reply}")[:ERROR_MAX]
