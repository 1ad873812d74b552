"""Racing duplicate uploads store one row, across real uWSGI workers too."""

from myapp.readings import service
from testing.readings import BATCH, READINGS, new_client_id, race, reading


def test_concurrent_duplicates_over_http_store_exactly_one_reading(
    live_server, make_account, count_rows
):
    account = make_account()
    headers = {"Authorization": f"Bearer {account.access_token}"}
    for round_number in range(5):
        client_id = new_client_id()
        body = reading(data={"round": round_number}, client_id=client_id)
        responses = race(
            [lambda: live_server.request("POST", READINGS, body, headers)] * 8
        )
        statuses = sorted(r.status for r in responses)
        assert statuses == [200] * 7 + [201], [r.json for r in responses]
        assert len({r.json["id"] for r in responses}) == 1
        assert count_rows(client_id=client_id) == 1


def test_concurrent_overlapping_batches_over_http_agree_on_every_id(
    live_server, make_account, count_rows
):
    account = make_account()
    headers = {"Authorization": f"Bearer {account.access_token}"}
    shared = [new_client_id() for _ in range(300)]
    bodies = []
    for worker in range(4):
        order = shared[worker:] + shared[:worker]
        items = [reading(data={"c": c}, client_id=c) for c in order]
        items += [reading(data={"own": worker}) for _ in range(20)]
        bodies.append({"readings": items})
    responses = race(
        [
            lambda b=body: live_server.request("POST", BATCH, b, headers)
            for body in bodies
        ]
    )
    assert [r.status for r in responses] == [201] * 4
    id_of = {}
    for body, response in zip(bodies, responses):
        for item, reading_id in zip(body["readings"], response.json["ids"]):
            if item.get("client_id"):
                assert id_of.setdefault(item["client_id"], reading_id) == reading_id
    assert sum(r.json["created"] for r in responses) == 300 + 4 * 20
    assert count_rows() == 300 + 4 * 20


def test_a_client_id_committed_by_a_racer_just_before_the_insert_maps_to_the_winner(
    alice, count_rows, monkeypatch
):
    contested, free = new_client_id(), new_client_id()
    real_insert = service._insert
    raced = []

    def insert_right_after_a_racer(user_id, device_id, rows, now_micros):
        if not raced:
            raced.append("racing")
            # Another request commits the same client_id between our validation
            # and our INSERT: ON CONFLICT DO NOTHING must skip it, not fail.
            winner = alice.client.post(
                READINGS,
                json=reading(data={"winner": True}, client_id=contested),
                headers=alice.headers,
            )
            raced[0] = winner.json["id"]
        return real_insert(user_id, device_id, rows, now_micros)

    monkeypatch.setattr(service, "_insert", insert_right_after_a_racer)
    items = [
        reading(data={"n": 0}),
        reading(data={"n": 1}, client_id=contested),
        reading(data={"n": 2}, client_id=free),
        reading(data={"n": 3}),
    ]
    response = alice.post(BATCH, json={"readings": items})
    monkeypatch.undo()
    assert response.status_code == 201 and response.json["created"] == 3
    ids = response.json["ids"]
    assert ids[1] == raced[0]
    assert alice.get(f"{READINGS}{ids[1]}").json["data"] == {"winner": True}
    assert [
        alice.get(f"{READINGS}{i}").json["data"] for i in (ids[0], ids[2], ids[3])
    ] == [
        {"n": 0},
        {"n": 2},
        {"n": 3},
    ]
    assert count_rows() == 4
