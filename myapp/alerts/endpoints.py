"""HTTP for alert rules: /alerts, their events, delivery attempts, unsubscribing."""

from flask import current_app, url_for
from flask_restx import Namespace, Resource

from myapp.alerts import emails, schemas, service
from myapp.db import ID_MAX
from myapp.decorators import authenticated, body, errors, query, response
from myapp.errors import not_found
from myapp.pagination import keyset_page, page_parser
from myapp.query import id_number, timestamp

ns = Namespace(
    "alerts",
    description="Alert rules on your readings, their events and signed webhooks",
    path="/alerts",
)

_list_args = page_parser()
_event_args = page_parser()
_event_args.add_argument(
    "rule_id", type=id_number, help="Only this rule's events (404 if not yours)"
)
_event_args.add_argument("since", type=timestamp, help="Only events with at >= since")


@ns.route("/")
class RuleList(Resource):
    @ns.doc(id="listAlertRules")
    @response(ns, 200, "A page of your rules", schemas.RULE_PAGE)
    @authenticated(ns)
    @query(ns, _list_args)
    def get(self, caller, args):
        """Your alert rules, in id order."""
        return keyset_page(
            service.list_rules,
            args,
            scope="alert-rules",
            serialize=schemas.rule_public,
            user_id=caller.user_id,
        )

    @ns.doc(id="createAlertRule")
    @response(ns, 201, "Created, in state ok", schemas.RULE)
    @authenticated(ns, 409)
    @body(ns, schemas.CREATE)
    def post(self, caller, data):
        """Create a rule; with a webhook_url the answer shows its secret, once.

        Past ALERT_RULES_MAX_PER_USER rules (100 by default) a 409. A
        webhook_url is checked now (scheme, user info, every address its host
        resolves to): a refused one is a 400 at /webhook_url.
        """
        rule, secret = service.create_rule(user_id=caller.user_id, **data)
        location = url_for("api.alert_rule", rule_id=rule.id)
        return schemas.rule_public(rule, secret), 201, {"Location": location}


@ns.route("/events")
class EventList(Resource):
    @ns.doc(id="listAlertEvents")
    @response(ns, 200, "A page of events, newest first", schemas.EVENT_PAGE)
    @authenticated(ns, 404)
    @query(ns, _event_args)
    def get(self, caller, args):
        """Your rules' state changes, newest first; rule_id of another user: 404."""
        return keyset_page(
            service.list_events,
            args,
            scope="alert-events",
            serialize=schemas.event_public,
            user_id=caller.user_id,
        )


@ns.route(f"/<int(max={ID_MAX}):rule_id>", endpoint="alert_rule")
@ns.param("rule_id", "The rule's id")
class RuleItem(Resource):
    @ns.doc(id="getAlertRule")
    @response(ns, 200, "The rule", schemas.RULE)
    @authenticated(ns, 404)
    def get(self, caller, rule_id):
        """One of your rules."""
        return schemas.rule_public(
            service.get_rule(user_id=caller.user_id, rule_id=rule_id)
        )

    @ns.doc(id="updateAlertRule")
    @response(ns, 200, "The rule after the change", schemas.RULE)
    @authenticated(ns, 404)
    @body(ns, schemas.UPDATE)
    def patch(self, caller, rule_id, data):
        """Rename, change the condition or the webhook; other members are a 400.

        A changed condition restarts the rule at ok (a firing rule first
        records a resolved event). webhook_url null removes the webhook and
        cancels its pending deliveries; a URL where there was none comes with
        a new webhook_secret, shown in this answer only.
        """
        rule, secret = service.update_rule(
            user_id=caller.user_id, rule_id=rule_id, **data
        )
        return schemas.rule_public(rule, secret)

    @ns.doc(id="deleteAlertRule")
    @response(ns, 204, "Deleted, with its events and deliveries")
    @authenticated(ns, 404)
    def delete(self, caller, rule_id):
        """Delete one of your rules, its events and pending deliveries."""
        service.delete_rule(user_id=caller.user_id, rule_id=rule_id)
        return "", 204


@ns.route(f"/<int(max={ID_MAX}):rule_id>/deliveries")
@ns.param("rule_id", "The rule's id")
class DeliveryList(Resource):
    @ns.doc(id="listAlertDeliveries")
    @response(ns, 200, "A page of attempts, newest first", schemas.ATTEMPT_PAGE)
    @authenticated(ns, 404)
    @query(ns, _list_args)
    def get(self, caller, rule_id, args):
        """The rule's webhook and email delivery attempts, newest first."""
        return keyset_page(
            service.list_attempts,
            args,
            scope="alert-attempts",
            serialize=schemas.attempt_public,
            user_id=caller.user_id,
            rule_id=rule_id,
        )


@ns.route("/unsubscribe/<string:token>", endpoint="alert_unsubscribe")
@ns.param("token", "The signed token of the link in an alert email")
class Unsubscribe(Resource):
    @ns.doc(id="unsubscribeFromAlertEmails")
    @response(ns, 204, "Email is off for the link's rule")
    @errors(ns, 404, 503)
    def post(self, token):
        """One-click unsubscribe (RFC 8058): email off for one rule, no sign-in.

        The List-Unsubscribe link of every alert email; mail programs post
        List-Unsubscribe=One-Click as a form, and the body is not read. A link
        that is not one of ours is a 404; one of a deleted rule a 204.
        """
        rule_id = emails.rule_of_unsubscribe(current_app.config, token)
        if rule_id is None:
            raise not_found("unsubscribe link")
        service.unsubscribe(rule_id=rule_id)
        return "", 204
