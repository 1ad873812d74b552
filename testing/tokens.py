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


BAD_DEVICE_KEY_KINDS = [
    "malformed",
    "truncated",
    "one character changed",
    "trailing junk",
    "unknown",
    "deleted",
    "rotated, no grace",
    "another user's deleted device",
    "JWT with the mdk_ prefix",
]


def bad_device_key(kind, alice, bob):
    """A device key of one of BAD_DEVICE_KEY_KINDS (Accounts on the test client)."""
    from testing.devices import DEVICES, create_device, device_url

    if kind == "JWT with the mdk_ prefix":
        return "mdk_" + alice.access_token
    if kind == "unknown":
        return "mdk_" + "A" * 43
    owner = bob if kind == "another user's deleted device" else alice
    device = create_device(owner, "bad key kinds")
    key = device["key"]
    if kind == "malformed":
        return "mdk_not-a-key"
    if kind == "truncated":
        return key[:-1]
    if kind == "one character changed":
        return key[:-1] + ("A" if key[-1] != "A" else "B")
    if kind == "trailing junk":
        return key + "A"
    if kind == "rotated, no grace":
        owner.post(device_url(device["id"], "/rotate"), json={})
        return key
    if kind in ("deleted", "another user's deleted device"):
        assert owner.delete(DEVICES + str(device["id"])).status_code == 204
        return key
    raise AssertionError(kind)
