"""HTTP for accounts: /auth (register, login, refresh, logout) and /users."""

from flask import url_for
from flask_restx import Namespace, Resource

from myapp.db import ID_MAX
from myapp.decorators import authenticated, body, errors, query, response
from myapp.errors import not_found
from myapp.pagination import keyset_page, page_parser
from myapp.users import schemas, service, verification
from myapp.users.limits import (
    login_per_account,
    login_per_network,
    register_per_network,
    verify_email_per_user,
    wrong_password_per_user,
)

auth_ns = Namespace("auth", description="Register, log in, refresh, log out")
users_ns = Namespace("users", description="Accounts")


@auth_ns.route("/register")
class Register(Resource):
    decorators = [register_per_network]

    @auth_ns.doc(id="register")
    @response(auth_ns, 201, "Account created", schemas.USER)
    @errors(auth_ns, 409, 429, 503)
    @body(auth_ns, schemas.REGISTER)
    def post(self, data):
        """Create an account."""
        user = service.register(**data)
        location = url_for("api.user", user_id=user.id)
        return schemas.user_public(user), 201, {"Location": location}


@auth_ns.route("/login")
class Login(Resource):
    decorators = [login_per_account, login_per_network]

    @auth_ns.doc(id="login")
    @response(auth_ns, 200, "Tokens", schemas.TOKENS)
    @errors(auth_ns, 401, 429, 503)
    @body(auth_ns, schemas.LOGIN)
    def post(self, data):
        """Log in with username (or email) and password."""
        user = service.check_credentials(
            login=data["username"], password=data["password"]
        )
        return service.start_session(user=user)


@auth_ns.route("/refresh")
class Refresh(Resource):
    @auth_ns.doc(id="refreshTokens")
    @response(auth_ns, 200, "A new token pair", schemas.TOKENS)
    @authenticated(auth_ns, refresh=True)
    def post(self, caller):
        """Trade the refresh token (as Bearer) for a new access and refresh token."""
        return service.rotate_session(token=caller)


@auth_ns.route("/logout")
class Logout(Resource):
    @auth_ns.doc(id="logout")
    @response(auth_ns, 204, "Logged out")
    @authenticated(auth_ns)
    def post(self, caller):
        """Revoke this access token and its login session's refresh token."""
        service.end_session(session_id=caller.session_id)
        return "", 204


@auth_ns.route("/verify-email")
class VerifyEmail(Resource):
    @auth_ns.doc(id="verifyEmail")
    @response(auth_ns, 204, "The address is verified")
    @errors(auth_ns, 503)
    @body(auth_ns, schemas.VERIFY_EMAIL)
    def post(self, data):
        """Follow a verification link: its token verifies your address (no auth).

        A token is good for 48 hours, once; a bad, expired or used one is a 400
        at /token.
        """
        verification.verify(token=data["token"])
        return "", 204


@users_ns.route("/me/verify-email")
class SendVerification(Resource):
    @users_ns.doc(id="sendVerificationEmail")
    @response(users_ns, 202, "The message was handed to the mail server")
    @authenticated(users_ns, 409, 429)
    @verify_email_per_user
    def post(self, caller):
        """Send the verification message for your address again (rate-limited).

        409 when your address is already verified, or where the operator
        configured no email.
        """
        verification.send_again(user=service.get_user(user_id=caller.user_id))
        return "", 202


@users_ns.route("/me")
class Me(Resource):
    @users_ns.doc(id="getCurrentUser")
    @response(users_ns, 200, "You", schemas.USER)
    @authenticated(users_ns)
    def get(self, caller):
        """Your account."""
        return schemas.user_public(service.get_user(user_id=caller.user_id))

    @users_ns.doc(id="updateCurrentUser")
    @response(users_ns, 200, "Updated", schemas.USER)
    @authenticated(users_ns, 403, 409, 429)
    @wrong_password_per_user
    @body(users_ns, schemas.UPDATE_ME)
    def patch(self, caller, data):
        """Change your email, password (with current_password) or time zone."""
        user = service.update_user(
            user=service.get_user(user_id=caller.user_id),
            current_session_id=caller.session_id,
            **data,
        )
        return schemas.user_public(user)

    @users_ns.doc(id="deleteCurrentUser")
    @response(users_ns, 204, "Deleted, with your readings and goals")
    @authenticated(users_ns, 403, 429)
    @wrong_password_per_user
    @body(users_ns, schemas.DELETE_ME)
    def delete(self, caller, data):
        """Delete your account (current_password required)."""
        service.delete_own_account(
            user=service.get_user(user_id=caller.user_id),
            current_password=data["current_password"],
        )
        return "", 204


_list_args = page_parser()


@users_ns.route("/")
class UserList(Resource):
    @users_ns.doc(id="listUsers")
    @response(users_ns, 200, "A page of users", schemas.USER_PAGE)
    @authenticated(users_ns, admin=True)
    @query(users_ns, _list_args)
    def get(self, caller, args):
        """List every account (admins only)."""
        return keyset_page(
            service.list_users, args, scope="users", serialize=schemas.user_public
        )


# A larger number names no user (PostgreSQL would reject it as a key).
@users_ns.route(f"/<int(max={ID_MAX}):user_id>", endpoint="user")
class UserItem(Resource):
    @users_ns.doc(id="getUser")
    @response(users_ns, 200, "The user", schemas.USER)
    @authenticated(users_ns, 404)
    def get(self, caller, user_id):
        """One account: yours, or anyone's for an admin."""
        if user_id != caller.user_id and not caller.is_admin:
            raise not_found("user")
        return schemas.user_public(service.get_user(user_id=user_id))

    @users_ns.doc(id="deleteUser")
    @response(users_ns, 204, "Deleted")
    @authenticated(users_ns, 404, admin=True)
    def delete(self, caller, user_id):
        """Delete an account and everything it owns (admins only)."""
        service.delete_user(user_id=user_id)
        return "", 204
