"""The versioned API: one Blueprint, one flask-restx Api, a line per feature."""

import base64
import hashlib
import re

from flask import Blueprint, current_app, jsonify, request
from flask_restx import Api
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from myapp import (
    alerts,
    devices,
    errors,
    goals,
    health,
    live,
    openapi,
    readings,
    users,
)

AUTHORIZATIONS = {
    "Bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Type: Bearer <access_token> (from POST /auth/login), "
        "or Bearer <device key> (mdk_..., from POST /devices/) for the two "
        "upload operations, POST /readings/ and POST /readings/batch.",
    }
}


class AsciiIntegerConverter(IntegerConverter):
    """<int:...> path parts of ASCII digits: werkzeug's \\d+ also takes "١٢"."""

    regex = r"[0-9]+"


class ProblemApi(Api):
    """flask-restx Api whose errors go through the one problem+json handler."""

    def handle_error(self, e):
        return errors.handle_exception(e)

    @cached_property
    def __schema__(self):
        """The spec, with problem+json declared wherever errors can be answered."""
        return declare_problem_json(super().__schema__)

    @cached_property
    def openapi(self):
        """The OpenAPI 3.1 document: this spec with the JSON Schemas themselves."""
        schemas = {
            name: model.json_schema
            for name, model in self.models.items()
            if hasattr(model, "json_schema")
        }
        return openapi.openapi_document(self.__schema__, schemas)


def declare_problem_json(spec):
    """Every operation may answer an error as application/problem+json: say so."""
    if "paths" not in spec:
        return spec
    spec["produces"] = _with_problem(spec.get("produces", ["application/json"]))
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "produces" in operation:
                operation["produces"] = _with_problem(operation["produces"])
    return spec


def _with_problem(types):
    return list(types) + [t for t in [errors.PROBLEM_JSON] if t not in types]


def build_api(app):
    """A fresh Blueprint and Api for this app, with every feature's namespaces."""
    blueprint = Blueprint("api", __name__)
    api = ProblemApi(
        blueprint,
        version=app.config["VERSION"],
        title="myapp API",
        description="Sensor readings, goal trees and accounts. "
        "Errors are RFC 9457 application/problem+json.",
        prefix="/api/v1",
        doc="/docs",
        authorizations=AUTHORIZATIONS,
    )
    api.add_namespace(health.ns)
    api.add_namespace(users.auth_ns)
    api.add_namespace(users.users_ns)
    api.add_namespace(readings.ns)
    api.add_namespace(goals.ns)
    api.add_namespace(devices.ns)
    api.add_namespace(alerts.ns)
    api.add_namespace(live.ns)
    blueprint.add_url_rule(
        "/api/v1/openapi.json", "openapi", lambda: jsonify(api.openapi)
    )
    return blueprint


def index():
    """Where to find the docs and the spec."""
    return jsonify(
        name="myapp",
        version=current_app.config["VERSION"],
        docs="/docs",
        spec="/api/v1/swagger.json",
        openapi="/api/v1/openapi.json",
    )


# Swagger UI's page: its files and its one inline script (allowed by hash), no
# framing (the web client's refresh token lives in this origin's sessionStorage).
DOCS_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' {scripts}",
        "style-src 'self' 'unsafe-inline'",  # Swagger UI sets style attributes
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


def docs_headers(response):
    """/docs: a Content-Security-Policy allowing exactly its inline scripts."""
    if request.path != "/docs" or response.mimetype != "text/html":
        return response
    hashes = [
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(script).digest()).decode()
        for script in _INLINE_SCRIPT.findall(response.get_data())
    ]
    response.headers["Content-Security-Policy"] = DOCS_POLICY.format(
        scripts=" ".join(hashes)
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def init_app(app):
    app.url_map.converters["int"] = AsciiIntegerConverter
    app.after_request(docs_headers)
    app.register_blueprint(build_api(app))
    app.add_url_rule("/", "index", index, methods=["GET"])
