"""OWASP API Top 10 (2023) over HTTP: who may touch what, and nothing else.

API1/API5 broken object and function level authorization: the access matrix.
API2 broken authentication: every kind of bad token is a 401.
API3 broken object property level authorization: mass assignment.
API4 unrestricted resource consumption: oversized bodies, batches, pages,
nesting and strings. Every response body is scanned for tracebacks and
password material (testing.http.Http), which covers API8 misconfiguration.
"""

import json
import uuid
from datetime import timedelta

import jwt
import pytest

from testing.accounts import PASSWORD, register_over_http
from testing.http import Http
from testing.servers import wait_until
from testing.tokens import unsigned_copy

# What uWSGI logs when a request head does not fit its buffer.
# What a worker logs when it drops a request whose head passes buffer-size.
SKIPPED_HEAD = "(max 16384)...skip"
READING = {"sensor": "secret/kitchen", "data": {"celsius": 21.5}}
GOAL = {"name": "alice private goal", "description": "nobody else's business"}
RULE = {
    "name": "alice private rule",
    "sensor": "secret/kitchen",
    "condition": {"type": "threshold", "field": "celsius", "above": 30},
}
DEVICE = {"name": "alice secret device", "sensors": ["secret/*"]}

# (name, method, path template, body); the ids in braces are alice's.
OPERATIONS = [
    ("get reading", "GET", "/api/v1/readings/{reading}", None),
    ("delete reading", "DELETE", "/api/v1/readings/{reading}", None),
    ("get goal", "GET", "/api/v1/goals/{goal}", None),
    ("patch goal", "PATCH", "/api/v1/goals/{goal}", {"name": "pwned"}),
    ("delete goal", "DELETE", "/api/v1/goals/{goal}", None),
    ("get alert rule", "GET", "/api/v1/alerts/{rule}", None),
    ("patch alert rule", "PATCH", "/api/v1/alerts/{rule}", {"name": "pwned"}),
    ("delete alert rule", "DELETE", "/api/v1/alerts/{rule}", None),
    ("list alert rule events", "GET", "/api/v1/alerts/events?rule_id={rule}", None),
    ("list alert rule deliveries", "GET", "/api/v1/alerts/{rule}/deliveries", None),
    ("get user", "GET", "/api/v1/users/{user}", None),
    ("delete user", "DELETE", "/api/v1/users/{user}", None),
    ("get device", "GET", "/api/v1/devices/{device}", None),
    ("patch device", "PATCH", "/api/v1/devices/{device}", {"sensors": None}),
    ("rotate device", "POST", "/api/v1/devices/{device}/rotate", {}),
    ("delete device", "DELETE", "/api/v1/devices/{device}", None),
]
BAD_TOKENS = [
    "no token",
    "malformed",
    "wrong scheme",
    "bad signature",
    "expired",
    "revoked",
    "refresh as access",
    "alg none",
]
CALLERS = BAD_TOKENS + ["another user", "admin"]
# What a caller who is not alice gets; anything else is a leak or a bug.
EXPECTED = {
    "another user": {"delete user": 403},
    "admin": {"get user": 200, "delete user": 204},
}


class Alice:
    """alice with a reading, a goal and an alert rule, and every kind of bad token."""

    def __init__(self, http, account, in_app, admin_account):
        self.account = account("alice_" + uuid.uuid4().hex[:6])
        self.other = account()
        self.admin = admin_account
        reading = self.account.request("POST", "/api/v1/readings/", READING)
        goal = self.account.request("POST", "/api/v1/goals/", GOAL)
        rule = self.account.request("POST", "/api/v1/alerts/", RULE)
        device = self.account.request("POST", "/api/v1/devices/", DEVICE)
        statuses = (reading.status, goal.status, rule.status, device.status)
        assert statuses == (201, 201, 201, 201)
        self.ids = {
            "reading": reading.json["id"],
            "goal": goal.json["id"],
            "rule": rule.json["id"],
            "user": self.account.id,
            "device": device.json["id"],
        }
        self.device_key = device.json["key"]
        self.http = http
        self.in_app = in_app

    def headers(self, caller):
        """The Authorization header a caller sends, or None."""
        token = self._token(caller)
        if caller == "no token":
            return {}
        if caller == "wrong scheme":
            return {"Authorization": f"Basic {token}"}
        return {"Authorization": f"Bearer {token}"}

    def _token(self, caller):
        alice = self.account
        if caller == "malformed":
            return "not.a.jwt"
        if caller == "bad signature":
            claims = jwt.decode(alice.access_token, options={"verify_signature": False})
            return jwt.encode(claims, "another-secret-" + "x" * 40, algorithm="HS256")
        if caller == "expired":
            return self._expired()
        if caller == "revoked":
            tokens = self.http.request(
                "POST",
                "/api/v1/auth/login",
                {"username": alice.username, "password": PASSWORD},
            ).json
            out = self.http.request(
                "POST", "/api/v1/auth/logout", token=tokens["access_token"]
            )
            assert out.status == 204
            return tokens["access_token"]
        if caller == "refresh as access":
            return alice.refresh_token
        if caller == "alg none":
            return unsigned_copy(alice.access_token)
        if caller == "another user":
            return self.other.access_token
        if caller == "admin":
            return self.admin.access_token
        return alice.access_token

    def _expired(self):
        from flask_jwt_extended import create_access_token, decode_token

        sid = self.in_app(lambda: decode_token(self.account.access_token)["sid"])
        return self.in_app(
            lambda: create_access_token(
                identity=str(self.account.id),
                additional_claims={"sid": sid},
                expires_delta=timedelta(minutes=-1),
            )
        )


@pytest.fixture
def alice(http, account, in_app, admin_account):
    return Alice(http, account, in_app, admin_account)


def matrix_cases():
    return [
        pytest.param(op, caller, id=f"{op[0]} by {caller}")
        for op in OPERATIONS
        for caller in CALLERS
    ]


@pytest.mark.parametrize("operation, caller", matrix_cases())
def test_access_matrix_leaks_nothing_and_denied_requests_change_nothing(
    operation, caller, alice, http, snapshot, figures
):
    name, method, template, body = operation
    path = template.format(**alice.ids)
    headers = alice.headers(caller)
    before = snapshot()
    response = http.request(method, path, body, headers=headers, token="")
    expected = EXPECTED.get(caller, {}).get(name)
    if expected is None:
        expected = 401 if caller in BAD_TOKENS else 404
    assert response.status == expected, response.body
    matrix = figures.setdefault("access_matrix", {"cases": 0})
    matrix["cases"] += 1
    if expected >= 400:
        assert response.getheader("Content-Type") == "application/problem+json"
        assert snapshot() == before, f"{method} {path} by {caller} changed rows"
        text = response.body.decode()
        secrets = (READING["sensor"], GOAL["name"], RULE["name"], DEVICE["name"])
        for secret in secrets + ("alice_",):
            assert secret not in text
    if expected == 401:
        assert response.getheader("WWW-Authenticate").startswith("Bearer")
    if expected == 404:
        # The same answer as for an id that never existed: nothing to learn.
        nowhere = template.format(**{key: 2147483646 for key in alice.ids})
        missing = http.request(method, nowhere, body, headers=headers)
        assert (missing.status, missing.json) == (404, response.json)


def test_token_variants_on_operations_without_ids_answer_401(alice, http, snapshot):
    paths = [
        ("GET", "/api/v1/users/me", None),
        ("GET", "/api/v1/readings/", None),
        ("POST", "/api/v1/readings/", READING),
        ("GET", "/api/v1/goals/", None),
        ("POST", "/api/v1/goals/", GOAL),
        ("GET", "/api/v1/alerts/", None),
        ("POST", "/api/v1/alerts/", RULE),
        ("GET", "/api/v1/alerts/events", None),
        ("POST", "/api/v1/auth/logout", None),
    ]
    headers = {caller: alice.headers(caller) for caller in BAD_TOKENS}
    before = snapshot()
    for method, path, body in paths:
        for caller in BAD_TOKENS:
            response = http.request(
                method, path, body, headers=headers[caller], token=""
            )
            assert response.status == 401, (method, path, caller)
    assert snapshot() == before


# --- Device keys: valid ones reach the two uploads only, bad ones nothing ------

DEVICE_KEY_KINDS = [
    "valid",
    "revoked",
    "rotated, grace over",
    "out of scope",
    "another user's",
    "malformed",
    "JWT with the mdk_ prefix",
]
UPLOADS = {("post", "/readings/"), ("post", "/readings/batch")}


def device_key_of(kind, alice, http):
    """A key of kind for alice (or, for "another user's", for her neighbour)."""
    if kind == "malformed":
        return "mdk_" + alice.device_key[4:20]
    if kind == "JWT with the mdk_ prefix":
        return "mdk_" + alice.account.access_token
    if kind == "out of scope":
        return alice.device_key  # may write secret/* only
    owner = alice.other if kind == "another user's" else alice.account
    device = owner.request("POST", "/api/v1/devices/", {"name": kind}).json
    if kind == "revoked":
        owner.request("DELETE", f"/api/v1/devices/{device['id']}")
    if kind == "rotated, grace over":
        owner.request("POST", f"/api/v1/devices/{device['id']}/rotate", {})
    return device["key"]


def expected_for_device_key(kind, method, path):
    if kind in (
        "revoked",
        "rotated, grace over",
        "malformed",
        "JWT with the mdk_ prefix",
    ):
        return 401
    if path == "/auth/refresh":
        return 401  # takes a refresh token only
    if (method, path) not in UPLOADS:
        return 403
    return 403 if kind == "out of scope" else 201


def secured_operations(http):
    """(method, spec path) of every operation that takes a bearer token."""
    spec = http.request("GET", "/api/v1/swagger.json").json
    return sorted(
        (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and operation.get("security")
    )


@pytest.mark.parametrize("kind", DEVICE_KEY_KINDS)
def test_device_keys_reach_only_the_uploads_and_denials_change_nothing(
    kind, alice, http, snapshot, figures
):
    key = device_key_of(kind, alice, http)
    ids = {f"{name}_id": value for name, value in alice.ids.items()}
    wrong = []
    checked = 0
    for method, path in secured_operations(http):
        body = VALID_BODIES.get((method, path))
        if body is not None:
            body = json.loads(json.dumps(body).replace("MARK", "x"))
        url = "/api/v1" + path.format(**ids)
        expected = expected_for_device_key(kind, method, path)
        before = snapshot()
        response = http.request(method.upper(), url, body, token=key)
        checked += 1
        if response.status != expected:
            wrong.append((method, path, response.status, response.json))
        elif expected >= 400:
            assert response.getheader("Content-Type") == "application/problem+json"
            assert snapshot() == before, f"{method} {path} with a {kind} key"
            assert DEVICE["name"] not in response.body.decode()
        elif method == "post" and path == "/readings/":
            owner = alice.other if kind == "another user's" else alice.account
            stored = owner.request("GET", f"/api/v1/readings/{response.json['id']}")
            assert stored.status == 200 and stored.json["device_id"] is not None
    assert not wrong, wrong
    assert checked >= 20
    matrix = figures.setdefault("device_key_matrix", {"cases": 0})
    matrix["cases"] += checked


def test_a_refresh_token_cannot_be_refreshed_with_an_access_token(alice, http):
    response = http.request(
        "POST", "/api/v1/auth/refresh", token=alice.account.access_token
    )
    assert response.status == 401


def test_listing_another_users_goals_is_for_admins_only(alice, http):
    url = f"/api/v1/goals/?user_id={alice.account.id}"
    assert http.request("GET", url, token=alice.other.access_token).status == 403
    listed = http.request("GET", url, token=alice.admin.access_token)
    assert listed.status == 200
    assert [g["name"] for g in listed.json["items"]] == [GOAL["name"]]


def test_lists_show_only_the_callers_own_rows(alice, http):
    other = alice.other
    lists = ("/api/v1/readings/", "/api/v1/goals/", "/api/v1/alerts/")
    for path in lists + ("/api/v1/alerts/events",):
        response = http.request("GET", path, token=other.access_token)
        assert response.status == 200 and response.json["items"] == []
    export = http.request("GET", "/api/v1/readings/export", token=other.access_token)
    assert export.status == 200 and READING["sensor"].encode() not in export.body


# --- API3: mass assignment ---------------------------------------------------

GOAL_READ_ONLY = [
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "completed_at",
    "progress",
    "measured",
    "streak",
]
RULE_READ_ONLY = [
    "id",
    "user_id",
    "state",
    "state_since",
    "created_at",
    "updated_at",
] + ["webhook_secret"]
DEVICE_READ_ONLY = ["id", "user_id", "key", "key_prefix", "created_at", "last_used_at"]
MASS_ASSIGNMENT = [
    (
        "register",
        "POST",
        "/api/v1/auth/register",
        {"username": "mallory", "email": "m@example.com", "password": PASSWORD},
        ["id", "is_admin", "created_at"],
    ),
    (
        "update me",
        "PATCH",
        "/api/v1/users/me",
        {"current_password": PASSWORD},
        ["id", "username", "is_admin", "created_at"],
    ),
    (
        "create reading",
        "POST",
        "/api/v1/readings/",
        READING,
        ["id", "user_id", "created_at"],
    ),
    ("create goal", "POST", "/api/v1/goals/", GOAL, GOAL_READ_ONLY),
    ("update goal", "PATCH", "/api/v1/goals/{goal}", {"name": "x"}, GOAL_READ_ONLY),
    ("create alert rule", "POST", "/api/v1/alerts/", RULE, RULE_READ_ONLY),
    (
        "update alert rule",
        "PATCH",
        "/api/v1/alerts/{rule}",
        {"name": "x"},
        RULE_READ_ONLY + ["sensor"],
    ),
    ("create device", "POST", "/api/v1/devices/", DEVICE, DEVICE_READ_ONLY),
    (
        "update device",
        "PATCH",
        "/api/v1/devices/{device}",
        {"name": "x"},
        DEVICE_READ_ONLY,
    ),
]


@pytest.mark.parametrize(
    "name, method, template, body, fields",
    MASS_ASSIGNMENT,
    ids=[case[0] for case in MASS_ASSIGNMENT],
)
def test_mass_assignment_is_rejected_naming_the_field_and_changes_nothing(
    name, method, template, body, fields, alice, http, snapshot
):
    path = template.format(**alice.ids)
    before = snapshot()
    for field in fields:
        value = {"id": 1, "user_id": alice.other.id, "is_admin": True}.get(
            field, "2000-01-01T00:00:00Z"
        )
        sent = dict(body, **{field: value})
        response = http.request(method, path, sent, token=alice.account.access_token)
        assert response.status == 400, (field, response.body)
        assert f"/{field}" in [e.get("pointer") for e in response.json["errors"]]
    assert snapshot() == before


def test_batch_items_cannot_carry_an_owner_and_nothing_is_stored(alice, http, snapshot):
    before = snapshot()
    items = [READING, dict(READING, user_id=alice.other.id)]
    response = http.request(
        "POST",
        "/api/v1/readings/batch",
        {"readings": items},
        token=alice.account.access_token,
    )
    assert response.status == 400
    assert response.json["errors"][0]["pointer"] == "/readings/1/user_id"
    assert snapshot() == before


# --- API4: unrestricted resource consumption ---------------------------------


def deep(levels):
    value = {}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


def _bad(status, pointer=None, query=None, admin=False):
    """The documented answer: status and where the errors point (a prefix)."""
    return {"status": status, "pointer": pointer, "query": query, "admin": admin}


OVERSIZED = [
    ("body over 1 MiB", "POST", "/api/v1/readings/", "huge", _bad(413)),
    ("batch body over 1 MiB", "POST", "/api/v1/readings/batch", "huge", _bad(413)),
    ("goal body over 1 MiB", "POST", "/api/v1/goals/", "huge", _bad(413)),
    (
        "batch of 1001",
        "POST",
        "/api/v1/readings/batch",
        {"readings": [{"sensor": "s", "data": {}}] * 1001},
        _bad(400, "/readings"),
    ),
    (
        "empty batch",
        "POST",
        "/api/v1/readings/batch",
        {"readings": []},
        _bad(400, "/readings"),
    ),
    (
        "page of 1001 readings",
        "GET",
        "/api/v1/readings/?limit=1001",
        None,
        _bad(400, query="limit"),
    ),
    (
        "page of 1001 users",
        "GET",
        "/api/v1/users/?limit=1001",
        None,
        _bad(400, query="limit", admin=True),
    ),
    (
        "data nested 17 deep",
        "POST",
        "/api/v1/readings/",
        {"sensor": "s", "data": deep(17)},
        _bad(400, "/data"),
    ),
    (
        "JSON nested 100000 deep",
        "POST",
        "/api/v1/readings/",
        "deep",
        _bad(400),
    ),
    (
        "data over 16 KiB",
        "POST",
        "/api/v1/readings/",
        {"sensor": "s", "data": {"x": "y" * 17000}},
        _bad(400, "/data"),
    ),
    (
        "sensor of 65",
        "POST",
        "/api/v1/readings/",
        {"sensor": "s" * 65, "data": {}},
        _bad(400, "/sensor"),
    ),
    (
        "sensor filter of 65",
        "GET",
        "/api/v1/readings/?sensor=" + "s" * 65,
        None,
        _bad(400, query="sensor"),
    ),
    (
        "goal name of 201",
        "POST",
        "/api/v1/goals/",
        {"name": "n" * 201},
        _bad(400, "/name"),
    ),
    (
        "goal description of 2001",
        "POST",
        "/api/v1/goals/",
        {"name": "n", "description": "d" * 2001},
        _bad(400, "/description"),
    ),
    (
        "alert rule name of 101",
        "POST",
        "/api/v1/alerts/",
        dict(RULE, name="n" * 101),
        _bad(400, "/name"),
    ),
    (
        "webhook URL of 2049",
        "POST",
        "/api/v1/alerts/",
        dict(RULE, webhook_url="https://example.com/" + "p" * 2029),
        _bad(400, "/webhook_url"),
    ),
    (
        "page of 1001 alert events",
        "GET",
        "/api/v1/alerts/events?limit=1001",
        None,
        _bad(400, query="limit"),
    ),
    (
        "device name of 101",
        "POST",
        "/api/v1/devices/",
        {"name": "n" * 101},
        _bad(400, "/name"),
    ),
    (
        "33 sensor patterns",
        "POST",
        "/api/v1/devices/",
        {"name": "n", "sensors": [f"s{n}" for n in range(33)]},
        _bad(400, "/sensors"),
    ),
    (
        "sensor pattern of 65",
        "POST",
        "/api/v1/devices/",
        {"name": "n", "sensors": ["s" * 65]},
        _bad(400, "/sensors/0"),
    ),
    ("device body over 1 MiB", "POST", "/api/v1/devices/", "huge", _bad(413)),
    (
        "page of 1001 devices",
        "GET",
        "/api/v1/devices/?limit=1001",
        None,
        _bad(400, query="limit"),
    ),
    (
        "alert rule body over 1 MiB",
        "POST",
        "/api/v1/alerts/",
        "huge",
        _bad(413),
    ),
    (
        "page of 1001 latest readings",
        "GET",
        "/api/v1/readings/latest?limit=1001",
        None,
        _bad(400, query="limit"),
    ),
    (
        "username of 33",
        "POST",
        "/api/v1/auth/register",
        {"username": "u" * 33, "email": "u@example.com", "password": PASSWORD},
        _bad(400, "/username"),
    ),
    (
        "password of 129",
        "POST",
        "/api/v1/auth/register",
        {"username": "longpass", "email": "l@example.com", "password": "p" * 129},
        _bad(400, "/password"),
    ),
    (
        "login password of 1025",
        "POST",
        "/api/v1/auth/login",
        {"username": "someone", "password": "p" * 1025},
        _bad(400, "/password"),
    ),
    (
        "login name of 255",
        "POST",
        "/api/v1/auth/login",
        {"username": "u" * 255, "password": PASSWORD},
        _bad(400, "/username"),
    ),
]


@pytest.mark.parametrize(
    "name, method, path, body, expected", OVERSIZED, ids=[c[0] for c in OVERSIZED]
)
def test_oversized_input_is_rejected_with_the_documented_status(
    name, method, path, body, expected, alice, http, snapshot
):
    raw = None
    if body == "huge":
        raw = json.dumps({"name": "x" * (1024 * 1024 + 100)}).encode()
        body = None
    elif body == "deep":
        raw = b'{"sensor": "s", "data": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        body = None
    headers = {"Content-Type": "application/json"} if raw else None
    before = snapshot()
    caller = alice.admin if expected["admin"] else alice.account
    response = http.request(
        method, path, body, raw=raw, headers=headers, token=caller.access_token
    )
    assert response.status == expected["status"], response.body
    assert response.getheader("Content-Type") == "application/problem+json"
    if expected["pointer"]:
        pointers = [e.get("pointer") or "" for e in response.json["errors"]]
        assert any(p.startswith(expected["pointer"]) for p in pointers), pointers
    if expected["query"]:
        assert response.json["errors"][0]["query"] == expected["query"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "path, body, secret",
    [
        (
            "/api/v1/auth/register",
            {"username": "echoes", "email": "e@example.com", "password": "Sh0rt!"},
            "Sh0rt!",
        ),
        (
            "/api/v1/auth/login",
            {"username": "echoes", "password": "L0ng-" + "q" * 1100},
            "L0ng-",
        ),
        (
            "/api/v1/users/me",
            {"current_password": PASSWORD, "password": "tiny-pw"},
            "tiny-pw",
        ),
    ],
    ids=["short password", "long login password", "short new password"],
)
def test_validation_errors_never_echo_a_submitted_password(
    path, body, secret, alice, http
):
    method = "PATCH" if path.endswith("/me") else "POST"
    response = http.request(method, path, body, token=alice.account.access_token)
    assert response.status == 400
    assert secret not in response.body.decode()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/goals/"]
    + ["/api/v1/readings/", "/api/v1/readings/batch", "/api/v1/alerts/"],
)
def test_numeric_member_names_beside_missing_fields_answer_400_not_500(
    path, alice, http
):
    """Found by fuzzing: sorting the pointers /0 and /name together crashed."""
    response = http.request(
        "POST", path, {"0": None, "b": True}, token=alice.account.access_token
    )
    assert response.status == 400, response.body
    pointers = [e["pointer"] for e in response.json["errors"]]
    assert "/0" in pointers and "/b" in pointers


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/api/v1/readings/?probe={probe}&sensor=" + "s" * 20000, {}),
        ("/api/v1/users/me?probe={probe}", {"Authorization": "Bearer " + "x" * 20000}),
    ],
    ids=["query string of 20 KB", "header of 20 KB"],
)
def test_a_request_head_over_uwsgis_buffer_never_reaches_the_app(
    path, headers, live_server, http
):
    """uWSGI (buffer-size 16 KiB) drops it before Python: the connection is reset.

    uWSGI logs a line for every request the app answered, and says when it
    skips one; behind nginx the proxy answers such requests itself.
    """
    probe = uuid.uuid4().hex
    skipped = live_server.log().count(SKIPPED_HEAD)
    with pytest.raises(ConnectionError):
        live_server.request("GET", path.format(probe=probe), headers=headers)
    assert http.request("GET", "/api/v1/health").status == 200
    wait_until(lambda: live_server.log().count(SKIPPED_HEAD) == skipped + 1, 10)
    assert not [r for r in live_server.requests_logged() if probe in r.uri]


def test_goal_trees_are_capped_in_depth_and_count_over_http(uwsgi, snapshot):
    server = uwsgi({"MYAPP_GOALS_MAX_DEPTH": "3", "MYAPP_GOALS_MAX_PER_USER": "4"})
    owner = register_over_http(Http(server))
    parent = None
    for level in range(3):
        made = owner.request(
            "POST", "/api/v1/goals/", {"name": f"level {level}", "parent_id": parent}
        )
        assert made.status == 201, made.body
        parent = made.json["id"]
    before = snapshot()
    too_deep = owner.request(
        "POST", "/api/v1/goals/", {"name": "level 3", "parent_id": parent}
    )
    assert too_deep.status == 400
    assert too_deep.json["errors"][0]["pointer"] == "/parent_id"
    assert snapshot() == before
    assert owner.request("POST", "/api/v1/goals/", {"name": "4th"}).status == 201
    before = snapshot()
    assert owner.request("POST", "/api/v1/goals/", {"name": "5th"}).status == 409
    assert snapshot() == before


# --- NUL and control characters: PostgreSQL cannot store or compare NUL ------

NUL = "a\u0000b"
NUL_BODIES = [
    ("POST", "/api/v1/auth/register", {"username": NUL, "email": "n@e.co"}),
    ("POST", "/api/v1/auth/register", {"username": "nulmail", "email": NUL}),
    ("POST", "/api/v1/auth/login", {"username": NUL, "password": PASSWORD}),
    ("PATCH", "/api/v1/users/me", {"email": NUL, "current_password": PASSWORD}),
    ("POST", "/api/v1/readings/", {"sensor": NUL, "data": {}}),
    ("POST", "/api/v1/readings/", {"sensor": "s", "data": {NUL: 1}}),
    ("POST", "/api/v1/readings/", {"sensor": "s", "data": {"k": NUL}}),
    ("POST", "/api/v1/readings/", {"sensor": "s", "data": {}, "client_id": NUL}),
    ("POST", "/api/v1/readings/", {"sensor": "s", "data": {}, "recorded_at": NUL}),
    ("POST", "/api/v1/readings/batch", {"readings": [{"sensor": NUL, "data": {}}]}),
    ("POST", "/api/v1/goals/", {"name": NUL}),
    ("POST", "/api/v1/goals/", {"name": "n", "description": NUL}),
    ("POST", "/api/v1/goals/", {"name": "n", "started_at": NUL}),
    ("PATCH", "/api/v1/goals/{goal}", {"name": NUL}),
    ("POST", "/api/v1/alerts/", dict(RULE, name=NUL)),
    ("POST", "/api/v1/alerts/", dict(RULE, sensor=NUL)),
    ("POST", "/api/v1/alerts/", dict(RULE, webhook_url="https://a" + NUL)),
    (
        "POST",
        "/api/v1/alerts/",
        dict(RULE, condition={"type": "threshold", "field": NUL, "above": 1}),
    ),
    ("PATCH", "/api/v1/alerts/{rule}", {"name": NUL}),
    ("POST", "/api/v1/devices/", {"name": NUL}),
    ("POST", "/api/v1/devices/", {"name": "n", "sensors": [NUL]}),
    ("PATCH", "/api/v1/devices/{device}", {"name": NUL}),
    ("PATCH", "/api/v1/devices/{device}", {"sensors": ["ok", NUL]}),
]
# Passwords are hashed, never stored or compared as text: a NUL is just wrong.
NUL_PASSWORDS = [
    ("POST", "/api/v1/auth/login", {"username": "nobody", "password": NUL}, 401),
    ("PATCH", "/api/v1/users/me", {"current_password": NUL}, 403),
    ("DELETE", "/api/v1/users/me", {"current_password": NUL}, 403),
]
NUL_QUERIES = [
    "/api/v1/readings/?sensor=a%00b",
    "/api/v1/readings/?since=a%00b",
    "/api/v1/readings/?cursor=a%00b",
    "/api/v1/readings/?order=a%00b",
    "/api/v1/readings/export?sensor=a%00b",
    "/api/v1/readings/export?format=a%00b",
    "/api/v1/readings/stats?sensor=a%00b&field=x",
    "/api/v1/readings/stats?sensor=s&field=a%00b",
    "/api/v1/readings/stats?sensor=s&field=x&bucket=a%00b",
    "/api/v1/goals/?flat=a%00b",
    "/api/v1/goals/?user_id=a%00b",
    "/api/v1/users/?cursor=a%00b",
    "/api/v1/alerts/?cursor=a%00b",
    "/api/v1/alerts/events?rule_id=a%00b",
    "/api/v1/alerts/events?since=a%00b",
    "/api/v1/alerts/1/deliveries?cursor=a%00b",
    "/api/v1/readings/?device_id=a%00b",
    "/api/v1/readings/export?device_id=a%00b",
    "/api/v1/readings/latest?sensor=a%00b",
    "/api/v1/readings/latest?cursor=a%00b",
    "/api/v1/devices/?cursor=a%00b",
]


@pytest.mark.parametrize(
    "method, template, body",
    NUL_BODIES,
    ids=[f"{m} {p} {sorted(b)}" for m, p, b in NUL_BODIES],
)
def test_nul_in_any_body_string_is_a_400_on_every_database(
    method, template, body, alice, http, snapshot
):
    """Found by this suite: a NUL in the login name was a 500 on PostgreSQL."""
    body = dict(body, password=PASSWORD) if template.endswith("register") else body
    before = snapshot()
    response = http.request(
        method, template.format(**alice.ids), body, token=alice.account.access_token
    )
    assert response.status == 400, response.body
    assert snapshot() == before


@pytest.mark.parametrize("method, path, body, status", NUL_PASSWORDS)
def test_nul_in_a_password_is_just_a_wrong_password(
    method, path, body, status, alice, http, snapshot
):
    before = snapshot()
    response = http.request(method, path, body, token=alice.account.access_token)
    assert response.status == status, response.body
    assert snapshot() == before


@pytest.mark.parametrize("path", NUL_QUERIES)
def test_nul_in_any_query_parameter_is_a_400_on_every_database(path, alice, http):
    token = alice.admin.access_token if "/users/" in path else None
    response = http.request("GET", path, token=token or alice.account.access_token)
    assert response.status == 400, response.body


def test_stats_over_huge_finite_values_answer_200_not_an_overflow_500(alice, http):
    """Found by this suite: summing two 1e308 readings overflowed to a 500."""
    token = alice.account.access_token
    for _ in range(2):
        stored = http.request(
            "POST",
            "/api/v1/readings/",
            {"sensor": "huge", "data": {"x": 1e308}},
            token=token,
        )
        assert stored.status == 201
    response = http.request(
        "GET", "/api/v1/readings/stats?sensor=huge&field=x&bucket=1d", token=token
    )
    assert response.status == 200, response.body
    (bucket,) = response.json["buckets"]
    assert bucket["count"] == 2 and bucket["max"] == 1e308
    assert b"Infinity" not in response.body and b"NaN" not in response.body


# --- Bytes that are not UTF-8 JSON, sent to every operation with a body -------

MARK = b"MARK"
MARKED_TARGET = {
    "sensor": "s-MARK",
    "field": "f-MARK",
    "aggregate": "sum",
    "op": ">=",
    "value": 1,
}
# Per operation, a body the schema accepts; MARK is where the bad bytes go.
VALID_BODIES = {
    ("post", "/auth/register"): {
        "username": "bytes_" + uuid.uuid4().hex[:8],
        "email": "bytes@example.com",
        "password": "pw-MARK-long-enough",
    },
    ("post", "/auth/login"): {"username": "MARK", "password": PASSWORD},
    ("post", "/auth/verify-email"): {"token": "MARK"},
    ("patch", "/users/me"): {"current_password": PASSWORD, "password": "new-MARK-pw"},
    ("delete", "/users/me"): {"current_password": PASSWORD + "MARK"},
    ("post", "/readings/"): {"sensor": "s-MARK", "data": {"k": "MARK"}},
    ("post", "/readings/batch"): {"readings": [{"sensor": "MARK", "data": {}}]},
    ("post", "/goals/"): {"name": "g-MARK", "target": MARKED_TARGET},
    ("patch", "/goals/{goal_id}"): {"name": "g-MARK", "target": MARKED_TARGET},
    ("post", "/alerts/"): dict(RULE, name="r-MARK"),
    ("patch", "/alerts/{rule_id}"): {"name": "r-MARK"},
    ("post", "/devices/"): {"name": "d-MARK", "sensors": ["MARK/*"]},
    ("patch", "/devices/{device_id}"): {"name": "d-MARK"},
    # No string member: MARK is an extra key, never read (the bytes fail first).
    ("post", "/devices/{device_id}/rotate"): {"grace_seconds": 0, "MARK": 0},
}
# Replacements for MARK inside a UTF-8 body: each is not UTF-8.
BAD_UTF8 = {
    "invalid start byte": b"\xff",
    "lone continuation byte": b"a\x80b",
    "truncated sequence": b"\xe2\x82",
    "Latin-1 e acute": b"caf\xe9",
    "CESU-8 lone high surrogate": b"\xed\xa0\x80",
    "CESU-8 lone low surrogate": b"\xed\xb0\x80",
    "CESU-8 surrogate pair": b"\xed\xa0\xbd\xed\xb8\x80",
    "overlong slash": b"\xc0\xaf",
    "overlong NUL (modified UTF-8)": b"\xc0\x80",
    "overlong 3-byte": b"\xe0\x80\xaf",
    "overlong 4-byte": b"\xf0\x80\x80\xaf",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
    "5-byte form": b"\xf8\x88\x80\x80\x80",
}
# Whole bodies in another encoding (json.loads(bytes) would guess these).
OTHER_ENCODINGS = {
    "UTF-16 LE with BOM": "utf-16",
    "UTF-16 LE": "utf-16-le",
    "UTF-16 BE": "utf-16-be",
    "UTF-32 with BOM": "utf-32",
    "UTF-32 LE": "utf-32-le",
    "UTF-32 BE": "utf-32-be",
    "UTF-8 with BOM": "utf-8-sig",
}
# Media types that are not application/json in UTF-8: a 415 whatever the body.
NOT_JSON_MEDIA_TYPES = [
    "application/vnd.foo+json",
    "application/merge-patch+json",
    "application/json; charset=utf-16",
    "text/plain",
]


def raw_body_corpus(body):
    """(name, content type, bytes, expected status) for one valid body."""
    text = json.dumps(body, ensure_ascii=False)
    utf8 = text.encode()
    for name, bad in BAD_UTF8.items():
        yield name, "application/json", utf8.replace(MARK, bad), 400
    for name, codec in OTHER_ENCODINGS.items():
        yield name, "application/json", text.replace("MARK", "\u00e9").encode(
            codec
        ), 400
    for media_type in NOT_JSON_MEDIA_TYPES:
        yield media_type, media_type, utf8.replace(MARK, b"ok"), 415


def body_operations(http):
    """(method, path) of every operation whose spec declares a body."""
    spec = http.request("GET", "/api/v1/swagger.json").json
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = shared + operation.get("parameters", [])
            if any(p.get("in") == "body" for p in params):
                found.append((method, path))
    return found


def test_bodies_that_are_not_utf8_json_are_refused_everywhere_and_store_nothing(
    alice, http, snapshot
):
    """Found by review: a raw CESU-8 surrogate was a 500 on login and register."""
    operations = body_operations(http)
    missing = sorted(set(operations) - set(VALID_BODIES))
    assert not missing, f"add a valid example body for {missing} to VALID_BODIES"
    ids = {f"{name}_id": value for name, value in alice.ids.items()}
    before = snapshot()
    wrong = []
    sent = 0
    # DELETE /users/me last: if it were accepted, alice would be gone.
    for method, path in sorted(operations, key=lambda op: op[0] == "delete"):
        url = "/api/v1" + path.format(**ids)
        for name, media_type, raw, status in raw_body_corpus(
            VALID_BODIES[(method, path)]
        ):
            response = http.request(
                method.upper(),
                url,
                raw=raw,
                headers={"Content-Type": media_type},
                token=alice.account.access_token,
            )
            sent += 1
            problem = response.json or {}
            if response.status != status or "errors" in problem:
                wrong.append((method, path, name, response.status, problem))
    assert not wrong, wrong
    assert sent >= len(operations) * 20
    assert snapshot() == before


def test_unknown_members_named_with_non_ascii_digits_are_a_400_everywhere(
    alice, http, snapshot
):
    """Found by a fuzzer: {"³": 1} was a 500 before auth (int() of isdigit())."""
    ids = {f"{name}_id": value for name, value in alice.ids.items()}
    before = snapshot()
    wrong = []
    for method, path in sorted(body_operations(http), key=lambda op: op[0] == "delete"):
        for name in ("³", "²", "①"):
            body = {**VALID_BODIES[(method, path)], name: 1}
            response = http.request(
                method.upper(),
                "/api/v1" + path.format(**ids),
                body=json.loads(json.dumps(body).replace("MARK", "x")),
                token=alice.account.access_token,
            )
            pointers = [
                e.get("pointer") for e in (response.json or {}).get("errors", [])
            ]
            if response.status != 400 or "/" + name not in pointers:
                wrong.append((method, path, name, response.status, response.json))
    assert not wrong, wrong
    assert snapshot() == before


# --- A trailing newline is not the same name ($ in Python re) ----------------

STAMP = "2024-01-01T00:00:00Z"
TRAILING_NEWLINES = [
    ("POST", "/api/v1/auth/register", {"username": "{alice}\n"}, "/username"),
    (
        "POST",
        "/api/v1/auth/register",
        {"username": "nl_mail", "email": "{alice}@example.com\n"},
        "/email",
    ),
    ("POST", "/api/v1/auth/login", {"username": "{alice}\n"}, "/username"),
    ("PATCH", "/api/v1/users/me", {"email": "nl@example.com\r\n"}, "/email"),
    (
        "POST",
        "/api/v1/readings/",
        {"sensor": "s", "data": {}, "client_id": str(uuid.uuid4()) + "\n"},
        "/client_id",
    ),
    (
        "POST",
        "/api/v1/readings/",
        {"sensor": "s", "data": {}, "recorded_at": STAMP + "\n"},
        "/recorded_at",
    ),
    (
        "POST",
        "/api/v1/goals/",
        {"name": "n", "started_at": STAMP + "\n"},
        "/started_at",
    ),
    (
        "POST",
        "/api/v1/alerts/",
        dict(RULE, webhook_url="https://example.com/hook\n"),
        "/webhook_url",
    ),
    ("POST", "/api/v1/devices/", {"name": "box\n"}, "/name"),
]


@pytest.mark.parametrize(
    "method, path, fields, pointer",
    TRAILING_NEWLINES,
    ids=[f"{m} {p} {ptr}" for m, p, _, ptr in TRAILING_NEWLINES],
)
def test_a_value_with_a_trailing_newline_is_a_400_not_a_second_name(
    method, path, fields, pointer, alice, http, snapshot
):
    """Found by review: "alice\\n" registered next to alice and could log in."""
    defaults = {
        "/api/v1/auth/register": {"email": "nl@example.com", "password": PASSWORD},
        "/api/v1/auth/login": {"password": PASSWORD},
        "/api/v1/users/me": {"current_password": PASSWORD},
    }.get(path, {})
    name = alice.account.username
    body = defaults | {
        k: v.replace("{alice}", name) if isinstance(v, str) else v
        for k, v in fields.items()
    }
    before = snapshot()
    response = http.request(method, path, body, token=alice.account.access_token)
    assert response.status == 400, response.body
    assert pointer in [e.get("pointer") for e in response.json["errors"]]
    assert snapshot() == before
