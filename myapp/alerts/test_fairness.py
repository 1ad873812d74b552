"""The worker shares its sending between users, round-robin, as a real process.

Found as a hostile user: the queue was global and oldest first, so one user's
backlog, or a receiver that answers just before the timeout, took every
sending thread; another user's delivery went out 181st of 181.
"""

from testing.accounts import Account
from testing.alerts import Receiver, hooked_rule, threshold
from testing.readings import READINGS, reading
from testing.servers import wait_until


def test_another_users_delivery_goes_out_next_not_after_a_backlog(
    carol, make_account, loopback_app, start_worker
):
    slow = Receiver(delay=1.0)  # just inside the worker's 2 s timeout
    fast = Receiver()
    try:
        for n in range(10):
            hooked_rule(carol, slow, f"/a{n}", condition=threshold(above=n))
        carol.post(READINGS, json=reading(data={"celsius": 20}))  # 10 deliveries due
        other = make_account("dave")
        tokens = {"access_token": other.access_token, "refresh_token": ""}
        dave = Account(loopback_app.test_client(), other.user, tokens)
        hooked_rule(dave, fast, "/b", condition=threshold(above=0))
        dave.post(READINGS, json=reading(data={"celsius": 20}))  # due last
        start_worker(MYAPP_ALERTS_WORKER_THREADS="2")
        (mine,) = fast.wait_for(1, timeout=30)
        wait_until(lambda: len(slow.arrivals) >= 10, 60)
    finally:
        slow.stop()
        fast.stop()
    # With 2 threads and 2 users waiting, dave waits for at most one of carol's.
    before_mine = [a for a in slow.arrivals if a.at < mine.at]
    assert len(before_mine) <= 2, len(before_mine)
