"""Validation messages are written for people: the rule in words, never a regex.

Clients show each message next to its field, so no message may carry a regular
expression, a schema keyword or a Python repr; a missing or empty required
value says "required". Every Schema of every feature is swept, as in
test_patterns.py.
"""

import re

import pytest
from testing.accounts import PASSWORD

from testing.schemas import discovered_schemas, string_fields

REGISTER = "/api/v1/auth/register"
# What a regex, a schema keyword or a repr looks like inside a message.
MACHINE = re.compile(
    r"[\^$\\]|\[.*\]|\{\d|\(\?|'|pattern|minLength|maxLength|schema|"
    r"of type|required property|rule"
)
BAD_STRINGS = ["", "a", "a\nb", "\x00", "x" * 3000, "not a time", "@", "a b"]
BAD_VALUES = [None, 7, 2.5, True, [], {}]
FIELDS = [
    pytest.param(schema, pointer, id=f"{name}{pointer}")
    for name, schema in sorted(discovered_schemas().items())
    for pointer, _ in string_fields(schema.schema)
]


def assert_for_people(errors):
    assert errors
    for error in errors:
        assert not MACHINE.search(error["message"]), error


def test_register_with_a_bad_username_says_the_rule_in_words(client):
    body = {"username": "ab", "email": "ab@example.com", "password": PASSWORD}
    response = client.post(REGISTER, json=body)
    assert response.status_code == 400
    assert response.json["errors"] == [
        {
            "pointer": "/username",
            "message": "3 to 32 letters, digits, dots, dashes or underscores",
        }
    ]


def test_register_with_a_bad_email_shows_no_pattern(client):
    body = {"username": "carol", "email": "carol at example", "password": PASSWORD}
    errors = client.post(REGISTER, json=body).json["errors"]
    assert [error["pointer"] for error in errors] == ["/email"]
    assert "email address" in errors[0]["message"]
    assert_for_people(errors)


def test_an_empty_username_is_required_not_a_pattern(client):
    body = {"username": "", "email": "e@example.com", "password": PASSWORD}
    errors = client.post(REGISTER, json=body).json["errors"]
    assert errors == [{"pointer": "/username", "message": "required"}]


def test_a_missing_field_says_required(client):
    errors = client.post(REGISTER, json={"username": "dave"}).json["errors"]
    assert errors == [
        {"pointer": "/email", "message": "required"},
        {"pointer": "/password", "message": "required"},
    ]


def test_a_number_of_the_wrong_type_says_what_a_number_looks_like(alice):
    goal = {
        "name": "steps",
        "target": {
            "sensor": "steps",
            "field": "count",
            "aggregate": "sum",
            "op": ">=",
            "value": "10,000",
            "period": "day",
        },
    }
    response = alice.post("/api/v1/goals/", json=goal)
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"pointer": "/target/value", "message": "a number, such as 10000 or 25.5"}
    ]


def test_a_missing_query_parameter_says_required(alice):
    response = alice.get("/api/v1/readings/stats?sensor=kitchen")
    assert response.status_code == 400
    assert response.json["errors"] == [{"query": "field", "message": "required"}]


def test_a_bad_timestamp_in_a_body_reads_as_an_example(alice):
    reading = {"sensor": "s", "data": {}, "recorded_at": "yesterday"}
    errors = alice.post("/api/v1/readings/", json=reading).json["errors"]
    assert errors[0]["pointer"] == "/recorded_at"
    assert "2026-12-07T09:30:00Z" in errors[0]["message"]
    assert_for_people(errors)


@pytest.mark.parametrize("schema, pointer", FIELDS)
def test_every_string_field_explains_a_bad_value_in_words(schema, pointer):
    """Each field alone inside its schema, fed bad strings and wrong types."""
    for value in BAD_STRINGS + BAD_VALUES:
        errors = [
            error
            for error in schema.errors(_with_value(schema.schema, pointer, value))
            if error["pointer"] == pointer
        ]
        for error in errors:
            assert not MACHINE.search(error["message"]), (pointer, value, error)


def test_every_schema_with_a_pattern_has_its_rule_in_words():
    patterns = [
        (name, sub)
        for name, schema in discovered_schemas().items()
        for sub in _subschemas(schema.schema)
        if "pattern" in sub
    ]
    assert len(patterns) >= 10
    for name, sub in patterns:
        assert not MACHINE.search(sub["x-pattern-message"]), name


def _subschemas(schema):
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _subschemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _subschemas(value)


def _with_value(schema, pointer, value):
    """A document putting value at pointer (arrays as one-item lists)."""
    if pointer == "/":
        return value
    parts = pointer.strip("/").split("/")
    document = built = {}
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        child = value if last else ({} if parts[depth + 1] != "0" else [])
        if isinstance(built, list):
            built.append(child)
        else:
            built[part] = child
        built = child
    return document
