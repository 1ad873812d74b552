"""HTTP for accounts: /auth (register, login, refresh, logout) and /users."""

from flask import url_for
from flask_restx import Namespace, Resource

from myapp.auth import (
    admin_required,
    auth_required,
    current_principal,
    decode_bearer,
)
from myapp.docs import errors, secured
from myapp.errors import not_found
from myapp.limiter import (
    login_per_account,
    login_per_network,
    register_per_network,
    wrong_password_per_user,
)
from myapp.pagination import decode_cursor, encode_cursor, page_limit, page_parser
from myapp.users import schemas, service
from myapp.validation import json_body

auth_ns = Namespace("auth", description="Register, log in, refresh, log out")
users_ns = Namespace("users", description="Accounts")


@auth_ns.route("/register")
class Register(Resource):
    decorators = [register_per_network]

    @auth_ns.expect(schemas.REGISTER.model(auth_ns))
    @auth_ns.response(201, "Account created", schemas.USER.model(auth_ns))
    @errors(auth_ns, 400, 409, 413, 415, 429, 503)
    def post(self):
        """Create an account."""
        user = service.register(**json_body(schemas.REGISTER))
        location = url_for("api.user", user_id=user.id)
        return schemas.user_public(user), 201, {"Location": location}


@auth_ns.route("/login")
class Login(Resource):
    decorators = [login_per_account, login_per_network]

    @auth_ns.expect(schemas.LOGIN.model(auth_ns))
    @auth_ns.response(200, "Tokens", schemas.TOKENS.model(auth_ns))
    @errors(auth_ns, 400, 401, 413, 415, 429, 503)
    def post(self):
        """Log in with username (or email) and password."""
        body = json_body(schemas.LOGIN)
        user = service.check_credentials(
            login=body["username"], password=body["password"]
        )
        return service.start_session(user=user)


@auth_ns.route("/refresh")
class Refresh(Resource):
    @auth_ns.response(200, "A new token pair", schemas.TOKENS.model(auth_ns))
    @secured(auth_ns)
    def post(self):
        """Trade the refresh token (as Bearer) for a new access and refresh token."""
        return service.rotate_session(claims=decode_bearer("refresh"))


@auth_ns.route("/logout")
class Logout(Resource):
    @auth_ns.response(204, "Logged out")
    @secured(auth_ns)
    @auth_required
    def post(self):
        """Revoke this access token and its login session's refresh token."""
        service.end_session(session_id=current_principal().session_id)
        return "", 204


@users_ns.route("/me")
class Me(Resource):
    @users_ns.response(200, "You", schemas.USER.model(users_ns))
    @secured(users_ns)
    @auth_required
    def get(self):
        """Your account."""
        return schemas.user_public(
            service.get_user(user_id=current_principal().user_id)
        )

    @users_ns.expect(schemas.UPDATE_ME.model(users_ns))
    @users_ns.response(200, "Updated", schemas.USER.model(users_ns))
    @secured(users_ns, 400, 403, 409, 413, 415, 429)
    @auth_required
    @wrong_password_per_user
    def patch(self):
        """Change your email or password (current_password required)."""
        body = json_body(schemas.UPDATE_ME)
        principal = current_principal()
        user = service.update_user(
            user=service.get_user(user_id=principal.user_id),
            current_session_id=principal.session_id,
            **body,
        )
        return schemas.user_public(user)

    @users_ns.expect(schemas.DELETE_ME.model(users_ns))
    @users_ns.response(204, "Deleted, with your readings and goals")
    @secured(users_ns, 400, 403, 413, 415, 429)
    @auth_required
    @wrong_password_per_user
    def delete(self):
        """Delete your account (current_password required)."""
        body = json_body(schemas.DELETE_ME)
        service.delete_own_account(
            user=service.get_user(user_id=current_principal().user_id),
            current_password=body["current_password"],
        )
        return "", 204


_page = page_parser()


@users_ns.route("/")
class UserList(Resource):
    @users_ns.expect(_page)
    @users_ns.response(200, "A page of users", schemas.USER_PAGE.model(users_ns))
    @secured(users_ns, 400, 403)
    @admin_required
    def get(self):
        """List every account (admins only)."""
        args = _page.parse_args()
        limit = page_limit(args["limit"])
        after = decode_cursor("users", args["cursor"])
        users, more = service.list_users(
            limit=limit, after_id=after[0] if after else None
        )
        next_cursor = encode_cursor("users", [users[-1].id]) if more else None
        return {
            "items": [schemas.user_public(u) for u in users],
            "next_cursor": next_cursor,
        }


# Ids are 32-bit; a larger number names no user (PostgreSQL would reject it).
@users_ns.route("/<int(max=2147483647):user_id>", endpoint="user")
class UserItem(Resource):
    @users_ns.response(200, "The user", schemas.USER.model(users_ns))
    @secured(users_ns, 404)
    @auth_required
    def get(self, user_id):
        """One account: yours, or anyone's for an admin."""
        principal = current_principal()
        if user_id != principal.user_id and not principal.is_admin:
            raise not_found("user")
        return schemas.user_public(service.get_user(user_id=user_id))

    @users_ns.response(204, "Deleted")
    @secured(users_ns, 403, 404)
    @admin_required
    def delete(self, user_id):
        """Delete an account and everything it owns (admins only)."""
        service.delete_user(user_id=user_id)
        return "", 204
