"""Outgoing requests (SSRF): which addresses are refused, and one attempt's limits."""

import http.server
import ipaddress
import socket
import ssl
import threading
import time

import pytest

from myapp.alerts import webhooks
from testing.tls import localhost_certificate

LOOPBACK_OR_PRIVATE = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("100.64.0.1", "a private address"),
    ("fd00::1", "a private address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("2002:7f00:1::1", "a loopback address"),  # 6to4 of 127.0.0.1
    ("64:ff9b::7f00:1", "a loopback address"),  # NAT64 of 127.0.0.1
]
NEVER = [
    ("169.254.169.254", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),  # in fc00::/7, never allowed
    ("100.100.100.200", "a cloud metadata address"),  # in 100.64/10, never allowed
    ("192.0.0.192", "a cloud metadata address"),
    ("169.254.0.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%lo", "a link-local address"),
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("2002:a9fe:a9fe::", "a cloud metadata address"),  # 6to4 of 169.254.169.254
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of the same
    ("::ffff:169.254.0.1", "a link-local address"),
    ("64:ff9b:1::1", "a NAT64 local-use address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("0.1.2.3", "a reserved address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("192.0.2.1", "a reserved address"),  # documentation
    ("198.18.0.1", "a reserved address"),  # benchmarking
    ("2001:db8::1", "a reserved address"),
    # Python 3.11.7's is_global took these for public: the contract's list does not.
    ("192.0.0.8", "a reserved address"),
    ("fec0::1", "a reserved address"),
    ("3fff::1", "a reserved address"),
    ("100::1", "a reserved address"),
    ("2001:2::1", "a reserved address"),
    ("192.88.99.1", "a reserved address"),
    ("198.51.100.7", "a reserved address"),
    ("203.0.113.9", "a reserved address"),
    ("::ffff:192.0.2.1", "a reserved address"),
]
# The contract's refused ranges, each by its first and last address.
REFUSED_RANGES = [
    "0.0.0.0/8",
    "169.254.0.0/16",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "3fff::/20",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]
ALLOWABLE_RANGES = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2001:4860:4860::8888",  # just past 2001::/23
    "192.0.1.1",
    "198.20.0.1",
    "4000::1",  # past 3fff::/20
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address, reason", LOOPBACK_OR_PRIVATE)
def test_loopback_and_private_addresses_are_refused_unless_allowed(address, reason):
    assert webhooks.refusal(address, allow_private=False) == reason
    assert webhooks.refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address, reason", NEVER)
def test_link_local_multicast_and_reserved_addresses_are_always_refused(
    address, reason
):
    assert webhooks.refusal(address, allow_private=False) == reason
    assert webhooks.refusal(address, allow_private=True) == reason


@pytest.mark.parametrize("network", REFUSED_RANGES)
def test_every_enumerated_range_is_refused_end_to_end(network):
    """The contract's list, not Python's is_global tables (old on 3.11.7)."""
    for ip in (ipaddress.ip_network(network)[0], ipaddress.ip_network(network)[-1]):
        for allow_private in (False, True):
            assert webhooks.refusal(str(ip), allow_private=allow_private), ip
    if ipaddress.ip_network(network).version == 4:
        mapped = f"::ffff:{ipaddress.ip_network(network)[-1]}"
        assert webhooks.refusal(mapped, allow_private=True), mapped


@pytest.mark.parametrize("network", ALLOWABLE_RANGES)
def test_loopback_and_private_ranges_are_refused_end_to_end_unless_allowed(network):
    for ip in (ipaddress.ip_network(network)[0], ipaddress.ip_network(network)[-1]):
        assert webhooks.refusal(str(ip), allow_private=False), ip
        metadata = str(ip) in ("100.100.100.200",)
        assert (webhooks.refusal(str(ip), allow_private=True) is None) != metadata


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert webhooks.refusal(address, allow_private=False) is None


@pytest.mark.parametrize(
    "url, target",
    [
        ("https://example.com", ("https", "example.com", 443, "/")),
        (
            "https://Example.COM:8443/a/b?x=1#frag",
            ("https", "example.com", 8443, "/a/b?x=1"),
        ),
        ("http://[::1]:8080/h", ("http", "::1", 8080, "/h")),
    ],
)
def test_a_url_names_scheme_host_port_and_path(url, target):
    assert webhooks.parse_url(url, allow_http=True) == target


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "https://a@example.com/",
        "https://:pw@example.com/",
        "https://example.com:99999/",
        "https://example.com/\u00e9",
        "https://exa\tmple.com/",
        "javascript:alert(1)",
        "//example.com/",
    ],
)
def test_urls_that_are_never_used(url):
    with pytest.raises(webhooks.Refused):
        webhooks.parse_url(url, allow_http=False)


RESOLVING = webhooks.Resolving(owner=1, share=2, deadline=2)


def deliver(url, **options):
    settings = {
        "allow_http": True,
        "allow_private": True,
        "timeout": 2,
        "resolving": RESOLVING,
        **options,
    }
    headers = {"User-Agent": webhooks.USER_AGENT, "Content-Type": "application/json"}
    return webhooks.deliver(url, body="{}", headers=headers, **settings)


def test_the_name_is_looked_up_once_and_the_checked_address_is_used(
    receiver, monkeypatch
):
    """A second lookup at connect time would undo the check (DNS rebinding)."""
    looked_up = []
    real = socket.getaddrinfo

    def spy(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(webhooks, "getaddrinfo", spy)
    monkeypatch.setattr(socket, "getaddrinfo", spy)
    outcome = deliver(f"http://localhost:{receiver.port}/hook")
    assert outcome == webhooks.Outcome(200, None)
    names = [host for host in looked_up if not _is_address(host)]
    assert names == ["localhost"]
    assert len(receiver.arrivals) == 1


def _is_address(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def test_a_slow_receiver_is_cut_off_at_the_timeout():
    """The receiver never answers; the sender hangs up at its timeout first."""
    server = socket.create_server(("127.0.0.1", 0))
    hung_up = []

    def never_answer():
        conn, _ = server.accept()
        conn.settimeout(60)
        try:
            while conn.recv(65536):  # the request, then b"": the sender closed
                pass
            hung_up.append(True)
        except OSError:
            hung_up.append(False)
        conn.close()

    thread = threading.Thread(target=never_answer, daemon=True)
    thread.start()
    outcome = deliver(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=1)
    thread.join(60)
    server.close()
    assert outcome == webhooks.Outcome(None, "timed out after 1 s")
    assert hung_up == [True]


def test_a_receiver_that_drips_forever_is_cut_off_too():
    """A byte every 0.2 s never trips a socket timeout; the deadline still holds."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            time.sleep(0.2)
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    outcome = deliver(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=1)
    stop.set()
    server.close()
    assert outcome.status_code is None and "timed out" in outcome.error
    assert time.monotonic() - started >= 1  # the deadline, not a socket timeout


def test_a_huge_answer_is_not_read_to_the_end():
    server = socket.create_server(("127.0.0.1", 0))
    sent = []

    def flood():
        conn, _ = server.accept()
        conn.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n"
        total = 0
        try:
            conn.sendall(head)
            while total < 10**9:
                conn.sendall(b"x" * 65536)
                total += 65536
        except OSError:
            pass
        sent.append(total)
        conn.close()

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    outcome = deliver(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=2)
    thread.join(5)
    server.close()
    # 200, not a timeout: the body was not read to its end within the 2 s.
    assert outcome == webhooks.Outcome(200, None)
    assert sent and sent[0] < 64 * 1024 * 1024  # the socket closed long before


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for the name localhost only (and its key)."""
    return localhost_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_receiver(certificate):
    """An HTTPS receiver on 127.0.0.1 that records the name each client asked for."""
    names = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], names
    server.shutdown()
    server.server_close()


def test_tls_verifies_the_host_name_while_connecting_to_the_checked_address(
    certificate, tls_receiver
):
    port, names = tls_receiver
    cert, _ = certificate
    assert deliver(f"https://localhost:{port}/", ca_file=cert) == (204, None)
    assert names == ["localhost"]
    wrong_name = deliver(f"https://127.0.0.1:{port}/", ca_file=cert)
    assert wrong_name.status_code is None and "127.0.0.1" in wrong_name.error
    untrusted = deliver(f"https://localhost:{port}/")
    assert untrusted.status_code is None
    assert "certificate verify failed" in untrusted.error
