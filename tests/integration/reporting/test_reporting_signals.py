"""The signals projection and its API on a scratch schema (real PostgreSQL): the handler keeps the events
the detectors read and the signals they show, a redelivery changes nothing; GET /signals is scoped per
district with links to the audit proofs; officials' marks are events; accountability cites signals."""

import uuid
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context  # noqa: I001
from platform_core.auth import Principal
from platform_core.envelope import Actor, EventEnvelope
from platform_core.reference import load_calendar
from platform_core.reference.city_time import CITY_TIME
from platform_core.service import build_app
from platform_core.tokens import issuer_from_settings
from reporting.adapters.projection_store import create_tables
from reporting.adapters.signals_store import create_signal_tables
from reporting.dashboard import mount as mount_dashboard
from reporting.entrypoints.routes import router as reporting_router
from reporting.entrypoints.signals_routes import router as signals_router
from reporting.handlers.signals_projection import signals_handler

pytestmark = pytest.mark.integration
A, B = "420102", "420103"


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


def envelope(event_type: str, payload: dict, minutes: int = 0, user: str = "clerk") -> EventEnvelope:
    at = datetime.combine(date(2016, 11, 22), time(9), CITY_TIME) + timedelta(minutes=minutes)
    return EventEnvelope(event_id=uuid.uuid4(), type=event_type, schema_version=1, stream_id=f"s-{uuid.uuid4()}",
                         stream_version=1, occurred_at=at, recorded_at=at,
                         actor=Actor(department=f"district_org:{B}", user=user), payload=payload)


def events() -> list[EventEnvelope]:
    """District A: one legal representative over 4 entities (a shadow pattern); district B: 7 checks by one
    checker in 12 minutes (bulk checks)."""
    found = []
    for n in range(11):
        district = A if n < 4 else B
        found.append(envelope("EntityRegistered", {
            "entity_id": f"entity-{uuid.UUID(int=n)}", "name": f"单位{n}", "district_code": district,
            "street_code": f"{district}001", "personal_data": {
                "ref": f"persons-{uuid.UUID(int=n)}", "hash_key": "k" * 16,
                "legal_representative_hash": ("a" if n < 4 else f"{n:x}") * 64, "address_hash": None}}))
    for n in range(4, 11):
        organization = f"organization-{uuid.UUID(int=100 + n)}"
        entity = f"entity-{uuid.UUID(int=n)}"
        found.append(envelope("OrganizationFormed", {"organization_id": organization, "mode": "standalone",
                                                     "entity_ids": [entity], "district_code": B,
                                                     "formed_on": "2016-10-01"}))
        found.append(envelope("OrganizationChecked", {
            "organization_id": organization, "entity_ids": [entity], "check_kind": "acceptance", "passed": True,
            "checked_on": "2016-11-22"}, minutes=2 * n, user="rush"))
    return found


@pytest.fixture
def client(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=1)
    schema = f"t_sig_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    app = build_app(context, routers=[reporting_router, signals_router])
    mount_dashboard(app)
    with TestClient(app) as test_client:
        with engine.begin() as conn:
            create_tables(conn, schema)
            create_signal_tables(conn, schema)
        test_client.schema, test_client.context = schema, context
        test_client.project = lambda batch: _project(engine, schema, batch)
        yield test_client
    context.engine.dispose()
    drop_schemas_like(engine, schema)
    delete_topics(settings.kafka_bootstrap, topics)


def _project(engine, schema: str, batch: list[EventEnvelope]) -> None:
    with engine.begin() as conn:
        signals_handler(schema, load_calendar())(conn, batch)


def test_the_projection_keeps_the_signals_and_a_redelivery_changes_nothing(client, engine):
    batch = events()
    client.project(batch[:15])
    client.project(batch[15:])
    with engine.connect() as conn:
        first = conn.execute(sa.text(f"SELECT signal_id, kind, districts, first_seen_at FROM {client.schema}.rp_signals"
                                     " ORDER BY signal_id")).all()
    assert [(r.kind, list(r.districts)) for r in first] == [("bulk_checks", [B]), ("shadow_pattern", [A])]
    client.project(batch)  # redelivered
    with engine.connect() as conn:
        again = conn.execute(sa.text(f"SELECT signal_id, kind, districts, first_seen_at FROM {client.schema}.rp_signals"
                                     " ORDER BY signal_id")).all()
        kept = conn.execute(sa.text(f"SELECT count(*) FROM {client.schema}.rp_signal_events")).scalar()
    assert again == first and kept == len(batch)


def test_reads_are_scoped_per_district_with_the_evidence(client):
    client.project(events())
    city = client.get("/signals", headers=token("city_org"))
    assert city.status_code == 200 and city.json()["total"] == 2
    shadow = next(s for s in city.json()["signals"] if s["kind"] == "shadow_pattern")
    assert shadow["kind_zh"] and shadow["mark"] is None and len(shadow["evidence"]) == 4
    assert shadow["evidence"][0]["proof"] == f"/audit/proofs/inclusion?event_id={shadow['evidence'][0]['event_id']}"
    own = client.get("/signals", headers=token("district_org", A))
    assert [s["districts"] for s in own.json()["signals"]] == [[A]]
    assert client.get("/signals", params={"district": B}, headers=token("inspector")).json()["total"] == 1
    other = client.get("/signals", params={"district": B}, headers=token("district_org", A))
    assert other.status_code == 403
    assert client.get("/signals", headers=token("education")).status_code == 403
    assert client.get("/signals").status_code == 401
    bad = client.get("/signals", params={"kind": "nonsense"}, headers=token("city_org"))
    assert bad.status_code == 422 and "kind" in bad.text
    assert client.get("/signals", params={"district": "12"}, headers=token("city_org")).status_code == 422


def test_marks_are_events_and_accountability_cites_signals(client):
    client.project(events())
    signal = client.get("/signals", params={"kind": "bulk_checks"}, headers=token("city_org")).json()["signals"][0]
    body = {"verdict": "dismissed", "reason": "检查组集中补录当日检查结果，经核实均已实地检查"}
    path = f"/signals/{signal['signal_id']}/marks"
    assert client.post(path, json=body, headers=token("district_org", B)).status_code == 403
    assert client.post("/signals/signal-bulk_checks-nothing/marks", json=body,
                       headers=token("city_org")).status_code == 404
    assert client.post(path, json={"verdict": "maybe", "reason": "x"}, headers=token("city_org")).status_code == 422
    marked = client.post(path, json=body, headers={**token("city_org"), "Idempotency-Key": "m1"})
    assert marked.status_code == 201, marked.text
    replay = client.post(path, json=body, headers={**token("city_org"), "Idempotency-Key": "m1"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["event_id"] == marked.json()["event_id"]
    stored = client.context.store.read_stream(signal["signal_id"])
    assert [e.type for e in stored] == ["SignalMarked"] and stored[0].payload["verdict"] == "dismissed"
    client.project(stored)
    shown = client.get("/signals", params={"kind": "bulk_checks"}, headers=token("city_org")).json()["signals"][0]
    assert shown["mark"]["verdict"] == "dismissed" and shown["mark"]["event_id"] == str(stored[0].event_id)
    entry = {"unit": f"district-{B}", "entry_kind": "check_failed", "subject": "bulk checks 11-22",
             "occurred_on": "2016-11-22", "finding": "检查验收走过场"}
    unknown = client.post("/accountability", json={**entry, "signal_ids": ["signal-bulk_checks-x"]},
                          headers=token("city_org"))
    assert unknown.status_code == 404 and unknown.json()["field"] == "signal_ids"
    cited = client.post("/accountability", json={**entry, "signal_ids": [signal["signal_id"]]},
                        headers=token("city_org"))
    assert cited.status_code == 201 and cited.json()["signal_ids"] == [signal["signal_id"]]


def signed_in(client, kind: str, territory: str | None = None) -> None:
    client.cookies.clear()
    bearer = token(kind, territory)["Authorization"].removeprefix("Bearer ")
    client.post("/dashboard/login", data={"token": bearer, "next": "/dashboard/"}, follow_redirects=False)


def test_the_dashboard_lists_a_districts_signals_by_name(client):
    client.project(events())
    signed_in(client, "district_org", A)  # the dashboard is the city's and the inspectors' (read.all, audit.read)
    assert client.get("/dashboard/signals/" + A, follow_redirects=False).status_code == 303  # to the login
    signed_in(client, "inspector")
    page = client.get("/dashboard/signals/" + A)
    assert page.status_code == 200 and "疑点清单" in page.text and "<script" not in page.text
    assert "同一法定代表人" in page.text and "单位0" in page.text and "待核实" in page.text
    assert "entity-" not in page.text.split("<main>")[1].split("href=")[0]  # names, not ids, in the text
    assert client.get("/dashboard/signals/999999").status_code == 404
    listing = client.get("/dashboard/signals")
    assert listing.status_code == 200 and listing.text.count("1 条") == 2
    signed_in(client, "city_org")
    assert "检查验收过快过密" in client.get("/dashboard/signals/" + B).text
