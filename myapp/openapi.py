"""OpenAPI 3.1, made from the Swagger 2.0 spec and the JSON Schemas it renders.

Flask-RESTX publishes Swagger 2.0, which has no null type, no const and one
content type per document. The operations, parameters and responses are taken
from that spec (so operationIds, summaries and declared errors are the same in
both), and every body schema is the JSON Schema 2020-12 the code enforces
(validation.Schema), unchanged but for its $refs. Each error response is
application/problem+json whose status is the response's own.
"""

import copy

from myapp.errors import PROBLEM_JSON

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
JSON = "application/json"
# Keys of a Swagger 2.0 non-body parameter that belong in its 3.1 schema.
_PARAMETER_SCHEMA_KEYS = {
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
}
_DROP = {"$schema", "$id"}


def openapi_document(swagger, json_schemas):
    """The 3.1 document of a Swagger 2.0 spec; json_schemas: model name -> schema."""
    problem = "Problem" in swagger.get("definitions", {})
    document = {
        "openapi": "3.1.0",
        "info": copy.deepcopy(swagger["info"]),
        "servers": [{"url": swagger.get("basePath", "/")}],
        "tags": copy.deepcopy(swagger.get("tags", [])),
        "paths": {
            path: _path_item(item, swagger, problem)
            for path, item in swagger["paths"].items()
        },
        "components": {
            "schemas": {
                name: _component(name, schema, json_schemas)
                for name, schema in swagger.get("definitions", {}).items()
            },
            "securitySchemes": {
                name: _security_scheme(scheme)
                for name, scheme in swagger.get("securityDefinitions", {}).items()
            },
        },
    }
    return document


def _component(name, swagger_schema, json_schemas):
    if name in json_schemas:
        return _refs(json_schemas[name])
    return _refs(_from_swagger_schema(swagger_schema))


def _refs(schema):
    """A copy with #/definitions/ refs pointing at #/components/schemas/."""
    if isinstance(schema, list):
        return [_refs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "$ref" and isinstance(value, str):
            value = value.replace("#/definitions/", "#/components/schemas/")
        out[key] = _refs(value)
    return out


def _from_swagger_schema(schema):
    """Swagger 2.0's x-nullable as a null type; the rest is JSON Schema already."""
    if isinstance(schema, list):
        return [_from_swagger_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _from_swagger_schema(v) for k, v in schema.items() if k != "x-nullable"}
    if schema.get("x-nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _security_scheme(scheme):
    """A bearer token in the Authorization header is 3.1's http bearer scheme."""
    if scheme.get("type") == "apiKey" and scheme.get("name") == "Authorization":
        described = (
            {"description": scheme["description"]} if "description" in scheme else {}
        )
        return {"type": "http", "scheme": "bearer", **described}
    return copy.deepcopy(scheme)


def _path_item(item, swagger, problem):
    out = {}
    if "parameters" in item:
        out["parameters"] = [_parameter(p) for p in item["parameters"]]
    for method in METHODS:
        if method in item:
            out[method] = _operation(item[method], swagger, problem)
    return out


def _operation(operation, swagger, problem):
    out = {
        key: copy.deepcopy(operation[key])
        for key in ("operationId", "summary", "description", "tags", "security")
        if key in operation
    }
    parameters = operation.get("parameters", [])
    plain = [_parameter(p) for p in parameters if p["in"] not in ("body", "formData")]
    if plain:
        out["parameters"] = plain
    for parameter in parameters:
        if parameter["in"] == "body":
            consumes = operation.get("consumes") or swagger.get("consumes") or [JSON]
            out["requestBody"] = {
                "required": bool(parameter.get("required")),
                "content": {
                    kind: {"schema": _refs(parameter["schema"])} for kind in consumes
                },
            }
            if "description" in parameter:
                out["requestBody"]["description"] = parameter["description"]
    produces = [
        kind
        for kind in operation.get("produces") or swagger.get("produces") or [JSON]
        if kind != PROBLEM_JSON
    ]
    out["responses"] = {
        str(code): _response(int(code), response, produces, problem)
        for code, response in sorted(operation.get("responses", {}).items())
    }
    return out


def _parameter(parameter):
    out = {
        key: copy.deepcopy(parameter[key])
        for key in ("name", "in", "description", "required")
        if key in parameter
    }
    if parameter["in"] == "path":
        out["required"] = True
    schema = {
        key: copy.deepcopy(value)
        for key, value in parameter.items()
        if key in _PARAMETER_SCHEMA_KEYS
    }
    out["schema"] = _from_swagger_schema(
        {**schema, "x-nullable": parameter.get("x-nullable", False)}
    )
    if parameter.get("type") == "array":
        out["explode"] = parameter.get("collectionFormat") == "multi"
    if "example" in parameter:
        out["example"] = copy.deepcopy(parameter["example"])
    return out


def _response(code, response, produces, problem):
    out = {"description": response.get("description", "")}
    schema = response.get("schema")
    if schema is None:
        return out
    if code >= 400 and problem and schema == {"$ref": "#/definitions/Problem"}:
        out["content"] = {PROBLEM_JSON: {"schema": problem_schema(code)}}
    else:
        out["content"] = {kind: {"schema": _refs(schema)} for kind in produces}
    return out


def problem_schema(code):
    """A problem whose status is code: what 2.0 could only say in prose."""
    return {
        "allOf": [{"$ref": "#/components/schemas/Problem"}],
        "properties": {"status": {"const": code}},
    }
