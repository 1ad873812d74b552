"""GET /metrics in one process: who may read it, and what the app counts."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from testing.alerts import ALERTS, rule
from testing.readings import BATCH, READINGS, new_client_id, reading

METRICS = "/metrics"


def samples(response):
    """{(name, labels as sorted tuple): value} of a scrape."""
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, **environ):
    return client.get(METRICS, environ_base=environ)


def test_metrics_answer_loopback_callers(client):
    scraped = samples(scrape(client, REMOTE_ADDR="127.0.0.1"))
    assert ("myapp_alert_outbox_pending", ()) in scraped
    assert samples(scrape(client, REMOTE_ADDR="::1"))
    assert samples(scrape(client, REMOTE_ADDR="::ffff:127.0.0.1"))


@pytest.mark.parametrize("address", ["203.0.113.5", "10.0.0.1", "2001:db8::1"])
def test_metrics_from_another_address_answer_403_problem(client, address):
    response = scrape(client, REMOTE_ADDR=address)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 403
    assert "myapp_" not in response.get_data(as_text=True)


def test_metrics_allow_names_the_networks_that_may_scrape(app_with):
    client = app_with(METRICS_ALLOW="203.0.113.0/24, 2001:db8::/32").test_client()
    assert samples(scrape(client, REMOTE_ADDR="203.0.113.5"))
    assert samples(scrape(client, REMOTE_ADDR="2001:db8::1"))
    assert scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 403


def test_requests_are_counted_by_route_and_status_with_latency(client, alice):
    before = samples(scrape(client))
    for _ in range(3):
        assert alice.get("/api/v1/goals/2147483647").status_code == 404
    after = samples(scrape(client))
    route = {"method": "GET", "route": "/api/v1/goals/<int(max=2147483647):goal_id>"}
    counted = "myapp_http_requests_total"
    assert (
        value(after, counted, **route, status="404")
        - value(before, counted, **route, status="404")
        == 3
    )
    timed = "myapp_http_request_duration_seconds_count"
    assert value(after, timed, **route) - value(before, timed, **route) == 3


def test_a_path_no_route_matches_is_counted_as_unmatched(client):
    before = samples(scrape(client))
    assert client.get("/no/such/thing/123").status_code == 404
    after = samples(scrape(client))
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    name = "myapp_http_requests_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_readings_are_counted_once_stored_never_twice_nor_when_refused(client, alice):
    name = "myapp_readings_stored_total"
    before = value(samples(scrape(client)), name)
    rollups_before = value(
        samples(scrape(client)), "myapp_readings_rollup_duration_seconds_count"
    )
    client_id = new_client_id()
    assert alice.post(READINGS, reading(client_id=client_id)).status_code == 201
    assert alice.post(READINGS, reading(client_id=client_id)).status_code == 200
    items = [reading(recorded_at=f"2026-01-0{d}T00:00:00Z") for d in range(1, 6)]
    assert alice.post(BATCH, {"readings": items}).status_code == 201
    assert alice.post(READINGS, reading(sensor="")).status_code == 400
    assert value(samples(scrape(client)), name) - before == 6
    timed = "myapp_readings_rollup_duration_seconds_count"
    assert value(samples(scrape(client)), timed) - rollups_before == 3


def test_alert_events_are_counted_by_state(client, alice):
    name = "myapp_alert_events_total"
    before = samples(scrape(client))
    assert alice.post(ALERTS, rule()).status_code == 201
    alice.post(READINGS, reading(data={"celsius": 35}))
    alice.post(READINGS, reading(data={"celsius": 20}))
    after = samples(scrape(client))
    for state in ("firing", "resolved"):
        assert value(after, name, state=state) - value(before, name, state=state) == 1


def test_the_database_pool_gauge_is_published(client):
    scraped = samples(scrape(client))
    assert value(scraped, "myapp_db_pool_checked_out") >= 0
    assert ("myapp_db_pool_checked_out", ()) in scraped


def test_the_grafana_dashboard_plots_only_metrics_that_exist(client):
    import json
    import re
    from pathlib import Path

    from myapp.alerts.metrics import worker_loop

    worker_loop()  # the alerts worker's own, made as it starts
    path = Path(__file__).resolve().parent.parent / "deploy/grafana"
    dashboard = json.loads((path / "myapp-dashboard.json").read_text())
    published = set(
        re.findall(r"^# TYPE (\S+) ", scrape(client).get_data(as_text=True), re.M)
    )
    plotted = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"myapp_[a-z_]+", target["expr"])
    }
    assert plotted and plotted <= published, plotted - published


def test_a_database_outage_leaves_out_its_gauges_not_the_scrape(app_with):
    # Nothing listens on port 1: every connection is refused at once.
    down = app_with(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://x@127.0.0.1:1/x")
    response = scrape(down.test_client())
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "myapp_http_requests_total" in text
    assert "myapp_alert_outbox_pending" not in text
