"""GET /readings/ (keyset pages), GET and DELETE /readings/<id>."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from testing.readings import READINGS, reading

BASE = datetime(2024, 3, 1, tzinfo=timezone.utc)


def at(minutes):
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def walk(account, query, limit):
    """Every page of a listing; returns the ids in order and the page count."""
    ids, pages, cursor = [], 0, None
    while True:
        url = f"{READINGS}?limit={limit}{query}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        response = account.get(url)
        assert response.status_code == 200, response.json
        ids.extend(item["id"] for item in response.json["items"])
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            return ids, pages


def test_getting_a_reading_answers_200_with_it(alice):
    created = alice.post(READINGS, json=reading(recorded_at=at(0))).json
    response = alice.get(f"{READINGS}{created['id']}")
    assert response.status_code == 200 and response.json == created


def test_getting_a_missing_reading_answers_404_problem(alice):
    response = alice.get(f"{READINGS}999999")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("reading_id", ["0", "9223372036854775808", "1" + "0" * 30])
def test_ids_beyond_what_the_database_stores_answer_404(alice, reading_id):
    assert alice.get(f"{READINGS}{reading_id}").status_code == 404
    assert alice.delete(f"{READINGS}{reading_id}").status_code == 404


def test_deleting_a_reading_answers_204_and_it_is_gone(alice):
    url = alice.post(READINGS, json=reading()).headers["Location"]
    response = alice.delete(url)
    assert response.status_code == 204 and response.data == b""
    assert alice.get(url).status_code == 404
    assert alice.delete(url).status_code == 404


def test_a_deleted_client_id_may_be_stored_again(alice):
    body = reading(client_id="3f1b1c1e-0000-4000-8000-000000000001")
    first = alice.post(READINGS, json=body)
    alice.delete(first.headers["Location"])
    again = alice.post(READINGS, json=body)
    assert again.status_code == 201 and again.json["id"] != first.json["id"]


def test_the_list_is_newest_first_by_default_and_oldest_first_with_asc(
    alice, post_batch
):
    ids = post_batch(alice, [reading(recorded_at=at(m)) for m in (5, 1, 3)])
    newest = alice.get(READINGS).json
    assert [item["id"] for item in newest["items"]] == [ids[0], ids[2], ids[1]]
    assert newest["next_cursor"] is None
    oldest = alice.get(f"{READINGS}?order=asc").json["items"]
    assert [item["id"] for item in oldest] == [ids[1], ids[2], ids[0]]


def test_equal_recorded_at_is_ordered_by_id(alice, post_batch):
    ids = post_batch(alice, [reading(recorded_at=at(0)) for _ in range(5)])
    assert walk(alice, "&order=asc", 2)[0] == ids
    assert walk(alice, "", 2)[0] == ids[::-1]


def test_the_list_filters_by_sensor_and_half_open_time_range(alice, post_batch):
    items = [reading(sensor=s, recorded_at=at(m)) for s in ("a", "b") for m in range(6)]
    ids = post_batch(alice, items)
    response = alice.get(f"{READINGS}?sensor=a&since={at(1)}&until={at(4)}&order=asc")
    assert [item["id"] for item in response.json["items"]] == ids[1:4]
    both = alice.get(f"{READINGS}?since={at(5)}").json["items"]
    assert {item["id"] for item in both} == {ids[5], ids[11]}


def test_since_and_until_accept_any_offset(alice, post_batch):
    ids = post_batch(alice, [reading(recorded_at=at(m)) for m in range(3)])
    since = (BASE + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-3)))
    query = {"since": since.isoformat()}
    response = alice.client.get(READINGS, query_string=query, headers=alice.headers)
    assert [item["id"] for item in response.json["items"]] == [ids[2], ids[1]]


def test_limit_defaults_to_100_and_pages_follow(alice, post_batch):
    ids = post_batch(alice, [reading(recorded_at=at(m)) for m in range(150)])
    first = alice.get(READINGS).json
    assert len(first["items"]) == 100 and first["next_cursor"]
    second = alice.get(f"{READINGS}?cursor={first['next_cursor']}").json
    assert len(second["items"]) == 50 and second["next_cursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert seen == ids[::-1]


def test_an_exactly_full_last_page_has_no_next_cursor(alice, post_batch):
    post_batch(alice, [reading(recorded_at=at(m)) for m in range(4)])
    assert alice.get(f"{READINGS}?limit=4").json["next_cursor"] is None


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("order=newest", "order"),
        ("since=2024-01-01", "since"),
        ("until=2024-01-01T00:00:00", "until"),
        ("since=10000-01-01T00:00:00Z", "since"),
        ("sensor=", "sensor"),
        ("sensor=" + "s" * 65, "sensor"),
        ("cursor=forged", "cursor"),
    ],
)
def test_bad_query_arguments_answer_400_naming_them(alice, query, name):
    response = alice.get(f"{READINGS}?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert [error["query"] for error in response.json["errors"]] == [name]


def test_a_tampered_cursor_answers_400(alice, post_batch):
    post_batch(alice, [reading(recorded_at=at(m)) for m in range(3)])
    cursor = alice.get(f"{READINGS}?limit=1").json["next_cursor"]
    payload, _, signature = cursor.partition(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    response = alice.get(f"{READINGS}?cursor={tampered}.{signature}")
    assert response.status_code == 400
    assert response.json["errors"][0]["query"] == "cursor"


def test_a_cursor_of_one_order_is_refused_by_the_other(alice, post_batch):
    post_batch(alice, [reading(recorded_at=at(m)) for m in range(3)])
    cursor = alice.get(f"{READINGS}?limit=1").json["next_cursor"]
    assert alice.get(f"{READINGS}?order=asc&cursor={cursor}").status_code == 400


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_walking_every_page_while_readings_arrive_finds_each_exactly_once(
    alice, post_batch, order
):
    rng = random.Random(order)
    # Many equal timestamps: the id must break ties for the keyset to hold.
    minutes = [rng.randrange(0, 600) for _ in range(3000)]
    sensors = [rng.choice(["x", "y"]) for _ in minutes]
    original = post_batch(
        alice, [reading(sensor=s, recorded_at=at(m)) for s, m in zip(sensors, minutes)]
    )
    seen, cursor, pages = [], None, 0
    while True:
        url = f"{READINGS}?order={order}&limit=97" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = alice.get(url).json
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # New readings land before, among and after the walked part.
        post_batch(alice, [reading(recorded_at=at(rng.randrange(-60, 660)))])
    assert len(seen) == len(set(seen))
    assert set(original) <= set(seen)
    assert pages >= 3000 // 97
    recorded = [(m, i) for m, i in zip(minutes, original)]
    expected = [i for _, i in sorted(recorded, reverse=order == "desc")]
    assert [i for i in seen if i in set(original)] == expected


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_walking_a_time_range_returns_exactly_the_readings_inside_it(
    alice, post_batch, order
):
    ids = post_batch(alice, [reading(recorded_at=at(m // 3)) for m in range(300)])
    inside = [i for m, i in enumerate(ids) if 20 <= m // 3 < 80]
    seen, pages = walk(alice, f"&order={order}&since={at(20)}&until={at(80)}", 33)
    assert sorted(seen) == inside and pages == 6


def test_narrowing_the_range_with_an_old_cursor_still_honours_the_range(
    alice, post_batch
):
    ids = post_batch(alice, [reading(recorded_at=at(m)) for m in range(10)])
    cursor = alice.get(f"{READINGS}?limit=2").json["next_cursor"]
    narrowed = alice.get(f"{READINGS}?cursor={cursor}&until={at(3)}").json
    assert [item["id"] for item in narrowed["items"]] == ids[2::-1]
    asc = alice.get(f"{READINGS}?order=asc&limit=2").json["next_cursor"]
    later = alice.get(f"{READINGS}?order=asc&cursor={asc}&since={at(7)}").json
    assert [item["id"] for item in later["items"]] == ids[7:]


def test_walking_a_sensor_filtered_listing_returns_exactly_its_readings(
    alice, post_batch
):
    items = [reading(sensor="xy"[i % 2], recorded_at=at(i % 7)) for i in range(300)]
    ids = post_batch(alice, items)
    seen, pages = walk(alice, "&sensor=y", 40)
    assert sorted(seen) == ids[1::2] and pages == 4
