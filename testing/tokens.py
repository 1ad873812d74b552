"""Bad credentials of every kind, to prove each one is refused."""

import base64
import json
import time

import jwt

from testing.accounts import PASSWORD, bearer

BAD_TOKEN_KINDS = [
    "none",
    "malformed",
    "not bearer",
    "empty bearer",
    "expired",
    "bad signature",
    "alg none",
    "alg HS512",
    "refresh as access",
    "revoked",
    "future nbf",
    "missing sid",
]


def unsigned_copy(token):
    """The same claims under {"alg": "none"} and no signature."""
    claims = token.split(".")[1]
    header = json.dumps({"alg": "none", "typ": "JWT"}).encode()
    return base64.urlsafe_b64encode(header).rstrip(b"=").decode() + f".{claims}."


def bad_headers(kind, alice, expired_token, client, app):
    """The Authorization header for one of BAD_TOKEN_KINDS, built from alice's."""
    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    key = app.config["SECRET_KEY"]
    if kind == "none":
        return {}
    if kind == "malformed":
        return bearer("not.a.jwt")
    if kind == "not bearer":
        return {"Authorization": f"Basic {alice.access_token}"}
    if kind == "empty bearer":
        return {"Authorization": "Bearer "}
    if kind == "expired":
        return bearer(expired_token)
    if kind == "bad signature":
        return bearer(jwt.encode(claims, "another-secret-key-" * 3, algorithm="HS256"))
    if kind == "alg none":
        return bearer(unsigned_copy(alice.access_token))
    if kind == "alg HS512":
        return bearer(jwt.encode(claims, key, algorithm="HS512"))
    if kind == "refresh as access":
        return bearer(alice.refresh_token)
    if kind == "revoked":
        tokens = client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        ).json
        client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        return bearer(tokens["access_token"])
    if kind == "future nbf":
        later = dict(claims, nbf=int(time.time()) + 3600)
        return bearer(jwt.encode(later, key, algorithm="HS256"))
    if kind == "missing sid":
        stripped = {k: v for k, v in claims.items() if k != "sid"}
        return bearer(jwt.encode(stripped, key, algorithm="HS256"))
    raise AssertionError(kind)
