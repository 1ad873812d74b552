"""Measured goals follow every write of readings, inside its transaction
(myapp/readings/signals.py): an upload adds to the targets on its sensors and
completes the goals it meets; a deletion recomputes them."""

from myapp.goals import locks, news, service, targets, upkeep
from myapp.goals.recompute import recompute, recompute_deleted
from myapp.micros import from_micros
from myapp.owners import time_zone_of


def _watching(user_id, sensors):
    """The user's targets on these sensors: one indexed lookup, and when there
    are any, read again under the goals lock (what tree writes and target
    changes hold), so they stay true until this transaction commits."""
    targets = upkeep.targets_on(user_id=user_id, sensors=sensors)
    if targets and locks.lock_goals(user_id=user_id):
        targets = upkeep.targets_on(user_id=user_id, sensors=sensors)
    return targets


def on_readings_stored(sender, *, user_id, readings, **_):
    """Add an upload's new readings to its sensors' targets; complete met goals."""
    targets = _watching(user_id, sorted({r.sensor for r in readings}))
    if not targets:
        return
    tz = time_zone_of(user_id=user_id)  # always: the same statements for any target

    def watch(met_changed):
        # Streaks cost their length to count: only when one may change.
        goal_ids = [target.goal_id for target in targets]
        news.watch(user_id=user_id, goal_ids=goal_ids, tz=tz, streaks=met_changed)

    completions = upkeep.add_readings(
        user_id=user_id, targets=targets, readings=readings, tz=tz, before_writing=watch
    )
    if completions:
        now = from_micros(readings[0].created_at)
        service.complete_goals(completions=completions, now=now)


def on_readings_deleted(sender, *, user_id, sensors, deleted, **_):
    """Recompute the periods that held deleted readings; completion stays."""
    locks.lock_goals(user_id=user_id, strength=locks.READINGS)
    targets = _watching(user_id, sorted(sensors))
    if targets:
        goal_ids = [target.goal_id for target in targets]
        news.watch(user_id=user_id, goal_ids=goal_ids)
        recompute_deleted(user_id=user_id, goal_ids=goal_ids, deleted=deleted)


def on_time_zone_changed(sender, *, user_id, time_zone, previous, **_):
    """Habits count periods of the user's zone: renumber and recompute them."""
    locks.lock_goals(user_id=user_id, strength=locks.TARGETS)
    habits = targets.habits_of(user_id=user_id)
    if habits:
        # Until renumbered, the habits' periods are those of the previous zone.
        news.watch(user_id=user_id, goal_ids=[h.goal_id for h in habits], tz=previous)
        targets.renumber(habits=habits, tz=time_zone)
        recompute(user_id=user_id, goal_ids=[habit.goal_id for habit in habits])
