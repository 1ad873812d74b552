"""Work handed on only once its transaction commits, forgotten on rollback.

later(kind, item) inside a transaction queues item; after the session's
COMMIT the kind's handler (on_commit(kind, handler)) gets the list of its
items, in order; a rollback forgets them. Two kinds use it:

- news for a user's live stream: note(user_id, name, body), sent with every
  noted item as user_news_committed, so a feature that notes needs no other
  feature, and nothing reaches a stream for work that was rolled back;
- metrics counted only for committed work (metrics.count_after_commit).
"""

from blinker import Namespace
from sqlalchemy import event

from myapp.db import db

_signals = Namespace()
# user_news_committed.send(news=[(user_id, name, body), ...]) after a COMMIT.
user_news_committed = _signals.signal("user-news-committed")
_PENDING = "myapp.committed.pending"
_HANDLERS = {}
_NEWS = "user_news"


def on_commit(kind, handler):
    """handler(items) runs after each COMMIT that queued items of kind."""
    _HANDLERS[kind] = handler


def later(kind, item):
    """Queue item for kind's handler, once the current transaction commits."""
    db.session.info.setdefault(_PENDING, {}).setdefault(kind, []).append(item)


def note(user_id, name, body):
    """Hand body (JSON-ready) to user_id's streams as event name, once committed."""
    later(_NEWS, (user_id, name, body))


def _send_news(news):
    if user_news_committed.receivers:
        user_news_committed.send(news=news)


on_commit(_NEWS, _send_news)


def init_app(app):
    if not getattr(db.session, "_committed_hooks", False):
        event.listen(db.session, "after_commit", _hand_on)
        event.listen(db.session, "after_rollback", _forget)
        event.listen(db.session, "after_soft_rollback", _forget_soft)
        db.session._committed_hooks = True


def _hand_on(session):
    for kind, items in session.info.pop(_PENDING, {}).items():
        _HANDLERS[kind](items)


def _forget(session):
    session.info.pop(_PENDING, None)


def _forget_soft(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
