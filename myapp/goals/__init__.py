"""Per-user goal trees: create, move, complete and reopen, progress, delete;
measured goals that the user's readings fulfil."""

from myapp.goals import receivers
from myapp.goals.endpoints import ns

receivers.connect()

__all__ = ["ns"]
