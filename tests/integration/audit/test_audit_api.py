"""The inspector API over HTTP (the real app and routes, on a fresh schema): read-only scope,
checkpoints, proofs that the offline verifier accepts, entity history, search, export."""

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from audit_fixtures import (  # noqa: F401 (fixture)
    ORIGIN, REPORTING_MIGRATIONS, audit_schema, envelope, reporting_store, signer_process,
)
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.service import ServiceContext, build_app
from platform_core.signed_note import VerifierKey, open_checkpoint
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import Report, check_events, check_proof, open_checkpoints
from reporting.entrypoints.audit_routes import router


def token(kind: str, territory: str | None = None) -> dict:
    principal = Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="tester",
                          territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}


INSPECTOR = token("inspector")


@pytest.fixture
def api(engine, settings, audit_schema, signer_process, monkeypatch):
    for name, value in signer_process.reporting_env().items():  # POST /audit/checkpoints asks this signer
        monkeypatch.setenv(name, value)
    topic = f"test.unpublished.{uuid.uuid4().hex[:6]}"  # CheckpointSigned stays in the outbox here
    context = ServiceContext(audit_schema, settings, engine, reporting_store(engine, audit_schema, topic),
                             REPORTING_MIGRATIONS)
    with TestClient(build_app(context, routers=[router])) as client:
        yield client, context


def fill(engine, schema, entity: str) -> list:
    events = [envelope(i) for i in range(10)]
    events[3] = envelope(3, f"entity-{entity}", 1, type_="EntityRegistered", payload={"division_code": "420102"})
    events[7] = envelope(7, f"organization-{uuid.uuid4()}", 1, type_="OrganizationFormed",
                         payload={"entity_ids": [entity], "district_code": "420102"})
    with engine.begin() as conn:
        AuditLogStore(schema).append(conn, events)
    return events


def test_scope_is_read_only_for_inspectors(api, engine, audit_schema):
    client, _ = api
    assert client.get("/audit/checkpoints/latest").status_code == 401
    refused = client.get("/audit/checkpoints/latest", headers=token("district_org", "420102"))
    assert refused.status_code == 403 and refused.json()["field"] == "Authorization"
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {audit_schema}.refused_commands"
                                    " WHERE permission = 'audit.read'")).scalar_one() == 1
    assert client.post("/audit/checkpoints", headers=INSPECTOR).status_code == 403
    assert client.get("/audit/checkpoints/latest", headers=INSPECTOR).status_code == 404
    assert client.get("/audit/checkpoints/latest", headers=token("city_org")).status_code == 404


def test_checkpoints_proofs_history_and_search_verify_offline(api, engine, audit_schema, tmp_path):
    client, _ = api
    entity = str(uuid.uuid4())
    events = fill(engine, audit_schema, entity)

    signed = client.post("/audit/checkpoints", headers=token("city_org"))
    assert signed.status_code == 201, signed.text
    first = signed.json()
    # public: a verifier key is not a secret (anyone holding a bulletin's checkpoint checks it)
    keys = [VerifierKey.parse(line) for line in client.get("/audit/keys").text.splitlines()]
    checkpoint = open_checkpoint(first["note"], keys, origin=ORIGIN)
    assert (checkpoint.size, first["tree_size"], first["reason"]) == (10, 10, "manual")
    assert client.get("/audit/checkpoints/latest", headers=INSPECTOR).json()["id"] == first["id"]
    with engine.connect() as conn:  # the CheckpointSigned event went to the reporting event store
        assert conn.execute(sa.text(f"SELECT type FROM {audit_schema}.events")).scalar_one() == "CheckpointSigned"

    with engine.begin() as conn:
        AuditLogStore(audit_schema).append(conn, [envelope(i) for i in range(10, 15)])
    second = client.post("/audit/checkpoints", headers=token("city_org")).json()
    assert second["tree_size"] == 15

    in_force = client.get("/audit/checkpoints/in-force", headers=INSPECTOR,
                          params={"at": first["signed_at"]}).json()
    assert in_force["id"] == first["id"]
    early = client.get("/audit/checkpoints/in-force", headers=INSPECTOR, params={"at": "2000-01-01T00:00:00+00:00"})
    assert early.status_code == 404 and early.json()["field"] == "at"
    assert client.get("/audit/checkpoints/in-force", headers=INSPECTOR,
                      params={"at": "2030-01-01T00:00:00"}).status_code == 400  # no time zone

    inclusion = client.get("/audit/proofs/inclusion", headers=INSPECTOR, params={"event_id": str(events[3].event_id)})
    consistency = client.get("/audit/proofs/consistency", headers=INSPECTOR, params={"first": 10, "second": 15})
    old = client.get("/audit/proofs/inclusion", headers=INSPECTOR,
                     params={"event_id": str(events[3].event_id), "tree_size": 10})
    assert inclusion.json()["tree_size"] == 15 and old.json()["checkpoint"]["id"] == first["id"]

    notes = [(f"cp{c['id']}", c["note"]) for c in client.get("/audit/checkpoints", headers=INSPECTOR).json()]
    report = Report()
    cps = open_checkpoints(notes, keys, ORIGIN, report)
    for name, proof in (("inclusion", inclusion.json()), ("consistency", consistency.json()), ("old", old.json())):
        check_proof(name, proof, cps, report)
    export = client.get("/audit/export/events", headers=INSPECTOR)
    assert export.headers["content-type"].startswith("application/x-ndjson")
    check_events(export.content.splitlines(keepends=True), cps, report)
    print(report.render())
    assert report.ok and len(report.passed) == 2 + 3 + 3, report.render()

    history = client.get(f"/audit/entities/{entity}/history", headers=INSPECTOR).json()
    assert [e["leaf_index"] for e in history["events"]] == [3, 7]
    for item in history["events"]:
        proof = {"kind": "inclusion", "leaf_index": item["leaf_index"], "tree_size": history["checkpoint"]["tree_size"],
                 "event": item["event"], "proof": item["proof"]}
        check_proof("history", proof, cps, report)
    assert report.ok, report.render()

    def search(**params):
        page = client.get("/audit/events", headers=INSPECTOR, params=params)
        assert page.status_code == 200, page.text
        return [e["leaf_index"] for e in page.json()["events"]]

    assert search(entity=entity) == [3, 7]
    assert search(type="OrganizationFormed", unit="420102") == [7]
    assert search(actor="district_org", limit=2) == [0, 1]
    assert search(recorded_from=events[2].recorded_at.isoformat(), recorded_to=events[4].recorded_at.isoformat()) == [2, 3]


def test_bad_requests_name_the_field(api, engine, audit_schema):
    client, _ = api
    fill(engine, audit_schema, str(uuid.uuid4()))
    unknown = client.get("/audit/proofs/inclusion", headers=INSPECTOR, params={"event_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["field"] == "event_id"
    not_uuid = client.get("/audit/proofs/inclusion", headers=INSPECTOR, params={"event_id": "nope"})
    assert not_uuid.status_code == 422 and not_uuid.json()["field"] == "query.event_id"
    backwards = client.get("/audit/proofs/consistency", headers=INSPECTOR, params={"first": 5, "second": 3})
    assert backwards.status_code == 400 and backwards.json()["field"] == "first"
    beyond = client.get("/audit/proofs/consistency", headers=INSPECTOR, params={"first": 1, "second": 99})
    assert beyond.status_code == 400 and beyond.json()["field"] == "second"
    assert client.get("/audit/entities/nobody/history", headers=INSPECTOR).status_code == 404
    any_event = client.get("/audit/events", headers=INSPECTOR).json()["events"][0]
    pending = client.get("/audit/proofs/inclusion", headers=INSPECTOR, params={"event_id": any_event["event_id"]})
    assert pending.status_code == 404  # no checkpoint yet
    client.post("/audit/checkpoints", headers=token("city_org"))
    with engine.begin() as conn:
        late = envelope(99)
        AuditLogStore(audit_schema).append(conn, [late])
    after = client.get("/audit/proofs/inclusion", headers=INSPECTOR, params={"event_id": str(late.event_id)})
    assert after.status_code == 409 and "after the latest checkpoint" in after.json()["message"]
