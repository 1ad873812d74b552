"""Every layer's errors are problem+json; body limits; CORS; health; the root."""

import pytest
import sqlalchemy as sa

from myapp.db import db

PROBLEM = "application/problem+json"
REGISTER = "/api/v1/auth/register"


def assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == PROBLEM
    body = response.json
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_root_names_the_docs_and_spec(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json == {
        "name": "myapp",
        "version": "1.0.0",
        "docs": "/docs",
        "spec": "/api/v1/swagger.json",
        "openapi": "/api/v1/openapi.json",
    }


def test_swagger_spec_and_ui_are_served(client):
    spec = client.get("/api/v1/swagger.json")
    assert spec.status_code == 200
    assert spec.json["basePath"] == "/api/v1"
    assert spec.json["securityDefinitions"]["Bearer"]["in"] == "header"
    assert "/auth/login" in spec.json["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()


def test_health_reports_ok_with_version(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "version": "1.0.0"}


@pytest.fixture
def app_without_database(app_with):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    return app_with(SQLALCHEMY_DATABASE_URI=url)


def test_health_answers_503_unavailable_when_database_is_unreachable(
    app_without_database,
):
    response = app_without_database.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["database"] == "unavailable"


def test_any_request_needing_the_database_answers_503_when_it_is_unreachable(
    app_without_database,
):
    client = app_without_database.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "whatever1"}
    )
    body = assert_problem(response, 503)
    assert "Retry-After" in response.headers
    assert "psycopg" not in body.get("detail", "")


def test_unknown_path_answers_404_problem(client):
    assert_problem(client.get("/api/v1/nope"), 404)
    assert_problem(client.get("/nope"), 404)


def test_wrong_method_answers_405_with_allow(client):
    response = client.put("/api/v1/auth/login", json={})
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_non_json_body_answers_415(client):
    response = client.post(REGISTER, data="username=x", content_type="text/plain")
    assert_problem(response, 415)


def test_missing_content_type_answers_415(client):
    assert_problem(client.post(REGISTER, data=b"{}"), 415)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b'{"username": NaN}', b"[" * 100000 + b"]" * 100000, b"\xff\xfe"],
    ids=["truncated", "empty", "NaN", "deeply nested", "not utf-8"],
)
def test_unparseable_json_answers_400(client, raw):
    response = client.post(REGISTER, data=raw, content_type="application/json")
    assert_problem(response, 400)


def test_json_that_is_not_an_object_answers_400_at_the_root(client):
    response = client.post(REGISTER, json=[1, 2])
    body = assert_problem(response, 400)
    assert body["errors"][0]["pointer"] == ""


def test_body_over_one_mebibyte_answers_413(client):
    raw = b'{"username": "' + b"x" * (1024 * 1024) + b'"}'
    assert_problem(
        client.post(REGISTER, data=raw, content_type="application/json"), 413
    )


def test_validation_errors_list_every_violation_with_pointers(client):
    response = client.post(
        REGISTER, json={"username": "a", "email": 5, "password": "x", "extra": 1}
    )
    body = assert_problem(response, 400)
    pointers = sorted(error["pointer"] for error in body["errors"])
    assert pointers == ["/email", "/extra", "/password", "/username"]
    assert all(error["message"] for error in body["errors"])


@pytest.fixture
def failing_app(app_with):
    app = app_with(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    return app


def test_unexpected_error_answers_500_without_traceback_or_detail(failing_app):
    response = failing_app.test_client().get("/boom")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert body["detail"] == "An unexpected error occurred."


def test_integrity_error_becomes_409_in_one_place(app, client, alice, in_app):
    from myapp.errors import handle_exception
    from myapp.users.models import User

    def duplicate_email():
        db.session.add(
            User(username="dupe", email="alice@example.com", password_hash="x")
        )
        try:
            db.session.commit()
        except sa.exc.IntegrityError as error:
            with app.test_request_context():
                return handle_exception(error)

    response = in_app(duplicate_email)
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


@pytest.fixture
def cors_app(app_with):
    return app_with(CORS_ORIGINS="https://app.example.com, https://admin.example.com")


def test_cors_preflight_allows_configured_origin_with_auth_headers(cors_app):
    response = cors_app.test_client().options(
        "/api/v1/users/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


def test_cors_exposes_location_to_allowed_origin(cors_app):
    response = cors_app.test_client().get(
        "/api/v1/health", headers={"Origin": "https://admin.example.com"}
    )
    assert (
        response.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    )
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_cors_ignores_an_origin_not_configured(cors_app):
    response = cors_app.test_client().get(
        "/api/v1/health", headers={"Origin": "https://evil.example.com"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_request_without_origin_is_not_a_cors_request(cors_app):
    response = cors_app.test_client().get("/api/v1/health")
    assert response.status_code == 200
    assert not [name for name in response.headers.keys() if "Access-Control" in name]


def test_cors_headers_are_on_error_responses_too(cors_app):
    response = cors_app.test_client().get(
        "/api/v1/users/me", headers={"Origin": "https://app.example.com"}
    )
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_production_without_cors_origins_sends_no_cors_headers(app_with):
    app = app_with(ENV_NAME="production", SECRET_KEY="k" * 40, CORS_ORIGINS="")
    response = app.test_client().get("/", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": "x\\ud800", "email": "a@b.co", "password": "12345678"}',
        b'{"username": "abc", "email": "a@b.co", "\\udc00": 1}',
    ],
    ids=["lone surrogate value", "lone surrogate key"],
)
def test_json_with_a_lone_surrogate_answers_400_not_500(client, raw):
    response = client.post(REGISTER, data=raw, content_type="application/json")
    assert_problem(response, 400)


def test_json_with_a_valid_surrogate_pair_is_accepted(client):
    raw = (
        '{"username": "emoji", "email": "e@example.com",'
        ' "password": "pw \\ud83d\\ude00 long"}'
    )
    response = client.post(REGISTER, data=raw, content_type="application/json")
    assert response.status_code == 201


def test_the_docs_page_may_not_be_framed_and_runs_only_its_own_scripts(client):
    """Found as a hostile user: /docs, on the web client's origin, had no CSP."""
    docs = client.get("/docs")
    assert docs.status_code == 200
    policy = dict(
        (directive.strip().split(" ", 1) + [""])[:2]
        for directive in docs.headers["Content-Security-Policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    scripts = policy["script-src"].split()
    assert scripts[0] == "'self'" and len(scripts) == 2
    assert scripts[1].startswith("'sha256-")
    assert "unsafe" not in policy["script-src"]
    assert docs.headers["X-Frame-Options"] == "DENY"
