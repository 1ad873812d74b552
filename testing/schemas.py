"""Every Schema of every feature, and the string fields inside them."""

import importlib
import pkgutil

import myapp
from myapp.validation import Schema


def discovered_schemas():
    found = {}
    for module in pkgutil.walk_packages(myapp.__path__, "myapp."):
        if module.name.endswith(".schemas"):
            for value in vars(importlib.import_module(module.name)).values():
                if isinstance(value, Schema):
                    found[value.name] = value
    return found


def string_fields(schema, path=""):
    """(pointer, subschema) of every subschema that admits a string."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        yield path or "/", schema
    for name, sub in schema.get("properties", {}).items():
        yield from string_fields(sub, f"{path}/{name}")
    if isinstance(schema.get("items"), dict):
        yield from string_fields(schema["items"], f"{path}/0")
    for key in ("anyOf", "oneOf", "allOf"):
        for index, sub in enumerate(schema.get(key, [])):
            yield from string_fields(sub, path)
