"""Schemathesis hooks (SCHEMATHESIS_HOOKS=myapp.e2e.fuzz_hooks): live tokens per case.

Every test case logs in afresh, so a fuzzed logout, refresh or password change
never leaves later cases with a revoked token. Operations on other accounts
(/users/ and /users/{id}) run as an admin so their success paths are fuzzed
too; the two fuzzing accounts can never be deleted by a generated id.
Environment: FUZZ_BASE_URL, FUZZ_USER, FUZZ_ADMIN, FUZZ_PASSWORD, FUZZ_KEEP_IDS.
"""

import json
import os

import requests
import schemathesis

from myapp.calendars import is_zone

NOWHERE_ID = 2**31 - 1


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set for the fuzzing hooks")
    return value


def _login(username):
    response = requests.post(
        _env("FUZZ_BASE_URL") + "/api/v1/auth/login",
        json={"username": username, "password": _env("FUZZ_PASSWORD")},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def _runs_as_admin(path):
    return path.startswith("/users/") and path != "/users/me"


@schemathesis.auth(refresh_interval=None)
class FreshLogin:
    """A new login session for every case; refresh takes the refresh token."""

    def get(self, case, context):
        path = context.operation.path
        user = _env("FUZZ_ADMIN") if _runs_as_admin(path) else _env("FUZZ_USER")
        tokens = _login(user)
        if path == "/auth/refresh":
            return tokens["refresh_token"]
        return tokens["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(context, case, kwargs):
    """Generated ids never name the fuzzing accounts themselves."""
    keep = set(_env("FUZZ_KEEP_IDS").split(","))
    params = case.path_parameters or {}
    # Coverage cases carry path values as wire strings, fuzzing ones as ints.
    if "user_id" in params and str(params["user_id"]) in keep:
        params["user_id"] = NOWHERE_ID


@schemathesis.hook
def map_case(context, case):
    """Positive cases leave out what no client can make up: cursors, parent goals.

    A cursor is signed by the server and a parent goal must be one of the
    caller's own; a made-up one is a documented 400, which is right, not a
    rejection of valid data. Negative cases keep them. A goal target's rule
    across its members (<= with sum or count needs a period) is kept too, a
    time zone is one of the pinned tzdata's names (any other is a 400), and a
    stats field has no '"'.
    """
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None:
        return case
    if case.query and not meta.is_negative_at(ParameterLocation.QUERY):
        case.query.pop("cursor", None)
        if "tz" in case.query:
            case.query["tz"] = _a_zone(case.query["tz"])
        if isinstance(case.query.get("field"), str):
            # A stats field has no '"' (a documented 400), which the spec's
            # length limits cannot say; schemathesis drops such patterns.
            case.query["field"] = case.query["field"].replace('"', "") or "f"
    body = case.body
    if isinstance(body, dict) and not meta.is_negative_at(ParameterLocation.BODY):
        if body.get("parent_id") is not None:
            body["parent_id"] = None
        if "time_zone" in body:
            body["time_zone"] = _a_zone(body["time_zone"])
        _keep_valid(body.get("target"))
    return case


def _a_zone(value):
    """value if it names a zone of the pinned tzdata, else one that does."""
    return value if is_zone(value) else "Europe/Berlin"


def _keep_valid(target):
    """A positive goal target keeps the rules schemathesis cannot read from the spec.

    <= on sum or count needs a period (a rule across members, which Swagger 2.0
    cannot express), and field's pattern (no '"', backslash or control
    characters) is one schemathesis drops; both are documented 400s.
    """
    if not isinstance(target, dict):
        return
    field = target.get("field")
    if isinstance(field, str):
        kept = "".join(c for c in field if c not in '"\\' and ord(c) >= 0x20)
        target["field"] = kept or "f"
    if target.get("period") is None and target.get("op") == "<=":
        if target.get("aggregate") in ("sum", "count"):
            target["period"] = "day"


# What no error response may contain (OWASP API8, and "never any password
# material"). Success bodies echo the caller's own data, which may hold any
# text; their shape is held by response_schema_conformance instead.
FORBIDDEN = ("Traceback (most recent call last)", 'File "/', "$argon2", "password_hash")


@schemathesis.check
def no_traceback_or_password_material(ctx, response, case):
    """No error body carries a traceback or password material it was not sent."""
    if response.status_code < 400:
        return
    text = response.content.decode("utf-8", "replace")
    sent = json.dumps([case.body, case.query, case.path_parameters], default=str)
    for needle in FORBIDDEN + (_env("FUZZ_PASSWORD"),):
        if needle in text and json.dumps(needle)[1:-1] not in sent:
            raise AssertionError(f"{needle!r} in a {response.status_code} body")
