"""Accounts, login sessions and JWT auth."""

from myapp.users.cli import cli
from myapp.users.endpoints import auth_ns, users_ns

__all__ = ["auth_ns", "users_ns", "cli"]
