"""Every operation documents exactly what its decorators enforce, and no more."""

import re

import pytest
from flask_restx import Namespace
from flask_restx.swagger import extract_path

from myapp.decorators import authenticated, body, enforced, query
from myapp.validation import Schema, to_swagger
from testing.accounts import bearer

PREFIX = "/api/v1"
# The spec itself is a flask-restx resource, but not an operation of the API.
NOT_OPERATIONS = {"api.specs"}
SHARED = "parameters"


def operations(app):
    """(spec path, method, handler) of every API operation in the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        resource = getattr(app.view_functions[rule.endpoint], "view_class", None)
        if resource is None or rule.endpoint in NOT_OPERATIONS:
            continue
        assert rule.rule.startswith(PREFIX), rule.rule
        path = extract_path(rule.rule[len(PREFIX) :])
        for method in sorted(resource.methods):
            found.append((path, method.lower(), getattr(resource, method.lower())))
    return found


def mismatches(spec, path, method, handler):
    """How the documented operation differs from what its handler enforces."""
    operation = spec["paths"][path][method]
    rules = enforced(handler)
    where = f"{method.upper()} {path}"
    found = []
    parameters = operation.get("parameters", [])
    responses = set(operation["responses"])

    auth = rules.get("auth")
    if bool(operation.get("security")) != (auth is not None):
        found.append(f"{where}: Bearer security documented but not enforced, or back")
    if auth is not None:
        # 403: a device key anywhere but the uploads, or outside its sensors there.
        needed = {"401", "503"} | (set() if auth["refresh"] else {"403"})
        needed |= {"429"} if "device" in auth["keys"] else set()
        if not needed <= responses:
            found.append(f"{where}: @authenticated without {needed - responses}")

    bodies = [p for p in parameters if p["in"] == "body"]
    schema = rules.get("body")
    if schema is None and bodies:
        found.append(f"{where}: documents a body it does not validate (use @body)")
    if schema is not None:
        refs = [p["schema"].get("$ref") for p in bodies]
        if refs != [f"#/definitions/{schema.name}"]:
            found.append(f"{where}: documents body {refs}, validates {schema.name}")
        elif spec["definitions"][schema.name] != to_swagger(schema.schema):
            found.append(f"{where}: the spec's {schema.name} is not the schema's")

    documented = {p["name"]: p for p in parameters if p["in"] == "query"}
    parser = rules.get("query")
    parsed = {p["name"]: p for p in parser.__schema__} if parser else {}
    if documented != parsed:
        found.append(f"{where}: documents query {documented}, parses {parsed}")
    return found


def test_every_operation_documents_what_its_decorators_enforce(app):
    with app.test_request_context():
        spec = app.test_client().get(PREFIX + "/swagger.json").json
        listed = operations(app)
        found = [m for operation in listed for m in mismatches(spec, *operation)]
    assert found == []
    paths = spec["paths"]
    documented = {(p, m) for p, item in paths.items() for m in item if m != SHARED}
    assert {(path, method) for path, method, _ in listed} == documented
    # Parameters documented for a whole path (not per operation) are its ids only.
    for item in paths.values():
        assert all(parameter["in"] == "path" for parameter in item.get(SHARED, []))


def test_operations_with_a_token_body_or_query_are_all_decorated(app):
    """The walk above sees every concern: none of them is left undecorated."""
    listed = operations(app)
    seen = {concern for _, _, handler in listed for concern in enforced(handler)}
    assert seen == {"auth", "body", "query"}
    assert any(enforced(h).get("auth", {}).get("admin") for *_, h in listed)


def request_for(path):
    """A URL for a spec path, with 1 for every path parameter."""
    return PREFIX + re.sub(r"\{\w+\}", "1", path)


def bad_requests_with(app, headers=None):
    """(auth rules, method, path, response) for every operation that takes a
    token, each sent a body that is not JSON and a query string that is wrong."""
    client = app.test_client()
    for path, method, handler in operations(app):
        rules = enforced(handler).get("auth")
        if rules is None:
            continue
        response = client.open(
            request_for(path) + "?limit=0&cursor=&order=sideways&flat=maybe",
            method=method.upper(),
            data=b"{not json",
            content_type="application/json",
            headers=headers,
        )
        yield rules, method, path, response


def test_a_request_without_a_token_is_a_401_whatever_its_body_and_query(app):
    """The token is checked before the body or the query string is read."""
    checked = 0
    for _, method, path, response in bad_requests_with(app):
        assert response.status_code == 401, f"{method} {path}"
        checked += 1
    assert checked > 10


def test_a_live_device_key_is_a_403_everywhere_but_the_two_uploads(app, alice):
    """Checked before the body or query is read; refresh takes refresh tokens only."""
    from testing.devices import create_device

    key = create_device(alice, "box")["key"]
    answers = {}
    for rules, method, path, response in bad_requests_with(app, bearer(key)):
        answers[(method, path)] = response.status_code
        if "device" in rules["keys"]:
            expected = 400  # past the key: the body is read, and is not JSON
        else:
            expected = 401 if rules["refresh"] else 403
        assert response.status_code == expected, (method, path, response.json)
    uploads = [op for op, status in answers.items() if status == 400]
    assert sorted(uploads) == [("post", "/readings/"), ("post", "/readings/batch")]
    assert list(answers.values()).count(403) > 10


def test_reading_the_request_before_authenticating_is_refused_at_import():
    ns = Namespace("example")
    schema = Schema("Example", {"type": "object"})
    parser = ns.parser()

    def handler(self, caller, data=None, args=None):
        """An operation."""

    with pytest.raises(TypeError, match="put @authenticated above @body"):
        body(ns, schema)(authenticated(ns)(handler))
    with pytest.raises(TypeError, match="put @authenticated above @query"):
        query(ns, parser)(authenticated(ns)(handler))
    in_order = authenticated(ns)(body(ns, schema)(query(ns, parser)(handler)))
    assert enforced(in_order) == {
        "auth": {"admin": False, "refresh": False, "keys": ()},
        "body": schema,
        "query": parser,
    }


def test_the_documented_page_limit_follows_the_apps_config(app_with):
    configured = app_with(PAGE_LIMIT_MAX=50, PAGE_LIMIT_DEFAULT=20)
    client = configured.test_client()
    spec = client.get(PREFIX + "/swagger.json").json
    limits = [
        parameter
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "limit"
    ]
    # GET /users/, /readings/, /readings/latest, /devices/, /alerts/, /alerts/events
    # and /alerts/{id}/deliveries
    assert len(limits) == 7
    for limit in limits:
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 50, 20)


def test_the_caller_and_the_cached_token_claims_are_read_only(app, alice):
    from myapp.auth import authenticate, decode_bearer

    with app.test_request_context(headers=alice.headers):
        caller = authenticate()
        claims = decode_bearer("access")
        with pytest.raises(TypeError):
            claims["sub"] = "2"
        with pytest.raises(AttributeError):
            caller.is_admin = True
        assert decode_bearer("access")["sub"] == str(alice.id)
