"""GET /readings/export: every matching reading, streamed as NDJSON or CSV."""

import json
import re

import pytest

from testing.readings import (
    EXPORT,
    READINGS,
    csv_records,
    listed,
    ndjson_readings,
    new_client_id,
    reading,
)

FILENAME = re.compile(r'^attachment; filename="readings-\d{8}T\d{6}Z\.(ndjson|csv)"$')


@pytest.fixture
def stored(alice, bob, post_batch):
    items = [
        reading(
            sensor="a" if i % 3 else 'b, "quoted"\nsensor',
            recorded_at=f"2024-01-01T00:{i % 60:02d}:00Z",
            data={"i": i, "text": 'x,y\n"z"', "nested": {"ü": [1, 2.5]}},
            client_id=new_client_id() if i % 2 else None,
        )
        for i in range(120)
    ]
    post_batch(alice, items)
    post_batch(bob, [reading(data={"bob": True})])


def test_ndjson_export_is_one_reading_object_a_line(app, alice, stored, monkeypatch):
    # Small keyset batches: the stream must stitch many of them together.
    monkeypatch.setitem(app.config, "READINGS_EXPORT_BATCH", 7)
    response = alice.get(EXPORT)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert FILENAME.match(response.headers["Content-Disposition"])
    assert response.is_streamed
    assert response.get_data(as_text=True).endswith("\n")
    assert ndjson_readings(response) == listed(alice)


def test_csv_export_has_the_contract_columns_with_data_as_json(
    app, alice, stored, monkeypatch
):
    monkeypatch.setitem(app.config, "READINGS_EXPORT_BATCH", 50)
    response = alice.get(f"{EXPORT}?format=csv&order=asc")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    rows = csv_records(response)
    assert rows[0] == ["id", "sensor", "recorded_at", "client_id", "data", "device_id"]
    expected = [
        [
            str(item["id"]),
            item["sensor"],
            item["recorded_at"],
            item["client_id"] or "",
            item["data"],
            "",
        ]
        for item in listed(alice, "&order=asc")
    ]
    assert len(rows) == 121
    assert [row[:4] + row[5:] for row in rows[1:]] == [
        row[:4] + row[5:] for row in expected
    ]
    assert [json.loads(row[4]) for row in rows[1:]] == [row[4] for row in expected]


def test_export_applies_the_list_filters(alice, stored):
    query = "&sensor=a&since=2024-01-01T00:10:00Z&until=2024-01-01T00:20:00Z&order=asc"
    response = alice.get(EXPORT + "?" + query[1:])
    exported = ndjson_readings(response)
    assert exported == listed(alice, query)
    assert exported and all(item["sensor"] == "a" for item in exported)


def test_an_export_without_matches_is_empty_and_counts_zero(alice):
    ndjson = alice.get(EXPORT)
    assert ndjson.get_data() == b"" and ndjson.headers["X-Total-Count"] == "0"
    assert alice.get(f"{EXPORT}?format=csv").get_data(as_text=True) == (
        "id,sensor,recorded_at,client_id,data,device_id\r\n"
    )


def test_readings_stored_during_an_export_are_left_out_of_it(alice, post_batch, app):
    post_batch(alice, [reading(sensor="s", data={"n": n}) for n in range(5)])
    with app.test_request_context():
        from myapp.db import db
        from myapp.readings import export

        response = export.download(user_id=alice.id, kind="ndjson", sensor="s")
        post_batch(alice, [reading(sensor="s", data={"n": 99})])
        lines = response.get_data(as_text=True).splitlines()
        db.session.remove()
    assert response.headers["X-Total-Count"] == "5" and len(lines) == 5


def test_export_never_includes_another_users_readings(bob, stored):
    exported = ndjson_readings(bob.get(EXPORT))
    assert [item["data"] for item in exported] == [{"bob": True}]


@pytest.mark.parametrize(
    "query, name",
    [("format=xml", "format"), ("order=up", "order"), ("until=soon", "until")],
)
def test_bad_export_arguments_answer_400_naming_them(alice, query, name):
    response = alice.get(f"{EXPORT}?{query}")
    assert response.status_code == 400
    assert [error["query"] for error in response.json["errors"]] == [name]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(alice):
    """Found as a hostile user: a sensor named =HYPERLINK(...) went out as is."""
    names = ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=b", "kitchen"]
    for name in names:
        assert alice.post(READINGS, json=reading(sensor=name)).status_code == 201
    rows = csv_records(alice.get(f"{EXPORT}?format=csv&order=asc"))
    written = [row[1] for row in rows[1:]]
    assert written == ["'" + name for name in names[:6]] + names[6:]
    exported = ndjson_readings(alice.get(f"{EXPORT}?format=ndjson&order=asc"))
    assert [item["sensor"] for item in exported] == names
