"""Numbers and dates (issue "Bad input and operations", item 4), on every service's real app and database.

Every integer query parameter of every operation is bounded: a value past PostgreSQL's bigint is a 422
naming it, never a 500. A number given for a date or a time, in a query or a JSON body, is a 422 naming the
field. Every answer carries a request id, and a 5xx is logged (JSON on stderr) with it."""

import logging

import pytest

from hardening_apps import SERVICES
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings

pytestmark = pytest.mark.integration

ISSUER = issuer_from_settings()
CITY = {"Authorization": f"Bearer {ISSUER.issue(Principal('city_org', 'city_org', 'hardening'))}"}
# Operations whose every call replays all topics (docs/hardening.md): their parameters are checked by name below.
SLOW = {("get", "/rates")}


def query_parameters(client, wanted) -> list[tuple[str, str, str]]:
    """(path, parameter, path with every path parameter filled) for the GET operations' query parameters."""
    found = []
    for path, operations in client.app.openapi()["paths"].items():
        operation = operations.get("get")
        if operation is None or ("get", path) in SLOW:
            continue
        filled = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                filled = filled.replace("{" + parameter["name"] + "}", _sample(parameter["schema"]))
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and wanted(parameter["schema"]):
                found.append((path, parameter["name"], filled))
    return found


def fields(response) -> set[str]:
    """Every field a 422 names (a call may break other rules too, a required parameter left out)."""
    return {detail["field"] for detail in response.json()["details"]}


def _sample(schema: dict) -> str:
    kinds = {s.get("format") or s.get("type") for s in schema.get("anyOf", [schema])}
    return "2016-11-20" if "date" in kinds else "x" if "enum" not in schema else schema["enum"][0]


def _is(kind: str):
    return lambda schema: any((s.get("format") or s.get("type")) == kind for s in schema.get("anyOf", [schema]))


@pytest.mark.parametrize("service", SERVICES)
def test_every_integer_query_parameter_out_of_range_is_422(clients, service):
    client = clients[service]
    checked = query_parameters(client, _is("integer"))
    for path, name, filled in checked:
        for value in ("9223372036854775808", "-9223372036854775809", "22337203685477580700"):
            response = client.get(filled, params={name: value}, headers=CITY)
            assert response.status_code == 422, (path, name, value, response.text)
            assert f"query.{name}" in fields(response), response.json()
    if service in ("registry", "formation"):
        assert any(name == "offset" for _, name, _ in checked), checked


@pytest.mark.parametrize("service", SERVICES)
def test_numbers_given_as_dates_are_422(clients, service):
    client = clients[service]
    checked = query_parameters(client, lambda s: _is("date")(s) or _is("date-time")(s))
    for path, name, filled in checked:
        for value in ("0", "0.5", "20161120"):
            response = client.get(filled, params={name: value}, headers=CITY)
            assert response.status_code == 422, (path, name, value, response.text)
            assert f"query.{name}" in fields(response) and "YYYY-MM-DD" in response.text, response.json()
    expected = {"formation": {"today"}, "reporting": {"deadline", "recorded_from", "recorded_to", "at"}}
    assert expected.get(service, set()) <= {name for _, name, _ in checked}, checked


def test_numbers_as_dates_in_slow_operations_and_bodies_are_422(clients):
    reporting = clients["reporting"]
    for value in ("0", "0.5"):  # refused before any replay starts
        response = reporting.get("/rates", params={"as_of": value}, headers=CITY)
        assert response.status_code == 422 and response.json()["field"] == "query.as_of", response.text
    body = {"entry_kind": "discrepancy", "unit": "district-420102", "subject": "s", "occurred_on": 0, "finding": "f"}
    response = reporting.post("/accountability", json=body, headers=CITY)
    assert response.status_code == 422 and response.json()["field"] == "occurred_on", response.text
    response = clients["formation"].post("/organizations", headers=CITY, json={
        "mode": "standalone", "name": "测试党支部", "formed_on": 0.5, "entity_ids": ["entity-x"]})
    assert response.status_code == 422 and response.json()["field"] == "formed_on", response.text


def test_every_answer_has_a_request_id_and_a_5xx_is_logged_with_it(clients, caplog):
    client = clients["registry"]
    given = client.get("/healthz", headers={"X-Request-Id": "trace-0123456789"})
    assert given.headers["X-Request-Id"] == "trace-0123456789"
    assert len(client.get("/healthz", headers={"X-Request-Id": "bad id\x7f"}).headers["X-Request-Id"]) == 32

    def broken():
        raise RuntimeError("a fault the platform did not foresee")

    client.app.add_api_route("/hardening-fault", broken)  # a route that fails as any could
    with caplog.at_level(logging.ERROR, logger="platform_core.http"):
        response = client.get("/hardening-fault")
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500 and response.json() == {
        "error": "internal_error", "request_id": request_id, "message": response.json()["message"]}
    assert request_id in response.json()["message"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert logged and logged[0].status == 500 and logged[0].exc_info, caplog.records
