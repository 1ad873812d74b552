"""Retention rules: how long each sensor's raw readings are kept, and the grace.

A reading falls under the first rule whose patterns match its sensor; none
means kept forever. A PUT that would prune something the rules in force kept
starts a grace of RETENTION_GRACE_HOURS: until prunes_from, pruning keeps
whatever any of those earlier rule lists (baselines) keeps. A PUT during a
grace starts it again, with the rules it replaces added to the baselines; a
PUT that keeps at least as much as every baseline applies at once.
"""

from typing import NamedTuple

import sqlalchemy as sa

# Retention rules take the patterns devices' scopes take, with their meaning.
from myapp.devices.scope import PREFIX_MARK, allowed
from myapp.db import db
from myapp.micros import MIN_MICROS
from myapp.owners import lock_owner
from myapp.readings.models import LatestReading, RetentionPolicy
from myapp.readings.rows import READINGS

DAY = 86400 * 1_000_000
QUARTER = 900 * 1_000_000
# Rule lists a grace honours at most; past it, the grace keeps everything.
BASELINES_MAX = 16
POLICIES = RetentionPolicy.__table__
LATEST = LatestReading.__table__


class Policy(NamedTuple):
    rules: list
    baselines: list
    updated_at: int | None
    prunes_from: int | None

    def in_grace(self, now):
        return bool(self.baselines) and self.prunes_from > now


NO_POLICY = Policy([], [], None, None)


def keep_days(rules, sensor):
    """keep_days of the first rule matching sensor, or None: kept forever."""
    for rule in rules:
        patterns = rule["sensors"]
        if allowed(None if patterns is None else tuple(patterns))(sensor):
            return rule["keep_days"]
    return None


def longer(a, b):
    """The longer of two keep_days (None, forever, is the longest)."""
    return None if a is None or b is None else max(a, b)


def keeps_at_least(new, old):
    """Whether rules new keep every sensor's readings at least as long as old.

    Checked on one sensor name per class of names the patterns tell apart:
    each exact name, each prefix followed by NUL (which no name or pattern
    holds, so it matches that prefix and the shorter ones it starts with, and
    nothing else), and NUL alone (no pattern at all).
    """
    names = {"\x00"}
    for rule in [*new, *old]:
        for pattern in rule["sensors"] or ():
            if pattern.endswith(PREFIX_MARK):
                names.add(pattern[:-1] + "\x00")
            else:
                names.add(pattern)
    return all(
        longer(keep_days(new, name), keep_days(old, name)) == keep_days(new, name)
        for name in names
    )


def effective_keep_days(policy, sensor, now):
    """How long sensor's readings are kept at now: the rules, or longer in a grace."""
    days = keep_days(policy.rules, sensor)
    if policy.in_grace(now):
        for baseline in policy.baselines:
            days = longer(days, keep_days(baseline, sensor))
    return days


def cutoff(days, now):
    """Readings recorded before this are in 15-minute UTC buckets wholly older
    than days before now (a bucket [s, s + 15 min) goes when s + 15 min <=
    now - days)."""
    edge = now - int(days) * DAY  # JSON Schema's integer admits 7.0
    return max(edge - edge % QUARTER, MIN_MICROS)


def get_policy(*, user_id):
    """The user's Policy (no rules: NO_POLICY)."""
    row = db.session.execute(
        sa.select(
            POLICIES.c.rules,
            POLICIES.c.baselines,
            sa.type_coerce(POLICIES.c.updated_at, sa.BigInteger),
            sa.type_coerce(POLICIES.c.prunes_from, sa.BigInteger),
        ).where(POLICIES.c.user_id == user_id)
    ).first()
    return NO_POLICY if row is None else Policy(*row)


def put_rules(*, user_id, rules, now, grace_hours):
    """Replace the user's rules at now; the Policy as stored. Commits.

    Under the user's lock: two racing PUTs each see the other's rules.
    """
    lock_owner(user_id=user_id)
    before = get_policy(user_id=user_id)
    kept = [before.rules, *(before.baselines if before.in_grace(now) else [])]
    baselines = []
    for old in kept:
        if not keeps_at_least(rules, old) and old not in baselines:
            baselines.append(old)
    if len(baselines) > BASELINES_MAX:
        baselines = [[]]  # no rules: until prunes_from, nothing is pruned
    if not rules:
        prunes_from = None
    elif baselines:
        prunes_from = now + int(grace_hours * 3600 * 1_000_000)
    else:
        prunes_from = now
    policy = Policy(rules, baselines, now, prunes_from)
    values = {"user_id": user_id, **policy._asdict()}
    updated = db.session.execute(
        sa.update(POLICIES).where(POLICIES.c.user_id == user_id).values(values)
    )
    if updated.rowcount == 0:
        db.session.execute(sa.insert(POLICIES).values(values))
    db.session.commit()
    return policy


def latest_of_sensors(*, user_id):
    """[(sensor, its newest reading's id)] of every sensor the user has, in order."""
    return db.session.execute(
        sa.select(LATEST.c.sensor, LATEST.c.reading_id)
        .where(LATEST.c.user_id == user_id)
        .order_by(LATEST.c.sensor)
    ).all()


def pruning_plan(policy, sensors, now):
    """[(sensor, cutoff)] of the sensors that have something to prune at now."""
    plan = []
    for sensor, _ in sensors:
        days = effective_keep_days(policy, sensor, now)
        if days is not None:
            plan.append((sensor, cutoff(days, now)))
    return plan


class PreviewRow(NamedTuple):
    sensor: str
    readings: int
    oldest: int
    newest: int
    starts: int  # when pruning of these readings starts


def preview(*, user_id, now):
    """What pruning at prunes_from (or now, if later) would remove, counted now:
    a PreviewRow per sensor with any, in sensor order."""
    policy = get_policy(user_id=user_id)
    at = max(policy.prunes_from or now, now)
    rows = []
    for sensor, latest_id in latest_of_sensors(user_id=user_id):
        days = keep_days(policy.rules, sensor)
        if days is None:
            continue
        recorded = sa.type_coerce(READINGS.c.recorded_at, sa.BigInteger)
        count, oldest, newest = db.session.execute(
            sa.select(
                sa.func.count(), sa.func.min(recorded), sa.func.max(recorded)
            ).where(
                READINGS.c.user_id == user_id,
                READINGS.c.sensor == sensor,
                recorded < cutoff(days, at),
                READINGS.c.id != latest_id,
            )
        ).one()
        if count:
            held = effective_keep_days(policy, sensor, now) != days
            rows.append(
                PreviewRow(
                    sensor, count, oldest, newest, policy.prunes_from if held else now
                )
            )
    return rows
