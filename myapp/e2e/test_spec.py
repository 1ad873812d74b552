"""The published spec tells the truth clients (and schemathesis) rely on."""

import pytest

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(live_server):
    response = live_server.request("GET", "/api/v1/swagger.json")
    assert response.status == 200
    return response.json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_may_answer_problem_json(spec):
    assert "application/problem+json" in spec["produces"]
    for path, method, operation in operations(spec):
        assert "application/problem+json" in operation.get(
            "produces", spec["produces"]
        ), f"{method} {path}"


def test_every_secured_operation_declares_401(spec):
    for path, method, operation in operations(spec):
        if operation.get("security"):
            assert "401" in operation["responses"], f"{method} {path}"


def test_every_operation_declares_503_for_an_unreachable_database(spec):
    for path, method, operation in operations(spec):
        assert "503" in operation["responses"], f"{method} {path}"


def test_every_operation_on_an_id_declares_404(spec):
    for path, method, operation in operations(spec):
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path}"


def test_every_operation_with_a_body_declares_400_413_and_415(spec):
    for path, method, operation in operations(spec):
        bodies = [p for p in operation.get("parameters", []) if p["in"] == "body"]
        if bodies:
            declared = set(operation["responses"])
            assert {"400", "413", "415"} <= declared, f"{method} {path}"


def test_every_write_body_rejects_unknown_fields(spec):
    definitions = spec["definitions"]
    for path, method, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "body":
                continue
            name = parameter["schema"]["$ref"].rsplit("/", 1)[-1]
            model = definitions[name]
            assert model.get("additionalProperties") is False, name
            for field, sub in model.get("properties", {}).items():
                if sub.get("type") == "array" and sub["items"].get("type") == "object":
                    assert sub["items"].get("additionalProperties") is False, field


def test_every_nullable_field_is_marked_x_nullable(spec):
    """Swagger 2.0 has no nullable: a null-capable field must say x-nullable."""

    def walk(schema, where):
        assert "nullable" not in schema, where
        assert not isinstance(schema.get("type"), list), where
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]")

    for name, model in spec["definitions"].items():
        walk(model, name)
