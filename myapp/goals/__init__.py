"""Per-user goal trees: create, move, complete and reopen, progress, delete."""

from myapp.goals.endpoints import ns

__all__ = ["ns"]
