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
    "open",
    "preview",
    "refresh",
    "register",
    "replace",
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


@pytest.fixture
def document(client):
    response = client.get(PREFIX + "/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def test_the_openapi_document_is_valid_openapi_3_1(document):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert document["openapi"] == "3.1.0"
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert not errors, [e.message for e in errors[:5]]


def test_both_documents_have_the_same_operations_and_operation_ids(swagger, document):
    def named(spec):
        return {(m, p, op["operationId"]) for m, p, op in operations(spec)}

    assert named(document) == named(swagger)
    assert len(named(document)) > 30


def test_body_schemas_are_the_json_schemas_the_code_enforces(app, document):
    from myapp.decorators import enforced

    schemas = document["components"]["schemas"]
    checked = 0
    for method, path, operation in operations(document):
        view = app.view_functions[endpoint_of(app, method, path)]
        rules = enforced(getattr(view.view_class, method))
        if "body" not in rules:
            assert "requestBody" not in operation, operation["operationId"]
            continue
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        name = body["$ref"].rpartition("/")[2]
        expected = {k: v for k, v in rules["body"].schema.items() if k != "$schema"}
        assert schemas[name] == expected, operation["operationId"]
        checked += 1
    assert checked > 10


def endpoint_of(app, method, path):
    """The Flask endpoint serving a documented path ({x} in place of <...:x>)."""
    for rule in app.url_map.iter_rules():
        documented = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        if documented == PREFIX + path and method.upper() in rule.methods:
            return rule.endpoint
    raise AssertionError(f"no endpoint for {method} {path}")


def test_what_swagger_2_cannot_say_is_in_the_3_1_document(document):
    goal = document["components"]["schemas"]["GoalCreate"]["properties"]
    assert goal["description"]["type"] == ["string", "null"]
    assert goal["name"]["pattern"].endswith("$(?!\\n)")  # a look-ahead, verbatim
    assert document["components"]["securitySchemes"]["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["Bearer"][
            "description"
        ],
    }


def test_every_error_response_is_a_problem_with_its_own_status(document):
    seen = set()
    for _, _, operation in operations(document):
        for code, response in operation["responses"].items():
            if int(code) < 400 or "content" not in response:
                continue
            assert list(response["content"]) == ["application/problem+json"]
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema["properties"]["status"] == {"const": int(code)}
            seen.add(int(code))
    assert {400, 401, 403, 404, 409, 413, 415, 503} <= seen


def test_a_real_problem_matches_its_documented_schema_and_no_other(
    client, alice, document
):
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:openapi", DRAFT202012.create_resource(document)
    )
    answer = alice.get(PREFIX + "/goals/2147483647")
    assert answer.status_code == 404
    responses = "urn:openapi#/paths/~1goals~1{goal_id}/get/responses"

    def valid(code):
        pointer = f"{responses}/{code}/content/application~1problem+json/schema"
        validator = Draft202012Validator({"$ref": pointer}, registry=registry)
        return validator.is_valid(answer.json)

    assert valid(404)
    assert not valid(401)
