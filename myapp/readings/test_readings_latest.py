"""GET /readings/latest: each sensor's newest reading, by sensor in code-point order."""

import random

import pytest

from testing.readings import READINGS, listed, new_client_id, reading

LATEST = READINGS + "latest"
# Code-point order; a linguistic collation (en_US) would interleave the cases
# and put "é" next to "e" and "_" first.
SENSORS = ["A", "B", "Z", "_x", "a", "a/b", "a0", "b", "kitchen/temp", "z", "é", "日"]


def pages(account, query="", limit=None):
    """Every item of GET /readings/latest, following next_cursor."""
    items, cursor = [], None
    while True:
        url = f"{LATEST}?{query}" + (f"&limit={limit}" if limit else "")
        page = account.get(url + (f"&cursor={cursor}" if cursor else "")).json
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def stored(alice, bob, post_batch):
    """Three readings of each sensor, uploaded in scrambled order; bob has one."""
    items = []
    for n, sensor in enumerate(reversed(SENSORS)):
        for minute in (2, 9, 5):
            at = f"2024-01-01T0{n % 10}:{minute:02d}:00Z"
            items.append(reading(sensor=sensor, recorded_at=at, data={"m": minute}))
    ids = post_batch(alice, items)
    post_batch(bob, [reading(sensor="0-bob", recorded_at="2030-01-01T00:00:00Z")])
    return dict(zip(range(len(ids)), ids))


def test_each_sensor_appears_once_with_its_newest_reading_in_code_point_order(
    alice, stored
):
    response = alice.get(LATEST)
    assert response.status_code == 200
    items = response.json["items"]
    assert [item["sensor"] for item in items] == sorted(SENSORS) == SENSORS
    assert all(item["data"] == {"m": 9} for item in items)
    assert response.json["next_cursor"] is None
    assert all(alice.get(f"{READINGS}{item['id']}").json == item for item in items)


@pytest.mark.parametrize("limit", [1, 5, 11])
def test_pages_walk_every_sensor_once_in_order(alice, stored, limit):
    assert [item["sensor"] for item in pages(alice, limit=limit)] == SENSORS


def test_ties_on_recorded_at_go_to_the_higher_id(alice, post_batch):
    at = "2024-01-01T00:00:00Z"
    ids = post_batch(alice, [reading(sensor="s", recorded_at=at) for _ in range(3)])
    post_batch(alice, [reading(sensor="s", recorded_at="2023-12-31T23:59:59Z")])
    assert [item["id"] for item in alice.get(LATEST).json["items"]] == [max(ids)]


def test_the_newest_is_by_recorded_at_not_by_upload_order(alice, post_batch):
    late, early = post_batch(
        alice,
        [
            reading(sensor="s", recorded_at="2024-06-01T00:00:00Z"),
            reading(sensor="s", recorded_at="2020-01-01T00:00:00Z"),
        ],
    )
    assert alice.get(LATEST).json["items"][0]["id"] == late
    alice.delete(f"{READINGS}{late}")
    assert alice.get(LATEST).json["items"][0]["id"] == early


def test_the_sensor_filter_is_exact(alice, stored):
    (item,) = alice.get(f"{LATEST}?sensor=a").json["items"]
    assert (item["sensor"], item["data"]) == ("a", {"m": 9})
    for unknown in ("a/", "A/b", "0-bob", "nothing"):
        response = alice.get(f"{LATEST}?sensor={unknown}")
        assert response.json == {"items": [], "next_cursor": None}


def test_the_sensor_filter_respects_a_cursor(alice, stored):
    cursor = alice.get(f"{LATEST}?limit=5").json["next_cursor"]
    assert alice.get(f"{LATEST}?sensor=A&cursor={cursor}").json["items"] == []
    after = alice.get(f"{LATEST}?sensor=z&cursor={cursor}").json["items"]
    assert [item["sensor"] for item in after] == ["z"]


def test_no_readings_give_no_items_and_others_are_never_shown(alice, bob, stored):
    assert [i["sensor"] for i in bob.get(LATEST).json["items"]] == ["0-bob"]
    assert alice.get(f"{LATEST}?sensor=0-bob").json["items"] == []


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=forged", "cursor"),
        ("sensor=" + "s" * 65, "sensor"),
        ("sensor=a%00b", "sensor"),
    ],
)
def test_bad_arguments_are_a_400_naming_them(alice, query, name):
    response = alice.get(f"{LATEST}?{query}")
    assert response.status_code == 400
    assert [error["query"] for error in response.json["errors"]] == [name]


def test_a_list_cursor_is_not_a_latest_cursor(alice, post_batch):
    post_batch(alice, [reading(sensor=f"s{n}") for n in range(3)])
    cursor = alice.get(f"{READINGS}?limit=1").json["next_cursor"]
    assert alice.get(f"{LATEST}?cursor={cursor}").status_code == 400


def test_sensor_names_compare_byte_by_byte_on_postgresql_too(in_app, database_url):
    """A database created with a linguistic locale (en_US) must not reorder them."""
    import sqlalchemy as sa

    from myapp.db import db

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite compares text with BINARY: code-point order for UTF-8")
    collation = in_app(
        lambda: db.session.execute(
            sa.text(
                "SELECT collation_name FROM information_schema.columns"
                " WHERE table_name = 'readings' AND column_name = 'sensor'"
            )
        ).scalar_one()
    )
    assert collation == "C"


def test_the_latest_query_reads_the_latest_table_in_order_and_never_scans(
    alice, post_batch, in_app, database_url
):
    """SQLite's plan: a range of readings_latest's key, then each reading by id."""
    import sqlalchemy as sa

    from myapp.db import db
    from myapp.readings import queries

    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's plan depends on table statistics; see bench/")
    post_batch(alice, [reading(sensor=f"s{n % 7}") for n in range(200)])
    sql = queries._LATEST.statement.element.text

    def plan():
        args = {"user_id": alice.id, "after": "", "count": 101}
        return db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql), args).all()

    details = [row[-1] for row in in_app(plan)]
    assert details == [
        "SEARCH l USING PRIMARY KEY (user_id=? AND sensor>?)",
        "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)",
    ], details


def newest_by_listing(account):
    """Each sensor's newest reading computed from the full list (the reference)."""
    newest = {}
    for item in listed(account):
        key = (item["recorded_at"], item["id"])
        current = newest.get(item["sensor"])
        if current is None or key > (current["recorded_at"], current["id"]):
            newest[item["sensor"]] = item
    return [newest[sensor] for sensor in sorted(newest)]


def test_the_latest_table_follows_every_upload_and_delete(alice, bob, post_batch):
    """Out-of-order times, ties, duplicates, batches over many sensors, deletes."""
    rng = random.Random(12)
    sensors = ["a", "b", "c/d", "é"]
    repeated = new_client_id()
    ids = []
    for step in range(30):
        items = [
            reading(
                sensor=rng.choice(sensors),
                recorded_at=f"2024-01-01T00:00:{rng.randrange(5):02d}Z",
                client_id=repeated if rng.random() < 0.1 else None,
            )
            for _ in range(rng.randrange(1, 6))
        ]
        if rng.random() < 0.5:
            ids += post_batch(alice, items)
        else:
            ids += [alice.post(READINGS, json=item).json["id"] for item in items]
        if ids and rng.random() < 0.6:
            # Often a sensor's newest reading: the next newest must take its place.
            newest = [item["id"] for item in alice.get(LATEST).json["items"]]
            gone = rng.choice(newest if rng.random() < 0.7 else ids)
            ids = [i for i in ids if i != gone]
            alice.delete(f"{READINGS}{gone}")
        assert pages(alice, limit=3) == newest_by_listing(alice), step
    for reading_id in set(ids):
        alice.delete(f"{READINGS}{reading_id}")
    assert alice.get(LATEST).json["items"] == []
    post_batch(bob, [reading(sensor="a")])
    assert [i["sensor"] for i in bob.get(LATEST).json["items"]] == ["a"]
