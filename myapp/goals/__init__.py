"""Per-user goal trees: create, move, complete and reopen, progress, delete;
measured goals that the user's readings fulfil."""

from myapp.goals import measures
from myapp.goals.endpoints import ns

# Targets follow every write of readings, inside its transaction.
measures.init_receivers()

__all__ = ["ns"]
