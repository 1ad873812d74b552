"""How uWSGI (and nginx in front of it) serve: connections, long streams, errors."""

import csv
import http.client
import io
import json
import socket
import time

from testing.http import Http
from testing.sockets import connection_of

READING = {"sensor": "keepalive", "data": {"n": 1}}


def test_one_kept_alive_connection_carries_many_posts(live_server, account):
    """http-socket closed after each answer without saying so: reuse got resets."""
    owner = account()
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    headers = {
        "Authorization": f"Bearer {owner.access_token}",
        "Content-Type": "application/json",
    }
    statuses, ports = [], set()
    try:
        for n in range(100):
            body = json.dumps(dict(READING, data={"n": n}))
            conn.request("POST", "/api/v1/readings/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            assert conn.sock is not None, f"the server closed after request {n}"
            ports.add(conn.sock.getsockname()[1])
    finally:
        conn.close()
    assert statuses == [201] * 100
    assert len(ports) == 1
    listed = owner.request("GET", "/api/v1/readings/?sensor=keepalive&limit=1000")
    assert len(listed.json["items"]) == 100


def test_bodies_up_to_the_limit_pass_the_router_whole(live_server, account):
    """Batches of 100 KiB to almost 1 MiB (the body limit) are stored whole
    through the router, whose buffers are smaller than any of them."""
    owner = account()
    for kib in (100, 300, 900):
        items = [{"sensor": f"big{kib}", "data": {"pad": "x" * 1010}}] * kib
        body = {"readings": items}
        assert kib * 1024 < len(json.dumps(body)) < 1024 * 1024
        answer = owner.request("POST", "/api/v1/readings/batch", body)
        assert answer.status == 201, answer.body[:300]
        listed = owner.request("GET", f"/api/v1/readings/?sensor=big{kib}&limit=1000")
        assert len(listed.json["items"]) == kib


ROWS = 20000


def test_an_export_longer_than_harakiri_is_whole_and_says_so(http, account, uwsgi):
    """uWSGI's harakiri cut a 200 export mid-file; now only a stalled one dies.

    One-row keyset batches make the export take several harakiri periods while
    every batch is quick (a stall of a whole period under CI load is not), as a
    big export is behind nginx or uWSGI's router, which buffer the answer.
    """
    owner = account()
    for batch in range(ROWS // 1000):
        items = [
            {"sensor": "bulk", "data": {"n": batch * 1000 + i}} for i in range(1000)
        ]
        stored = owner.request("POST", "/api/v1/readings/batch", {"readings": items})
        assert stored.status == 201, stored.body
    server = uwsgi({"MYAPP_HARAKIRI": "2", "MYAPP_READINGS_EXPORT_BATCH": "1"})
    started = time.monotonic()
    export = Http(server).request(
        "GET", "/api/v1/readings/export?format=csv", token=owner.access_token
    )
    seconds = time.monotonic() - started
    assert export.status == 200
    assert seconds > 4, "the export must outlast harakiri for this test to mean it"
    rows = list(csv.reader(io.StringIO(export.body.decode())))
    assert export.getheader("X-Total-Count") == str(ROWS)
    assert len(rows) == 1 + ROWS
    with open(server.log_path) as log:
        assert "HARAKIRI" not in log.read()


def test_the_routers_connections_send_without_waiting_for_acks(live_server):
    """Every connection uWSGI's HTTP router accepts has TCP_NODELAY: without it an
    answer over 4 KiB, relayed in 4 KiB writes, waits 40 ms for a delayed ACK."""
    client = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    client.request("GET", "/api/v1/swagger.json")
    answer = client.getresponse()
    assert answer.status == 200 and len(answer.read()) > 4096
    accepted = connection_of(live_server.router_pid(), client.sock.getsockname()[:2])
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        accepted.close()
        client.close()
