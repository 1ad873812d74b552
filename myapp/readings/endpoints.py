"""HTTP for readings: upload, keyset pages, one reading, stats and export."""

from flask import current_app, url_for
from flask_restx import Namespace, Resource

from myapp.decorators import authenticated, body, query, response
from myapp.devices.uploads import per_device
from myapp.readings.limits import per_user_upload
from myapp.pagination import keyset_page, page_parser
from myapp.query import (
    device_filter,
    one_of,
    query_parser,
    text,
    time_zone,
    timestamp,
)
from myapp.readings import (
    export,
    queries,
    retention,
    retention_schemas,
    schemas,
    service,
    stats,
)

ns = Namespace("readings", description="Sensor readings", path="/readings")

sensor_name = text(schemas.SENSOR["maxLength"])
# A top-level key of data; SQLite JSON paths cannot quote '"'.
field_name = text(256, also_forbidden='"')


def _filters(parser):
    parser.add_argument("sensor", type=sensor_name, help="Only this sensor")
    parser.add_argument("since", type=timestamp, help="recorded_at >= since")
    parser.add_argument("until", type=timestamp, help="recorded_at < until")
    return parser


def _by_device(parser):
    parser.add_argument(
        "device_id",
        type=device_filter,
        help="Only this device's uploads; none: only those made with a user's token",
    )
    return parser


def _ordered(parser):
    parser.add_argument(
        "order", type=one_of("desc", "asc"), default="desc", help="By recorded_at"
    )
    return parser


_list_args = _ordered(_by_device(_filters(page_parser())))
_export_args = _ordered(_by_device(_filters(query_parser())))
_export_args.add_argument(
    "format",
    type=one_of(*export.CHUNKS),
    default="ndjson",
    dest="kind",
    help="File format",
)
_stats_args = _filters(query_parser())
_stats_args.replace_argument(
    "sensor", type=sensor_name, required=True, help="The sensor (required)"
)
_stats_args.add_argument(
    "field",
    type=field_name,
    required=True,
    help='Top-level key of data (required; 1 to 256 characters, no " or NUL)',
)
_stats_args.add_argument(
    "bucket", type=one_of(*stats.BUCKETS), default="1h", help="Bucket width"
)
_stats_args.add_argument(
    "tz", type=time_zone, help="IANA zone of the buckets (default: your time_zone)"
)
_latest_args = page_parser()
_latest_args.add_argument("sensor", type=sensor_name, help="Only this sensor (exact)")


@ns.route("/")
class ReadingList(Resource):
    @ns.doc(id="listReadings")
    @response(ns, 200, "A page of readings", schemas.READING_PAGE)
    @authenticated(ns)
    @query(ns, _list_args)
    def get(self, caller, args):
        """Your readings, newest first (or oldest with order=asc), keyset-paged."""
        return keyset_page(
            queries.list_readings,
            args,
            scope="readings:" + args["order"],
            serialize=schemas.reading_public,
            user_id=caller.user_id,
        )

    @ns.doc(id="createReading")
    @response(ns, 201, "Stored", schemas.READING_PUBLIC)
    @response(ns, 200, "Already stored under this client_id", schemas.READING_REPEAT)
    @authenticated(ns, 429, keys=("device",))
    @per_device
    @per_user_upload
    @body(ns, schemas.READING)
    def post(self, caller, data):
        """Store one reading (a user's token, or a device key for its sensors).

        A repeated client_id answers the reading first stored under it, with 200.
        """
        reading, created = service.store_reading(caller=caller, item=data)
        if not created:
            return schemas.repeat_public(reading), 200
        location = url_for("api.reading", reading_id=reading.id)
        return schemas.reading_public(reading), 201, {"Location": location}


@ns.route("/batch")
class ReadingBatch(Resource):
    @ns.doc(id="createReadingBatch")
    @response(ns, 201, "Stored, ids in input order", schemas.BATCH_RESULT)
    @authenticated(ns, 429, keys=("device",))
    @per_device
    @per_user_upload
    @body(ns, schemas.BATCH)
    def post(self, caller, data):
        """Store 1 to 1000 readings, all or nothing (a user's token or a device key)."""
        ids, created = service.store_batch(caller=caller, items=data["readings"])
        return {"ids": ids, "created": created}, 201


@ns.route("/latest")
class LatestReadings(Resource):
    @ns.doc(id="listLatestReadings")
    @response(ns, 200, "The newest reading of each sensor", schemas.LATEST_PAGE)
    @authenticated(ns)
    @query(ns, _latest_args)
    def get(self, caller, args):
        """The newest reading of each of your sensors, by sensor in code-point order."""
        page = keyset_page(
            queries.latest_readings,
            args,
            scope="readings:latest",
            serialize=schemas.reading_json,
            user_id=caller.user_id,
        )
        return schemas.json_page(page)


@ns.route("/retention")
class Retention(Resource):
    @ns.doc(id="getRetentionRules")
    @response(ns, 200, "Your retention rules", retention_schemas.RETENTION)
    @authenticated(ns)
    def get(self, caller):
        """How long your raw readings are kept, and when pruning follows the rules."""
        policy = retention.get_policy(user_id=caller.user_id)
        return retention_schemas.retention_public(policy)

    @ns.doc(id="replaceRetentionRules")
    @response(ns, 200, "The rules as stored", retention_schemas.RETENTION)
    @authenticated(ns)
    @body(ns, retention_schemas.RETENTION_PUT)
    def put(self, caller, data):
        """Replace your retention rules (pruning more waits for a grace period)."""
        policy = retention.put_rules(
            user_id=caller.user_id,
            rules=data["rules"],
            now=service.now_micros(),
            grace_hours=current_app.config["RETENTION_GRACE_HOURS"],
        )
        return retention_schemas.retention_public(policy)


@ns.route("/retention/preview")
class RetentionPreview(Resource):
    @ns.doc(id="previewPruning")
    @response(ns, 200, "What pruning will remove", retention_schemas.PREVIEW)
    @authenticated(ns)
    def get(self, caller):
        """The readings pruning at prunes_from would remove, counted now, per sensor."""
        now = service.now_micros()
        rows = retention.preview(user_id=caller.user_id, now=now)
        return retention_schemas.preview_public(now, rows)


@ns.route("/<int:reading_id>", endpoint="reading")
class ReadingItem(Resource):
    @ns.doc(id="getReading")
    @response(ns, 200, "The reading", schemas.READING_PUBLIC)
    @authenticated(ns, 404)
    def get(self, caller, reading_id):
        """One of your readings."""
        reading = queries.get_reading(user_id=caller.user_id, reading_id=reading_id)
        return schemas.reading_public(reading)

    @ns.doc(id="deleteReading")
    @response(ns, 204, "Deleted")
    @authenticated(ns, 404)
    def delete(self, caller, reading_id):
        """Delete one of your readings."""
        service.delete_reading(user_id=caller.user_id, reading_id=reading_id)
        return "", 204


@ns.route("/stats")
class ReadingStats(Resource):
    @ns.doc(id="getReadingStats")
    @response(ns, 200, "Buckets with values", schemas.STATS)
    @authenticated(ns)
    @query(ns, _stats_args)
    def get(self, caller, args):
        """count/sum/min/max/avg of a numeric data field per bucket of your zone."""
        args["tz"] = args["tz"] or caller.time_zone
        answer = stats.reading_stats(user_id=caller.user_id, **args)
        return schemas.stats_public(args, answer)


@ns.route("/export")
class ReadingExport(Resource):
    @ns.doc(id="exportReadings")
    @ns.produces(list(export.MEDIA_TYPES.values()))
    @response(ns, 200, "Every matching reading, streamed as a file")
    @authenticated(ns)
    @query(ns, _export_args)
    def get(self, caller, args):
        """Download every matching reading as NDJSON or CSV (streamed, no paging)."""
        return export.download(user_id=caller.user_id, **args)
