"""The Swagger spec tells the truth about every readings operation."""

import pytest

# Every secured operation also declares 401, 403 (a device key where it may not
# go, or outside its sensors) and 503 (@authenticated).
EXPECTED = {
    ("/readings/", "post"): {"200", "201", "400", "413", "415", "429"},
    ("/readings/", "get"): {"200", "400"},
    ("/readings/latest", "get"): {"200", "400"},
    ("/readings/batch", "post"): {"201", "400", "413", "415", "429"},
    ("/readings/{reading_id}", "get"): {"200", "404"},
    ("/readings/{reading_id}", "delete"): {"204", "404"},
    ("/readings/stats", "get"): {"200", "400"},
    ("/readings/export", "get"): {"200", "400"},
}


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/swagger.json").json


@pytest.mark.parametrize("path, method", sorted(EXPECTED))
def test_every_status_an_operation_answers_is_declared(spec, path, method):
    operation = spec["paths"][path][method]
    declared = EXPECTED[(path, method)] | {"401", "403", "503"}
    assert set(operation["responses"]) == declared
    assert operation["security"] == [{"Bearer": []}]
    assert operation["summary"]


def test_the_reading_models_mark_nullable_fields(spec):
    reading = spec["definitions"]["Reading"]["properties"]
    assert reading["client_id"].get("x-nullable") is True
    assert reading["device_id"].get("x-nullable") is True
    page = spec["definitions"]["ReadingPage"]["properties"]
    assert page["next_cursor"].get("x-nullable") is True


def test_stats_requires_sensor_and_field_in_the_spec(spec):
    parameters = spec["paths"]["/readings/stats"]["get"]["parameters"]
    required = {p["name"] for p in parameters if p.get("required")}
    assert required == {"sensor", "field"}
