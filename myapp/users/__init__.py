"""Accounts, login sessions and JWT auth."""

from myapp import auth, owners
from myapp.users.cli import cli
from myapp.users.credentials import load_principal
from myapp.users.endpoints import auth_ns, users_ns
from myapp.users.models import User
from myapp.users.service import find_user_id_by_login


def init_app(app):
    """Hand the core what it needs of accounts: sessions, and the owners' rows."""
    auth.use_session_loader(load_principal)
    owners.use(table=User.__table__, find=find_user_id_by_login)


__all__ = ["auth_ns", "users_ns", "cli", "init_app"]
