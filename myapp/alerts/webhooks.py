"""Outgoing webhooks, safely (OWASP API7, SSRF): URL and address checks, one POST.

A URL is checked when a rule is written and again at every attempt: https
(http only where allowed), no user info, and every address its host resolves
to public. The attempt then connects to an address it checked, never looking
the name up again, while TLS still verifies the certificate for the host name
(urllib3's server_hostname and assert_hostname). No redirect is followed (a
3xx is just a failed attempt), no proxy is used, the whole attempt has one
deadline and at most MAX_ANSWER_BYTES of the answer are read.
"""

import concurrent.futures
import ipaddress
import socket
import threading
import time
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from standardwebhooks.webhooks import Webhook

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "myapp-webhooks/1.0"
# Allowed only with WEBHOOK_ALLOW_PRIVATE (loopback is allowed then too).
PRIVATE_NETWORKS = [
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    + ("100.64.0.0/10", "fc00::/7")
]
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# getaddrinfo cannot be interrupted: lookups run here and are waited for with a limit.
_resolver = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="resolve")


class Refused(ValueError):
    """A URL or address that is never contacted; the message says why."""


class Target(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str  # with the query, as sent in the request line


class Outcome(NamedTuple):
    status_code: int | None
    error: str | None

    @property
    def delivered(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_url(url, *, allow_http):
    """The Target of a webhook URL, or Refused."""
    if any(not 0x20 < ord(c) < 0x7F for c in url):
        raise Refused(
            "must be ASCII without spaces or control characters "
            "(write international host names in punycode)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("is not a valid URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise Refused("must start with " + " or ".join(f"{s}://" for s in schemes))
    if "@" in parts.netloc:
        raise Refused("must not carry user info (name:password@)")
    if not parts.hostname:
        raise Refused("has no host")
    default_port = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or default_port, path)


def refusal(address, *, allow_private):
    """Why a connection to address (text) is refused, or None if it is allowed."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        if ip in NAT64_LOCAL:
            return "a NAT64 local-use address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return refusal(str(inner), allow_private=allow_private)
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if any(ip in network for network in PRIVATE_NETWORKS):
        return None if allow_private else "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def _embedded_ipv4(ip):
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def resolve(target, *, allow_private, timeout):
    """Every address target's host resolves to, all allowed; else Refused."""
    lookup = _resolver.submit(
        socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM
    )
    try:
        found = lookup.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise Refused("the host name did not resolve in time") from None
    except (socket.gaierror, UnicodeError):
        raise Refused("the host name does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason:
            raise Refused(f"the host resolves to {reason}")
    if not addresses:
        raise Refused("the host name does not resolve")
    return addresses


def check_url(url, *, allow_http, allow_private, timeout):
    """Refused unless url may receive webhooks now (the write-time check)."""
    target = parse_url(url, allow_http=allow_http)
    resolve(target, allow_private=allow_private, timeout=timeout)


def signed_headers(*, secret, message_id, body, now):
    """Standard Webhooks headers for body (text) sent at now (epoch seconds)."""
    sent_at = datetime.fromtimestamp(int(now), timezone.utc)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def deliver(url, *, body, headers, allow_http, allow_private, timeout, ca_file=None):
    """One attempt: check url and its addresses now, then POST; an Outcome."""
    try:
        target = parse_url(url, allow_http=allow_http)
        addresses = resolve(target, allow_private=allow_private, timeout=timeout)
    except Refused as refused:
        return Outcome(None, f"refused: {refused}")
    started = time.monotonic()
    connection, error = _connect(target, addresses, timeout, ca_file)
    if connection is None:
        return Outcome(None, _describe(error, timeout))
    remaining = timeout - (time.monotonic() - started)
    expired = threading.Event()
    deadline = threading.Timer(max(remaining, 0.001), _cut, [connection, expired])
    deadline.start()
    try:
        connection.request(
            "POST",
            target.path,
            body=body.encode(),
            headers={**headers, "Host": _host_header(target)},
            preload_content=False,
        )
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        outcome = Outcome(answer.status, None)
    except Exception as error:  # every failure of the exchange is a failed attempt
        outcome = Outcome(None, _describe(error, timeout))
    finally:
        deadline.cancel()
        connection.close()
    # Cut short, even what looked like an answer is not one (headers half read).
    return (
        Outcome(None, f"timed out after {timeout:g} s") if expired.is_set() else outcome
    )


def _connect(target, addresses, timeout, ca_file):
    """(connection, None) to the first checked address that answers, or (None, why).

    Only these addresses are tried, never a new lookup; TLS verifies target.host.
    """
    started = time.monotonic()
    error = None
    for address in addresses:
        if target.scheme == "https":
            connection = urllib3.connection.HTTPSConnection(
                address,
                target.port,
                timeout=timeout,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_file,
            )
        else:
            connection = urllib3.connection.HTTPConnection(
                address, target.port, timeout=timeout
            )
        try:
            connection.connect()
            return connection, None
        except (NewConnectionError, ConnectTimeoutError) as failed:
            error = failed
        except Exception as failed:  # TLS: a bad certificate is final
            connection.close()
            return None, failed
        connection.close()
        if time.monotonic() - started >= timeout:
            break
    return None, error


def _host_header(target):
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


def _cut(connection, expired):
    """At the deadline: wake whatever read or write the attempt is blocked in."""
    expired.set()
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _describe(error, timeout):
    """A short reason for the rule's owner, without our internals."""
    while error.__context__ is not None and isinstance(
        error, urllib3.exceptions.HTTPError
    ):
        error = error.__context__
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"timed out after {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    text = f"{type(error).__name__}: {error}"
    return text[:200]
