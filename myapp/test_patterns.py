"""Every string field of every schema, swept with control characters.

Patterns are published in the Swagger spec, where clients read them as ECMA
regex ($ is the end of the value); the server validates with Python's re (both
jsonschema and fastjsonschema), where $ also matches before a final newline.
Each field must give the same verdict as the ECMA reading of its pattern, for
values with control characters before, inside and after a valid value.
Schemas are discovered: any Schema in a `myapp.*.schemas` module is swept.
"""

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from testing.schemas import discovered_schemas, string_fields

from myapp.validation import PATTERN_END, Schema

CONTROLS = ["\n", "\r\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x1b", "\x7f"]
CONTROLS += ["\x85", "\u2028", "\u2029"]


def ecma(pattern):
    """The pattern as ECMA regex reads it, in Python: $ only at the very end."""
    if pattern.endswith(PATTERN_END):
        pattern = pattern[: -len(PATTERN_END)] + "$"
    return pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern


def string_schema(field):
    """The field's string rules alone (a nullable field is checked as a string)."""
    return {k: v for k, v in field.items() if k not in ("type", "description")} | {
        "type": "string"
    }


FIELDS = [
    pytest.param(schema, pointer, field, id=f"{name}{pointer}")
    for name, schema in sorted(discovered_schemas().items())
    for pointer, field in string_fields(schema.schema)
]


def test_sweep_discovers_the_write_schemas_of_every_feature():
    names = {param.values[0].name for param in FIELDS}
    assert {"UserRegister", "Login", "ReadingCreate", "GoalCreate"} <= names


@pytest.mark.parametrize("schema, pointer, field", FIELDS)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_control_characters_get_the_verdict_the_published_pattern_gives(
    schema, pointer, field, data
):
    rules = string_schema(field)
    pattern = rules.get("pattern")
    if pattern:
        value = data.draw(st.from_regex(ecma(pattern), fullmatch=True))
    else:
        value = "v" * max(1, rules.get("minLength", 1))
    slow = Draft202012Validator(rules)
    fast = fastjsonschema.compile(rules, use_formats=False)
    expected = Draft202012Validator(
        rules | {"pattern": ecma(pattern)} if pattern else rules
    )
    for control in CONTROLS:
        for variant in (
            value + control,
            control + value,
            value[:1] + control + value[1:],
        ):
            want = expected.is_valid(variant)
            assert slow.is_valid(variant) == want, (pointer, variant)
            try:
                fast(variant)
                fast_ok = True
            except fastjsonschema.JsonSchemaException:
                fast_ok = False
            assert fast_ok == want, (pointer, variant)


@pytest.mark.parametrize("pattern", ["^a$", "a" + PATTERN_END, "^a$(?!x)"])
def test_a_pattern_that_may_not_match_the_whole_value_is_refused(pattern):
    with pytest.raises(ValueError, match="PATTERN_END"):
        Schema("Bad", {"type": "string", "pattern": pattern})
