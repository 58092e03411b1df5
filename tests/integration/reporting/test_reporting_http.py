"""The reporting API on a scratch schema: reports (R11) with permissions and idempotency, rates,
entity status, bulletins' 404s, accountability confirmation; never a 500 for bad input."""

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from reporting_support import create_topics, delete_topics, drop_schemas_like, make_context  # noqa: I001
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.service import build_app
from reporting.adapters.projection_store import create_tables
from reporting.entrypoints.audit_routes import router as audit_router
from reporting.entrypoints.routes import router as reporting_router

pytestmark = pytest.mark.integration


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


@pytest.fixture
def client(engine, settings):
    topics = create_topics(settings.kafka_bootstrap, partitions=1)
    schema = f"t_rph_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    app = build_app(context, routers=[audit_router, reporting_router])
    with TestClient(app) as test_client:
        with engine.begin() as conn:
            create_tables(conn, schema)
        test_client.schema = schema
        test_client.topics = topics
        yield test_client
    context.engine.dispose()
    drop_schemas_like(engine, schema)
    delete_topics(settings.kafka_bootstrap, topics)


def test_report_submission_rules(client, engine):
    district = token("district_org", "420102")
    body = {"deadline": "2016-09-10", "figures": {"baseline": 9, "organization_covered": 7}}
    first = client.post("/reports", json=body, headers={**district, "Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    assert first.json()["unit"] == "district-420102" and first.json()["status"] == "late"  # submitted in 2026
    again = client.post("/reports", json=body, headers={**district, "Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["report_id"] == first.json()["report_id"]
    duplicate = client.post("/reports", json=body, headers=district)
    assert duplicate.status_code == 409 and duplicate.json()["rule"] == "R11"
    wrong_day = client.post("/reports", json={**body, "deadline": "2016-09-11"}, headers=district)
    assert wrong_day.status_code == 422 and wrong_day.json()["field"] == "deadline"
    unknown = client.post("/reports", json={**body, "figures": {"members": 3}}, headers=district)
    assert unknown.status_code == 422 and unknown.json()["field"] == "figures"
    other = client.post("/reports", json={**body, "unit": "district-420103"}, headers=district)
    assert other.status_code == 403
    market = client.post("/reports", json=body, headers=token("market_regulation"))
    assert market.status_code == 403
    with engine.connect() as conn:
        refused = conn.execute(sa.text(f"SELECT count(*) FROM {client.schema}.refused_commands")).scalar()
    assert refused == 2
    civil = client.post("/reports", json=body, headers=token("civil_affairs"))
    assert civil.status_code == 201 and civil.json()["unit"] == "civil-affairs"
    city = token("city_org")
    unnamed = client.post("/reports", json=body, headers=city)
    assert unnamed.status_code == 422 and unnamed.json()["field"] == "unit"
    bogus = client.post("/reports", json={**body, "unit": "district-999999"}, headers=city)
    assert bogus.status_code == 422 and bogus.json()["field"] == "unit" and bogus.json()["rule"] == "R11"
    for_district = client.post("/reports", json={**body, "unit": "district-420104"}, headers=city)
    assert for_district.status_code == 201 and for_district.json()["unit"] == "district-420104"
    bad_json = client.post("/reports", content=b"{not json", headers={**district, "Content-Type": "application/json"})
    assert bad_json.status_code == 422


def test_reads_and_accountability(client):
    reader = token("education")
    assert client.get("/reports?deadline=2016-09-10", headers=reader).status_code == 200
    rates = client.get("/rates?level=district", headers=reader)
    assert rates.status_code == 200 and rates.json()["units"] == []
    assert client.get("/rates?level=planet", headers=reader).status_code == 422
    assert client.get("/rates?as_of=2016-09-10T00:00:00", headers=reader).status_code == 422  # no zone
    assert client.get(f"/entities/entity-{uuid.uuid4()}/status", headers=reader).status_code == 404
    assert client.get(f"/entities/entity-{uuid.uuid4()}/history", headers=reader).status_code == 403
    assert client.get("/bulletins/2016-09-25/pdf", headers=reader).status_code == 404
    assert client.post("/bulletins", json={"cutoff_date": "2016-09-25"}, headers=reader).status_code == 403
    trail = client.get("/accountability/district-420102", headers=reader)
    assert trail.status_code == 200
    missing = [e for e in trail.json() if e["entry_kind"] == "report_missing"]
    assert missing and missing[0]["subject"] == "2016-08-25"  # nothing reported in this scratch campaign
    # nothing surveyed in this scratch campaign by 8-26 (judged per ledger unit, or for the unit as a whole)
    assert any(e["entry_kind"] == "deadline_missed" and e["subject"] == "survey:district-420102" for e in trail.json())
    entry = {"unit": "district-420102", "entry_kind": "report_missing", "subject": "2016-08-25",
             "occurred_on": "2016-08-25", "finding": "未按时报送", "responsible": "区委组织部"}
    assert client.post("/accountability", json=entry, headers=reader).status_code == 403
    city = token("city_org")
    recorded = client.post("/accountability", json=entry, headers=city)
    assert recorded.status_code == 201, recorded.text
    assert client.post("/accountability", json=entry, headers=city).status_code == 409
    assert client.get("/accountability/nowhere", headers=reader).status_code == 404


def test_published_reports_and_confirmations_reach_the_projection(client, engine, settings):
    """Command -> event store -> outbox relay -> Kafka -> projection -> reads."""
    from platform_core.contracts import event_types_for
    from platform_core.kafka_io import create_producer
    from platform_core.outbox_relay import OutboxRelay
    from reporting.adapters.replay import replay_into

    body = {"deadline": "2016-09-10", "figures": {"baseline": 9}}
    assert client.post("/reports", json=body, headers=token("district_org", "420102")).status_code == 201
    entry = {"unit": "district-420102", "entry_kind": "report_late", "subject": "2016-09-10",
             "occurred_on": "2016-09-10", "finding": "逾期报送"}
    assert client.post("/accountability", json=entry, headers=token("city_org")).status_code == 201
    producer = create_producer(settings.kafka_bootstrap, "test-reporting-relay")
    relay = OutboxRelay(engine, client.schema, producer)
    while relay.publish_batch():
        pass
    producer.close()
    replay_into(engine, settings.kafka_bootstrap, client.schema,
                event_types_for("registry", "membership", "formation", "reporting"),
                topics=tuple(client.topics.values()))
    reader = token("inspector")
    statuses = {r["unit"]: r for r in client.get("/reports?deadline=2016-09-10", headers=reader).json()}
    assert statuses["district-420102"]["status"] == "late" and statuses["district-420102"]["figures"] == {"baseline": 9}
    assert statuses["civil-affairs"]["status"] == "missing"
    trail = client.get("/accountability/district-420102", headers=reader).json()
    late = [e for e in trail if e["entry_kind"] == "report_late" and e["subject"] == "2016-09-10"]
    assert late and late[0]["confirmed"] and late[0]["confirmation"]["finding"] == "逾期报送"
    assert late[0]["event_ids"]  # the ReportSubmitted event behind it


def test_an_as_of_question_is_answered_while_a_replay_runs_and_is_503_only_when_the_folds_are_all_taken(
        client, engine, monkeypatch):
    """As-of figures come from snapshots (docs/reporting.md, "As-of figures"), not from the one full replay at a
    time: a bulletin's replay does not hold them up. Only when every as-of fold of the process is taken does a
    question wait, and after AS_OF_WAIT_S it gets 503 with Retry-After."""
    from reporting.adapters.as_of_cache import REPLAY_SLOT
    from reporting.handlers import rates

    with engine.connect() as other_replay:
        other_replay.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": REPLAY_SLOT})
        answered = client.get("/rates?as_of=2016-09-10T00:00:00%2B08:00", headers=token("education"))
        other_replay.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": REPLAY_SLOT})
    assert answered.status_code == 200, answered.text
    assert answered.json()["as_of"] == "2016-09-10T00:00:00+08:00"

    monkeypatch.setattr(rates, "AS_OF_WAIT_S", 0.2)
    taken = [rates._as_of_slots.acquire(timeout=5) for _ in range(rates.AS_OF_AT_ONCE)]
    try:
        busy = client.get("/rates?as_of=2016-09-10T00:00:00%2B08:00", headers=token("education"))
    finally:
        for _ in taken:
            rates._as_of_slots.release()
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"] == "busy" and busy.json()["field"] == "as_of"
    assert int(busy.headers["Retry-After"]) > 0
    with engine.connect() as conn:  # no as-of schema built by a question
        assert conn.execute(sa.text("SELECT count(*) FROM pg_namespace WHERE starts_with(nspname, :p)"),
                            {"p": f"{client.schema}_asof_"}).scalar() == 0


def test_bulletin_draft_and_narrative_are_checked_before_anything_is_signed(client, engine):
    """Only the city department drafts and publishes; a bad narrative is a 422 naming the field and the rule,
    before any replay, signing or storing (no signer is even configured here)."""
    reader, district, city = token("education"), token("district_org", "420102"), token("city_org")
    assert client.get("/bulletin-drafts/2016-09-25", headers=reader).status_code == 403
    assert client.get("/bulletin-drafts/2016-09-25", headers=district).status_code == 403
    assert client.get("/bulletin-drafts/2016-09-25").status_code == 401
    not_a_day = client.get("/bulletin-drafts/2016-09-26", headers=city)
    assert not_a_day.status_code == 422 and not_a_day.json()["rule"] == "R11"
    assert client.get("/bulletin-drafts/2016-13-45", headers=city).status_code == 422
    cases = {"一、进展\u0007": "narrative_characters", "一、进展\u202e反": "narrative_characters",
             "字" * 6001: "narrative_max_chars", "  \n ": "narrative_not_blank"}
    for text, rule in cases.items():
        refused = client.post("/bulletins", json={"cutoff_date": "2016-09-25", "narrative": text}, headers=city)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "narrative" and refused.json()["rule"] == rule, refused.text
    not_text = client.post("/bulletins", json={"cutoff_date": "2016-09-25", "narrative": 5}, headers=city)
    assert not_text.status_code == 422
    forbidden = client.post("/bulletins", json={"cutoff_date": "2016-09-25", "narrative": "一、进展"}, headers=district)
    assert forbidden.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {client.schema}.bulletins")).scalar() == 0
