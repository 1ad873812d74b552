"""GET /stream: Server-Sent Events of what happens to the caller's own data."""

import redis
from flask import Response, current_app, jsonify, request
from flask_restx import Namespace, Resource

from myapp import watchdog
from myapp.auth import decode_bearer
from myapp.db import db
from myapp.decorators import authenticated
from myapp.errors import problem
from myapp.live.stream import Stream
from myapp.validation import ascii_digits

# Set in the WSGI environ (never by a client: not an HTTP_ key) by the relay
# (myapp/live/relay.py), which holds the stream itself and only asks here.
RELAY = "myapp.live.relay"
GRANT = "X-Myapp-Live-Grant"  # marks the relay's answer (never sent on)
ns = Namespace("stream", description="Live updates (Server-Sent Events)")
HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # nginx: pass each event on at once instead of buffering the answer.
    "X-Accel-Buffering": "no",
}


def _last_event_id():
    text = request.headers.get("Last-Event-ID", "").strip()
    return int(text) if ascii_digits(text) and len(text) <= 18 else None


@ns.route("")
class LiveStream(Resource):
    @ns.doc(id="openStream")
    @ns.produces(["text/event-stream"])
    @ns.response(200, "text/event-stream of readings, alert and goal events")
    @authenticated(ns, 429)
    def get(self, caller):
        """Open a stream of your events; Last-Event-ID replays what you missed.

        A device key is a 403 (streams are for people); 429 past the user's
        streams, 503 when this process holds all the streams it may.
        """
        principal = caller
        claims = decode_bearer("access")
        live = current_app.extensions["live"]
        if request.environ.get(RELAY):
            return _granted(live, principal.user_id, claims)
        if not live.process_slots.take():
            return _refused(503, "This server holds all the streams it may.", 5)
        try:
            lease = live.user_slots.take(principal.user_id)
        except redis.RedisError:
            live.process_slots.give_back()
            return _refused(503, "Live updates are unavailable for now.", 5)
        if lease is None:
            live.process_slots.give_back()
            return _refused(429, "You have too many streams open.", live.lease_seconds)
        # The stream waits for a long time: it must not hold a database session.
        db.session.close()
        release = live.releaser(principal.user_id, lease)
        stream = Stream(
            current_app._get_current_object(),
            live,
            user_id=principal.user_id,
            claims=dict(claims),
            lease=lease,
            last_id=_last_event_id(),
        )
        try:
            stream.open()
        except redis.RedisError:
            release()
            return _refused(503, "Live updates are unavailable for now.", 5)
        seconds = current_app.config["HARAKIRI"]
        response = Response(
            watchdog.rearming(stream.events(), seconds),
            mimetype="text/event-stream",
            headers=HEADERS,
        )
        response.call_on_close(stream.close)
        response.call_on_close(release)
        return response


def _granted(live, user_id, claims):
    """For the relay: the user's lease and token claims, or the refusal."""
    try:
        lease = live.user_slots.take(user_id)
    except redis.RedisError:
        return _refused(503, "Live updates are unavailable for now.", 5)
    if lease is None:
        return _refused(429, "You have too many streams open.", live.lease_seconds)
    grant = jsonify(
        user_id=user_id, lease=lease, claims=dict(claims), last_id=_last_event_id()
    )
    grant.headers[GRANT] = "1"
    return grant


def _refused(status, detail, retry_after):
    return problem(status, detail, headers={"Retry-After": str(int(retry_after))})
