"""JSON Schemas: compiled once, used to validate bodies and to document them."""

import copy
import json

import fastjsonschema
from jsonschema import Draft202012Validator

from myapp.errors import ValidationFailed

# Python's $ (which both validators use) also matches before a final newline, so
# "alice\n" matched ^...$; (?!\n) makes it the end of the value, and changes
# nothing in the ECMA regex of spec-driven clients. Every pattern ends with it.
PATTERN_END = r"$(?!\n)"
# A schema with a "pattern" says its rule in words here: clients show the
# message next to the field, and a regular expression means nothing to a person.
PATTERN_MESSAGE = "x-pattern-message"
# The contract's word for a missing value, and for an empty one where "" fails.
REQUIRED = "required"
_KINDS = {
    "string": "text",
    "integer": "a whole number, such as 42",
    "number": "a number, such as 10000 or 25.5",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


class Schema:
    """One JSON Schema: validator, fast path, and its Swagger 2.0 rendering."""

    def __init__(self, name, schema, fast=False):
        self.name = name
        self.schema = schema
        Draft202012Validator.check_schema(schema)
        _check_patterns(name, schema)
        self._validator = Draft202012Validator(schema)
        # fastjsonschema compiles the same schema to Python code for hot paths;
        # formats are annotations only, exactly as in the jsonschema validator.
        self._fast = fastjsonschema.compile(schema, use_formats=False) if fast else None

    def errors(self, instance):
        """Every violation as {"pointer", "message"}, in document order."""
        found = []
        for error in self._validator.iter_errors(instance):
            for entry in _describe(error):
                if entry not in found:  # "" fails minLength and pattern alike
                    found.append(entry)
        return sorted(found, key=lambda e: _pointer_sort_key(e["pointer"]))

    def validate(self, instance):
        """Return the instance, or raise ValidationFailed listing every violation."""
        if self._fast is not None:
            try:
                self._fast(instance)
                return instance
            except fastjsonschema.JsonSchemaException:
                pass
        found = self.errors(instance)
        if found:
            raise ValidationFailed(found, "The request body failed validation.")
        return instance

    def model(self, ns):
        """Register (once per namespace) and return the Swagger model."""
        if self.name not in ns.models:
            model = ns.schema_model(self.name, to_swagger(self.schema))
            # The OpenAPI 3.1 document publishes the schema itself (myapp.openapi).
            model.json_schema = self.schema
        return ns.models[self.name]


def _check_patterns(name, schema):
    """Refuse, at import, a pattern not matching the whole value or unexplained."""
    if isinstance(schema, dict):
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not (
            pattern.startswith("^") and pattern.endswith(PATTERN_END)
        ):
            raise ValueError(
                f"{name}: pattern {pattern!r} must start with ^ and end with "
                f"PATTERN_END"
            )
        if isinstance(pattern, str) and not schema.get(PATTERN_MESSAGE):
            raise ValueError(
                f"{name}: pattern {pattern!r} needs {PATTERN_MESSAGE}, its rule "
                f"in words"
            )
        values = schema.values()
    elif isinstance(schema, list):
        values = schema
    else:
        return
    for value in values:
        _check_patterns(name, value)


def _escape(part):
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(path):
    return "".join("/" + _escape(part) for part in path)


def _pointer_sort_key(text):
    """Array indexes in numeric order; a key like "0" never compares to a name.

    Only ASCII digits make an index: "³" or "①" pass str.isdigit() but not int().
    """
    return [(0, int(p), "") if ascii_digits(p) else (1, 0, p) for p in text.split("/")]


def ascii_digits(text):
    """Whether text is one or more of 0-9 (str.isdigit() takes "³", "١" too)."""
    return text.isascii() and text.isdigit()


def _describe(error):
    base = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [p for p in error.validator_value if p not in instance]
        name = next((p for p in missing if error.message.startswith(repr(p))), None)
        if name is not None:
            return [{"pointer": pointer(base + [name]), "message": REQUIRED}]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = [key for key in instance if key not in allowed]
        if extras:
            return [
                {
                    "pointer": pointer(base + [key]),
                    "message": "is not an allowed property",
                }
                for key in extras
            ]
    if instance == "" and error.validator in ("minLength", "pattern"):
        return [{"pointer": pointer(base), "message": REQUIRED}]
    return [{"pointer": pointer(base), "message": _message(error)}]


def _plural(count, noun):
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _kinds(rule):
    """A type rule in words: "a number, such as 10000 or 25.5, or null"."""
    names = [_KINDS.get(kind, "another kind of value") for kind in rule]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", or " + names[-1]


def _rule_messages(rule, schema):
    return {
        "type": lambda: _kinds(rule if isinstance(rule, list) else [rule]),
        "minLength": lambda: (
            "must not be empty"
            if rule == 1
            else f"must be at least {_plural(rule, 'character')} long"
        ),
        "maxLength": lambda: f"must be at most {_plural(rule, 'character')} long",
        "pattern": lambda: schema[PATTERN_MESSAGE],
        "minimum": lambda: f"must be at least {rule}",
        "maximum": lambda: f"must be at most {rule}",
        "exclusiveMinimum": lambda: f"must be greater than {rule}",
        "exclusiveMaximum": lambda: f"must be less than {rule}",
        "multipleOf": lambda: f"must be a multiple of {rule}",
        "enum": lambda: "must be one of " + ", ".join(json.dumps(v) for v in rule),
        "const": lambda: f"must be {json.dumps(rule)}",
        "minItems": lambda: f"must have at least {_plural(rule, 'item')}",
        "maxItems": lambda: f"must have at most {_plural(rule, 'item')}",
        "uniqueItems": lambda: "must not contain duplicates",
        "minProperties": lambda: f"must have at least {_plural(rule, 'member')}",
        "maxProperties": lambda: f"must have at most {_plural(rule, 'member')}",
        "format": lambda: f"must be a valid {rule}",
    }


def _message(error):
    """Why a value is invalid, never echoing it: it may be a password, or huge."""
    make = _rule_messages(error.validator_value, error.schema).get(error.validator)
    if make is not None:
        return make()
    return "is not allowed here"


_SWAGGER_DROP = {"$schema", "$id", "$comment", "const"}


def to_swagger(schema):
    """Render a JSON Schema in the Swagger 2.0 dialect flask-restx publishes."""
    if isinstance(schema, list):
        return [to_swagger(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _SWAGGER_DROP:
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: to_swagger(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_swagger(value)
        elif key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]
            if "null" in value:
                out["x-nullable"] = True
        else:
            out[key] = copy.deepcopy(value)
    if "const" in schema:
        out["enum"] = [schema["const"]]
    return out
