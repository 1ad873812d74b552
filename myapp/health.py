"""GET /api/v1/health: is the service and its database up."""

from flask import current_app
from flask_restx import Namespace, Resource
from sqlalchemy import text

from myapp.db import db
from myapp.errors import problem

ns = Namespace("health", description="Service status", path="/health")


@ns.route("")
class Health(Resource):
    @ns.doc(id="getHealth")
    @ns.response(200, "Service and database are up")
    @ns.response(503, "Database unreachable")
    def get(self):
        """Report whether the service can reach its database."""
        version = current_app.config["VERSION"]
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:
            current_app.logger.warning("health check: database unreachable")
            db.session.rollback()
            # The contract's health body: "status" names the state here.
            return problem(
                503,
                "The database is unreachable.",
                status="unavailable",
                database="unavailable",
                version=version,
            )
        return {"status": "ok", "database": "ok", "version": version}
