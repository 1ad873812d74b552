"""An SMTP server on loopback (aiosmtpd) that records what arrives, as a relay would.

It speaks real SMTP: EHLO, STARTTLS (when given a certificate), AUTH (when
given a login), MAIL, RCPT, DATA. answer(count) picks the reply to the
count-th message's DATA ("250 OK", "451 4.3.0 ...", "550 5.1.1 ..."), so
temporary and permanent failures reach smtplib as a real server sends them.
"""

import asyncio
import re
import ssl
import threading
from email import message_from_bytes, policy
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from testing.servers import free_port, wait_until

LINK = re.compile(r"https?://\S+")


class Received(NamedTuple):
    sender: str
    recipients: list
    message: object  # email.message.EmailMessage
    reply: str
    tls: bool  # it came over a TLS connection (STARTTLS)
    login: str | None  # the user name it authenticated as

    @property
    def accepted(self):
        return self.reply.startswith("2")

    @property
    def text(self):
        return self.message.get_body(("plain",)).get_content()

    def links(self):
        return LINK.findall(self.text)


class MailServer:
    """An SMTP server on 127.0.0.1; received lists every DATA, in order."""

    def __init__(self, answer=None, delay=0.0, certificate=None, login=None):
        self.answer = answer or (lambda count: "250 OK")
        self.delay = delay
        self.received = []
        self._lock = threading.Lock()
        self._count = 0
        self.port = free_port()
        options = {}
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            options["tls_context"] = context
        if login is not None:
            options["auth_required"] = True
            options["authenticator"] = _authenticator(*login)
            options["auth_exclude_mechanism"] = ["LOGIN"]  # PLAIN only
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **options
        )
        self.controller.start()

    def url(self, host="127.0.0.1", scheme="smtp", login=""):
        return f"{scheme}://{login}{host}:{self.port}"

    def accepted(self, to=None):
        """Messages answered 2xx (to one address, if given), in arrival order."""
        with self._lock:
            return [
                r
                for r in self.received
                if r.accepted and (to is None or to in r.recipients)
            ]

    def wait_for(self, count, to=None, timeout=30):
        wait_until(lambda: len(self.accepted(to)) >= count, timeout, 0.05, "emails")
        return self.accepted(to)

    def stop(self):
        """Stop listening (again is fine: a test may stop it early)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        server = self.server
        with server._lock:
            server._count += 1
            count = server._count
        if server.delay:
            await asyncio.sleep(server.delay)
        reply = server.answer(count)
        login = session.auth_data
        received = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            message_from_bytes(envelope.content, policy=policy.default),
            reply,
            session.ssl is not None,
            login.decode() if isinstance(login, bytes) else login,
        )
        with server._lock:
            server.received.append(received)
        return reply


def _authenticator(username, password):
    def check(server, session, envelope, mechanism, data):
        ok = data.login.decode() == username and data.password.decode() == password
        if not ok:  # handled=False: the server answers 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=data.login)

    return check


def token_of(link):
    """The token of a web client link such as .../app/#/verify-email?token=..."""
    fragment = urlsplit(link).fragment
    return parse_qs(fragment.partition("?")[2])["token"][0]


def verified_account(client, mail_server, username, time_zone="UTC"):
    """Register on an app that sends to mail_server, follow the link, log in."""
    from testing.accounts import PASSWORD, Account

    address = f"{username}@example.com"
    body = {"username": username, "email": address, "password": PASSWORD}
    created = client.post("/api/v1/auth/register", json=dict(body, time_zone=time_zone))
    assert created.status_code == 201, created.json
    (message,) = mail_server.wait_for(1, to=address)
    (link,) = [url for url in message.links() if "verify-email" in url]
    verified = client.post("/api/v1/auth/verify-email", json={"token": token_of(link)})
    assert verified.status_code == 204, verified.json
    tokens = client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    return Account(client, dict(created.json, email_verified=True), tokens.json)
