"""Per-user goal trees: create, move, complete and reopen, progress, delete;
measured goals that the user's readings fulfil."""

from myapp import owners
from myapp.goals import pruned, receivers
from myapp.goals.endpoints import ns
from myapp.readings.signals import readings_deleted, readings_pruned, readings_stored


def init_app(app):
    """Measured goals follow every write of readings, inside its transaction."""
    readings_stored.connect(receivers.on_readings_stored)
    readings_deleted.connect(receivers.on_readings_deleted)
    readings_pruned.connect(pruned.on_readings_pruned)
    owners.time_zone_changed.connect(receivers.on_time_zone_changed)


__all__ = ["ns", "init_app"]
