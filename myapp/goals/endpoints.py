"""HTTP for goal trees: /goals."""

from flask import url_for
from flask_restx import Namespace, Resource

from myapp.db import ID_MAX
from myapp.decorators import authenticated, body, query, response
from myapp.goals import queries, schemas, service
from myapp.query import boolean, id_number, query_parser

ns = Namespace("goals", description="Goal trees of any depth", path="/goals")


_list_args = query_parser()
_list_args.add_argument(
    "flat",
    type=boolean,
    default=False,
    help="true: every goal in one list by id (creation order), without children",
)
_list_args.add_argument(
    "user_id",
    type=id_number,
    help="Admins only (anyone else: 403): list this user's goals (404 if no such user)",
)


@ns.route("/")
class GoalList(Resource):
    @ns.doc(id="listGoals")
    @response(ns, 200, "Your goals", schemas.GOAL_LIST)
    @authenticated(ns, 403, 404)
    @query(ns, _list_args)
    def get(self, caller, args):
        """Your goal forest: top-level goals, each with its whole subtree.

        Siblings come in creation order. With flat=true every goal comes once, in
        creation (id) order, with no children key; parent_id links them. Admins
        may pass user_id for another user's goals (404 if that user does not
        exist); anyone else passing user_id gets a 403.
        """
        return {"items": queries.listed_goals(caller=caller, **args)}

    @ns.doc(id="createGoal")
    @response(ns, 201, "Created (with an empty children list)", schemas.GOAL)
    @authenticated(ns, 409)
    @body(ns, schemas.CREATE)
    def post(self, caller, data):
        """Create a goal, top-level or under one of your goals.

        A parent_id that is not one of your goals, or a parent at the depth limit
        (GOALS_MAX_DEPTH levels), is a 400 at /parent_id. Reaching the per-user
        limit (GOALS_MAX_PER_USER goals) is a 409. A new goal is open, so creating
        it under a completed goal reopens that goal and its completed ancestors.
        A target (see the Goal model) already met by your readings completes the
        new goal at once; a bad target is a 400 at its pointer under /target.
        """
        values = schemas.create_values(data)
        goal_id = service.create_goal(user_id=caller.user_id, **values)
        tree = queries.goal_tree(
            user_id=caller.user_id, goal_id=goal_id, tz=caller.time_zone
        )
        return tree, 201, {"Location": url_for("api.goal", goal_id=goal_id)}


@ns.route(f"/<int(max={ID_MAX}):goal_id>", endpoint="goal")
@ns.param("goal_id", "The goal's id")
class GoalItem(Resource):
    @ns.doc(id="getGoal")
    @response(ns, 200, "The goal with its subtree", schemas.GOAL)
    @authenticated(ns, 404)
    def get(self, caller, goal_id):
        """One of your goals with its whole subtree."""
        return queries.goal_tree(
            user_id=caller.user_id, goal_id=goal_id, tz=caller.time_zone
        )

    @ns.doc(id="updateGoal")
    @response(ns, 200, "The goal with its subtree, after the change", schemas.GOAL)
    @authenticated(ns, 404, 409)
    @body(ns, schemas.UPDATE)
    def patch(self, caller, goal_id, data):
        """Rename, re-describe, move (parent_id; null: top level), complete or reopen.

        completed=true completes the goal and all its open descendants with one
        timestamp; completed=false reopens the goal and its completed ancestors.
        A move is applied first: moving an open goal under a completed goal
        reopens the new parent and its completed ancestors; a completed goal
        stays completed wherever it moves. Moving a goal under itself or its own
        descendant is a 409; a parent_id that is not one of your goals, or a move
        that would nest deeper than GOALS_MAX_DEPTH levels, is a 400 at
        /parent_id. updated_at changes on every goal that changed.

        target sets the goal's target (null removes it), after a move and before
        completed; without completed in the body, a target that your readings
        already meet completes the goal. Readings complete a goal by themselves
        (never reopen one): see the Goal model's target.
        """
        values = schemas.update_values(data)
        service.update_goal(user_id=caller.user_id, goal_id=goal_id, **values)
        return queries.goal_tree(
            user_id=caller.user_id, goal_id=goal_id, tz=caller.time_zone
        )

    @ns.doc(id="deleteGoal")
    @response(ns, 204, "Deleted, with its whole subtree")
    @authenticated(ns, 404)
    def delete(self, caller, goal_id):
        """Delete one of your goals and its whole subtree."""
        service.delete_goal(user_id=caller.user_id, goal_id=goal_id)
        return "", 204
