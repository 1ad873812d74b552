"""Refresh token rotation under real concurrency: uWSGI with several workers.

Of many parallel refreshes of one refresh token exactly one gets a new pair.
The others are reuse of a spent token, which revokes the login session, so the
winner's new tokens stop working too. The rotation's compare-and-swap is what
makes this hold across processes; a read-then-write lets several win.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from testing.accounts import login, register_over_http
from testing.http import Http

ROUNDS = 12
PARALLEL = 8  # 4 workers x 2 threads: every refresh of a round runs at once


def refresh_all_at_once(http, refresh_token):
    """PARALLEL refreshes of one token, released together; their responses."""
    start = threading.Barrier(PARALLEL)

    def refresh(_):
        start.wait()
        return http.request("POST", "/api/v1/auth/refresh", token=refresh_token)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(refresh, range(PARALLEL)))


def test_parallel_refreshes_of_one_token_give_one_pair_and_revoke_the_session(
    uwsgi, figures
):
    server = uwsgi(processes=4, threads=2)
    http = Http(server)
    username = register_over_http(http).username
    outcomes = Counter()
    for _ in range(ROUNDS):
        tokens = login(http, username)
        responses = refresh_all_at_once(http, tokens["refresh_token"])
        statuses = Counter(r.status for r in responses)
        outcomes.update(statuses)
        assert statuses == {200: 1, 401: PARALLEL - 1}, statuses
        winner = next(r.json for r in responses if r.status == 200)
        # Reuse revoked the session: the winner's new pair is dead as well.
        me = http.request("GET", "/api/v1/users/me", token=winner["access_token"])
        assert me.status == 401
        again = http.request(
            "POST", "/api/v1/auth/refresh", token=winner["refresh_token"]
        )
        assert again.status == 401
        assert all(
            r.getheader("WWW-Authenticate").startswith("Bearer")
            for r in responses
            if r.status == 401
        )
    figures["refresh_race"] = {
        "rounds": ROUNDS,
        "parallel_refreshes_per_round": PARALLEL,
        "statuses": dict(outcomes),
    }
