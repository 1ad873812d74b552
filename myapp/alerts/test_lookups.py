"""Name lookups of webhook hosts: every address checked, a deadline, a share per user.

A resolver here answers for made-up host names (webhooks.getaddrinfo is the
one seam); everything else is real: the app, its database, a loopback receiver.
"""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from myapp.alerts import webhooks
from testing.alerts import ALERTS, rule
from testing.accounts import bearer
from testing.servers import wait_until

REAL = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """dns[host] = [addresses] (or an Event to wait for); others resolve for real."""
    answers = {"asked": []}

    def getaddrinfo(host, port, *args, **kwargs):
        answers["asked"].append(host)
        answer = answers.get(host)
        if answer is None:
            return REAL(host, port, *args, **kwargs)
        if isinstance(answer, threading.Event):
            answer.wait(30)
            raise socket.gaierror("gave up")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, port))
            for a in answer
        ]

    monkeypatch.setattr(webhooks, "getaddrinfo", getaddrinfo)
    yield answers
    for answer in list(answers.values()):
        if isinstance(answer, threading.Event):
            answer.set()


MIXED = [
    ["8.8.8.8", "169.254.169.254"],
    ["169.254.169.254", "8.8.8.8"],
    ["8.8.8.8", "1.1.1.1", "10.0.0.1"],
    ["2606:4700:4700::1111", "fd00:ec2::254"],
]


@pytest.mark.parametrize("addresses", MIXED)
def test_one_refused_address_among_several_refuses_the_host(dns, addresses):
    """Found by breaking the code: a check of the first address only went unseen."""
    dns["several.example"] = addresses
    target = webhooks.parse_url("https://several.example/", allow_http=False)
    resolving = webhooks.Resolving(owner=1, share=2, deadline=2)
    with pytest.raises(webhooks.Refused, match="resolves to a"):
        webhooks.resolve(target, allow_private=False, resolving=resolving)


def test_post_and_patch_refuse_a_host_with_one_refused_address(dns, carol, new_rule):
    dns["public.example"] = ["127.0.0.1"]
    dns["several.example"] = ["127.0.0.1", "169.254.169.254"]
    refused = carol.post(ALERTS, json=rule(webhook_url="http://several.example/h"))
    assert refused.status_code == 400
    assert refused.json["errors"] == [
        {
            "pointer": "/webhook_url",
            "message": "the host resolves to a cloud metadata address",
        }
    ]
    made = new_rule(carol, rule(webhook_url="http://public.example/h"))
    patched = carol.patch(
        f"{ALERTS}{made['id']}", json={"webhook_url": "http://several.example/h"}
    )
    assert patched.status_code == 400
    assert patched.json["errors"][0]["pointer"] == "/webhook_url"
    assert carol.get(f"{ALERTS}{made['id']}").json["webhook_url"] == (
        "http://public.example/h"
    )


def test_a_delivery_to_a_host_with_one_refused_address_contacts_none(dns, receiver):
    dns["several.example"] = ["127.0.0.1", "169.254.169.254"]
    outcome = webhooks.deliver(
        f"http://several.example:{receiver.port}/hook",
        body="{}",
        headers={"Content-Type": "application/json"},
        allow_http=True,
        allow_private=True,
        timeout=2,
        resolving=webhooks.Resolving(owner=1, share=2, deadline=2),
    )
    assert outcome.error == "refused: the host resolves to a cloud metadata address"
    assert receiver.arrivals == []


def test_a_lookup_has_its_own_deadline(dns):
    dns["slow.example"] = threading.Event()
    target = webhooks.parse_url("https://slow.example/", allow_http=False)
    resolving = webhooks.Resolving(owner=1, share=2, deadline=0.5)
    started = time.monotonic()
    with pytest.raises(webhooks.Refused, match="did not resolve in time"):
        webhooks.resolve(target, allow_private=False, resolving=resolving)
    assert time.monotonic() - started >= 0.5


def test_one_users_slow_dns_does_not_starve_another_users_rule(
    dns, loopback_app, make_account, carol
):
    """Found as a hostile user: 8 POSTs naming a host whose DNS server hangs
    took the process's 8 lookup threads; another user's valid URL was a 400."""
    dns["slow.example"] = threading.Event()
    dns["fine.example"] = ["127.0.0.1"]
    mallory = make_account("mallory")

    def post_slow(_):
        client = loopback_app.test_client()
        body = rule(webhook_url="http://slow.example/h")
        return client.post(ALERTS, json=body, headers=bearer(mallory.access_token))

    with ThreadPoolExecutor(12) as pool:
        slow = [pool.submit(post_slow, n) for n in range(12)]
        wait_until(lambda: dns["asked"].count("slow.example") >= 2, 10)
        mine = carol.post(ALERTS, json=rule(webhook_url="http://fine.example/h"))
        answers = [future.result() for future in slow]
    assert mine.status_code == 201, mine.json
    assert {answer.status_code for answer in answers} == {400}
    assert {answer.json["errors"][0]["message"] for answer in answers} == {
        "the host name did not resolve in time"
    }
