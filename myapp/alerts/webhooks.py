"""Outgoing webhooks, safely (OWASP API7, SSRF): URL and address checks, one POST.

A URL is checked when a rule is written and again at every attempt: https
(http only where allowed), no user info, and every address its host resolves
to allowed (the contract's ranges; one refused address refuses the URL). The
name lookup has its own deadline and a share per user (Lookups). The attempt
then connects to an address it checked, never looking
the name up again, while TLS still verifies the certificate for the host name
(urllib3's server_hostname and assert_hostname). No redirect is followed (a
3xx is just a failed attempt), no proxy is used, the whole attempt has one
deadline and at most MAX_ANSWER_BYTES of the answer are read.
"""

import ipaddress
import socket
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from standardwebhooks.webhooks import Webhook

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "myapp-webhooks/1.0"


def _networks(reason, *networks):
    return [(ipaddress.ip_network(network), reason) for network in networks]


# The contract's enumerated ranges, checked in this order, whatever Python's
# is_global tables say (they lag: 3.11.7 took 192.0.0.192 and 3fff::1 as global).
# Metadata addresses first: refused even where private ranges are allowed.
METADATA = _networks(
    "a cloud metadata address",
    "169.254.169.254/32",
    "fd00:ec2::254/128",
    "100.100.100.200/32",
    "192.0.0.192/32",
)
# Allowed only with WEBHOOK_ALLOW_PRIVATE.
ALLOWABLE = _networks("a loopback address", "127.0.0.0/8", "::1/128") + _networks(
    "a private address",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
)
NEVER = (
    _networks("an unspecified address", "0.0.0.0/32", "::/128")
    + _networks("a link-local address", "169.254.0.0/16", "fe80::/10")
    + _networks("a multicast address", "224.0.0.0/4", "ff00::/8")
    + _networks("a NAT64 local-use address", "64:ff9b:1::/48")
    + _networks(
        "a reserved address",
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "fec0::/10",
    )
)
# IPv6 ranges whose last (6to4: second and third) 32 bits are checked as IPv4.
MAPPED = ipaddress.ip_network("::ffff:0:0/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
# At most this many name lookups under way in a process, all owners together.
MAX_LOOKUPS = 64
# How names are looked up (a module attribute, so tests can answer for a host).
getaddrinfo = socket.getaddrinfo


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
        ip = ip.__class__(ip.compressed.split("%")[0])  # without a scope id
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return refusal(str(inner), allow_private=allow_private)
    for network, reason in METADATA + NEVER:
        if ip.version == network.version and ip in network:
            return reason
    for network, reason in ALLOWABLE:
        if ip.version == network.version and ip in network:
            return None if allow_private else reason
    return None


def _embedded_ipv4(ip):
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if ip in MAPPED or ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


class Lookups:
    """Name lookups with a deadline each and a share per owner (a user).

    getaddrinfo cannot be interrupted: each lookup runs in a thread of its own
    and is waited for until the deadline. A lookup given up on still counts
    against its owner's share until it returns, so one user's slow DNS server
    ties up only that user's share, never another user's lookups. Waiting for
    a free place in the share is part of the deadline.
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._under_way = Counter()  # per owner
        self._total = 0

    def resolve(self, host, port, *, owner, share, deadline):
        """getaddrinfo's answer for host, or Refused by the deadline (seconds)."""
        ends = time.monotonic() + deadline
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._under_way[owner] < share and self._total < MAX_LOOKUPS,
                timeout=deadline,
            ):
                raise Refused("the host name did not resolve in time")
            self._under_way[owner] += 1
            self._total += 1
        answer = {}
        done = threading.Event()
        thread = threading.Thread(
            target=self._look_up, args=(host, port, owner, answer, done), daemon=True
        )
        thread.start()
        if not done.wait(max(ends - time.monotonic(), 0)):
            raise Refused("the host name did not resolve in time")
        if "error" in answer:
            raise Refused("the host name does not resolve")
        return answer["found"]

    def _look_up(self, host, port, owner, answer, done):
        try:
            answer["found"] = getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            answer["error"] = error
        finally:
            with self._changed:
                self._under_way[owner] -= 1
                if not self._under_way[owner]:
                    del self._under_way[owner]
                self._total -= 1
                self._changed.notify_all()
            done.set()


_lookups = Lookups()


class Resolving(NamedTuple):
    """How to look a host up: whose lookup it is, its share and deadline."""

    owner: object
    share: int
    deadline: float


def resolve(target, *, allow_private, resolving):
    """Every address target's host resolves to, all allowed; else Refused.

    One refused address refuses the host: a name answering a public address
    and 169.254.169.254 must not reach the second on a retry.
    """
    found = _lookups.resolve(
        target.host,
        target.port,
        owner=resolving.owner,
        share=resolving.share,
        deadline=resolving.deadline,
    )
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason:
            raise Refused(f"the host resolves to {reason}")
    if not addresses:
        raise Refused("the host name does not resolve")
    return addresses


def check_url(url, *, allow_http, allow_private, resolving):
    """Refused unless url may receive webhooks now (the write-time check)."""
    target = parse_url(url, allow_http=allow_http)
    resolve(target, allow_private=allow_private, resolving=resolving)


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


def deliver(
    url, *, body, headers, allow_http, allow_private, timeout, resolving, ca_file=None
):
    """One attempt: check url and its addresses now, then POST; an Outcome."""
    try:
        target = parse_url(url, allow_http=allow_http)
        addresses = resolve(target, allow_private=allow_private, resolving=resolving)
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
