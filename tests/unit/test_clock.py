"""The campaign clock: real time by default; a simulated campaign's requests name their business time."""

from datetime import datetime, timezone

import sqlalchemy as sa
from fastapi.testclient import TestClient

from platform_core import clock
from platform_core.http import create_service_app

NOWHERE = sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")  # never connected in these tests


def app(simulated: bool):
    built = create_service_app("clocktest", NOWHERE, "127.0.0.1:1", "secret", simulated_clock=simulated)

    @built.get("/now")
    def business_now() -> dict:  # a sync route runs in a worker thread: the time must follow it there
        return {"now": clock.now().isoformat()}

    return built


def test_without_the_header_business_time_is_the_real_time():
    before = datetime.now(timezone.utc)
    with TestClient(app(simulated=True)) as client:
        at = datetime.fromisoformat(client.get("/now").json()["now"])
    assert before <= at <= datetime.now(timezone.utc)


def test_a_simulated_campaign_request_runs_at_the_time_it_names():
    with TestClient(app(simulated=True)) as client:
        answer = client.get("/now", headers={clock.HEADER: "2016-09-10T10:00:00+08:00"})
    assert answer.status_code == 200
    assert answer.json()["now"] == "2016-09-10T02:00:00+00:00"
    assert clock.now().year >= 2026  # nothing leaks out of the request


def test_the_header_is_refused_where_the_clock_is_real():
    with TestClient(app(simulated=False)) as client:
        answer = client.get("/now", headers={clock.HEADER: "2016-09-10T10:00:00+08:00"})
    assert answer.status_code == 400
    assert answer.json()["field"] == clock.HEADER and "CAMPAIGN_SIMULATED_CLOCK" in answer.json()["message"]


def test_a_time_without_a_zone_or_not_a_time_is_refused_naming_the_header():
    with TestClient(app(simulated=True)) as client:
        for bad in ("2016-09-10T10:00:00", "next tuesday"):
            answer = client.get("/now", headers={clock.HEADER: bad})
            assert answer.status_code == 400, bad
            assert answer.json()["field"] == clock.HEADER


def test_the_context_manager_sets_and_restores_the_time():
    at = datetime(2016, 11, 20, 16, 0, tzinfo=timezone.utc)
    with clock.campaign_time(at):
        assert clock.now() == at
    assert clock.now() != at
