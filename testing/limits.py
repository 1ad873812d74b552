"""Racing creates against a per-user limit: the same POST, at the same moment."""

from testing.readings import race


def racing_creates(app, account, path, body, count=4):
    """count POSTs of body by account at once, each on its own client; statuses."""
    clients = [app.test_client() for _ in range(count)]
    answers = race(
        [
            lambda client=client: client.post(path, json=body, headers=account.headers)
            for client in clients
        ]
    )
    return sorted(answer.status_code for answer in answers)


def race_to_each_limit(app_with, setting, account, path, body, rounds=5):
    """Raise the limit one at a time and race 4 creates at each: which answered 201.

    Each round must let exactly one through; more rounds, more chances for a
    check made outside the user's lock to let two through.
    """
    for limit in range(1, rounds + 1):
        statuses = racing_creates(app_with(**{setting: limit}), account, path, body)
        assert statuses == [201, 409, 409, 409], f"limit {limit}: {statuses}"
