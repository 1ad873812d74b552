"""The published documents: verb operationIds, and the OpenAPI 3.1 document."""

import re

import pytest

PREFIX = "/api/v1"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}
# What an operation does, as the first word of its operationId.
VERBS = {
    "create",
    "delete",
    "export",
    "get",
    "list",
    "login",
    "logout",
    "refresh",
    "register",
    "rotate",
    "send",
    "unsubscribe",
    "update",
    "verify",
}
CAMEL_CASE = re.compile(r"^([a-z]+)(?:[A-Z][a-z0-9]*)*$")


def operations(spec):
    """(method, path, operation) for every operation of a Swagger/OpenAPI spec."""
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def restx_default_ids(app):
    """Every id Flask-RESTX would make up: <method>_<resource in snake case>."""
    from flask_restx.utils import camel_to_dash

    found = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        resource = getattr(view, "view_class", None)
        if resource is None:
            continue
        for method in METHODS:
            found.add(f"{method}_{camel_to_dash(resource.__name__)}")
    return found


@pytest.fixture
def swagger(client):
    return client.get(PREFIX + "/swagger.json").json


def test_every_operation_id_is_a_camel_case_verb_phrase(swagger):
    ids = [op.get("operationId") for _, _, op in operations(swagger)]
    assert ids and None not in ids
    for operation_id in ids:
        match = CAMEL_CASE.match(operation_id)
        assert match, f"{operation_id} is not camelCase"
        assert match[1] in VERBS, f"{operation_id} does not start with a verb"


def test_no_operation_id_is_a_flask_restx_default(app, swagger):
    ids = {op["operationId"] for _, _, op in operations(swagger)}
    assert not ids & restx_default_ids(app)
    assert "post_goal_list" in restx_default_ids(app)  # the check checks


def test_operation_ids_are_unique(swagger):
    ids = [op["operationId"] for _, _, op in operations(swagger)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "method, path, operation_id",
    [
        ("post", "/goals/", "createGoal"),
        ("get", "/readings/{reading_id}", "getReading"),
        ("get", "/readings/", "listReadings"),
    ],
)
def test_the_contracts_examples_are_named_as_it_says(
    swagger, method, path, operation_id
):
    assert swagger["paths"][path][method]["operationId"] == operation_id
