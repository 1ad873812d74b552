"""News for a user's live stream, handed on only once its transaction commits.

Any feature notes what a user should hear (note(user_id, name, body)) inside
the transaction that causes it; the session's after_commit hook sends
user_news_committed with everything noted, and a rollback forgets it. The
live feature listens and publishes; a feature that notes needs no other
feature, and nothing reaches a stream for work that was rolled back.
"""

from blinker import Namespace
from sqlalchemy import event

from myapp.db import db

_signals = Namespace()
# user_news_committed.send(news=[(user_id, name, body), ...]) after a COMMIT.
user_news_committed = _signals.signal("user-news-committed")
_NOTED = "user_news"


def note(user_id, name, body):
    """Hand body (JSON-ready) to user_id's streams as event name, once committed."""
    db.session.info.setdefault(_NOTED, []).append((user_id, name, body))


def init_app(app):
    if not getattr(db.session, "_news_hooks", False):
        event.listen(db.session, "after_commit", _send_noted)
        event.listen(db.session, "after_rollback", _forget_noted)
        event.listen(db.session, "after_soft_rollback", _forget_soft)
        db.session._news_hooks = True


def _send_noted(session):
    noted = session.info.pop(_NOTED, None)
    if noted and user_news_committed.receivers:
        user_news_committed.send(news=noted)


def _forget_noted(session):
    session.info.pop(_NOTED, None)


def _forget_soft(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_NOTED, None)
