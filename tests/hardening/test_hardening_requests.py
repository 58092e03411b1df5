"""Bad requests against each service's real app (scratch schemas): wrong tokens, refused scopes,
oversized bodies, replayed commands, and the regressions schemathesis found (test_hardening_openapi.py)."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hardening_apps import SERVICES
from platform_core.auth import Principal
from platform_core.tokens import TokenIssuer, issuer_from_settings, new_issuer_key
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier

pytestmark = pytest.mark.integration

ISSUER = issuer_from_settings()
# a read each service answers to any valid token, and a command each service has
READS = {"registry": "/entities", "membership": "/counts/districts", "formation": "/tasks", "reporting": "/rates"}
COMMANDS = {"registry": "/entities", "membership": "/members/found", "formation": "/organizations",
            "reporting": "/accountability"}


def bearer(kind: str, territory: str | None = None, user: str = "hardening", **kw) -> dict:
    department = f"{kind}:{territory}" if territory else kind
    token = kw.pop("issuer", ISSUER).issue(Principal(department, kind, user, territory), **kw)
    return {"Authorization": f"Bearer {token}"}


def city() -> dict:
    return bearer("city_org")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(claims: bytes, header: dict | None = None, issuer: TokenIssuer = ISSUER) -> str:
    """Any claims, signed with the platform's issuer key (what only a stolen key could make)."""
    head = _b64(json.dumps(header or {"alg": "EdDSA", "kid": issuer.kid, "typ": "JWT"}).encode())
    signing_input = f"{head}.{_b64(claims)}"
    return f"{signing_input}.{_b64(issuer.private_key.sign(signing_input.encode()))}"


def hmac_era(secret: str = "the-former-shared-secret-0123456789") -> str:
    """A token of the former scheme: claims and an HMAC-SHA256 of them, two parts."""
    body = _b64(json.dumps({"dep": "city_org", "kind": "city_org", "user": "u", "ter": None, "sec": [],
                            "exp": 4102444800}).encode())
    return f"{body}.{_b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())}"


CLAIMS = {"aud": ISSUER.audience, "dep": "city_org", "kind": "city_org", "user": "u", "ter": None, "sec": [],
          "iat": 1_470_000_000, "exp": 4_102_444_800}


def count(client, table: str, where: str = "TRUE", params: dict | None = None) -> int:
    with client.context.engine.connect() as conn:
        return conn.execute(sa.text(f'SELECT count(*) FROM "{client.context.schema}".{table} WHERE {where}'),
                            params or {}).scalar_one()


WRONG_TOKENS = {
    "none": {},
    "not bearer": {"Authorization": "Basic aGFyZGVuaW5nOnB3"},
    "bearer without token": {"Authorization": "Bearer "},
    "garbage": {"Authorization": "Bearer not-a-token"},
    "forged signature": lambda: {"Authorization": "Bearer " + signed(json.dumps(CLAIMS).encode()).rsplit(".", 1)[0]
                                 + "." + _b64(bytes(64))},
    "another issuer's key (unknown kid)": lambda: bearer("city_org", issuer=TokenIssuer(new_issuer_key()[0],
                                                                                      ISSUER.audience)),
    "another key claiming the platform's kid": lambda: {"Authorization": "Bearer " + signed(
        json.dumps(CLAIMS).encode(), header={"alg": "EdDSA", "kid": ISSUER.kid},
        issuer=TokenIssuer(new_issuer_key()[0], ISSUER.audience))},
    "HMAC era": lambda: {"Authorization": f"Bearer {hmac_era()}"},
    "alg HS256": lambda: {"Authorization": "Bearer " + signed(json.dumps(CLAIMS).encode(),
                                                              header={"alg": "HS256", "kid": ISSUER.kid})},
    "another audience": lambda: bearer("city_org", issuer=TokenIssuer(ISSUER.private_key, "another-platform")),
    "expired": lambda: bearer("city_org", valid_for=timedelta(days=1), now=datetime.now(timezone.utc) - timedelta(days=2)),
    "claims not json": lambda: {"Authorization": f"Bearer {signed(b'not json')}"},
    "claims missing": lambda: {"Authorization": f"Bearer {signed(json.dumps({'dep': 'city_org'}).encode())}"},
    "unknown department kind": lambda: {"Authorization": "Bearer " + signed(json.dumps(
        CLAIMS | {"dep": "x", "kind": "emperor"}).encode())},
    "district without territory": lambda: {"Authorization": "Bearer " + signed(json.dumps(
        CLAIMS | {"dep": "district_org", "kind": "district_org"}).encode())},
}


@pytest.mark.parametrize("service", SERVICES)
def test_wrong_tokens_are_401_naming_the_authorization_header(clients, service):
    client = clients[service]
    assert client.get(READS[service], headers=city()).status_code == 200
    for name, headers in WRONG_TOKENS.items():
        headers = headers() if callable(headers) else headers
        response = client.get(READS[service], headers=headers)
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"] == "unauthenticated" and response.json()["field"] == "Authorization", name
        command = client.post(COMMANDS[service], json={}, headers=headers)
        assert command.status_code in (401, 422), (name, command.text)  # never a write, never a 500


REFUSALS = {  # service -> (method, path, body, a department that may not do it)
    "registry": ("POST", "/ledgers/street-420102002/approve", None, ("district_org", "420102")),
    "formation": ("POST", "/organizations", {"mode": "standalone", "name": "测试党支部", "formed_on": "2016-09-01",
                                             "entity_ids": [f"entity-{uuid.uuid4()}"]}, ("street_office", "420102001")),
    "reporting": ("POST", "/accountability", {"entry_kind": "discrepancy", "unit": "district-420102", "subject": "s",
                                              "occurred_on": "2016-11-20", "finding": "f"}, ("district_org", "420102")),
    "membership": ("POST", f"/members/member-{uuid.uuid4()}/leave", {"reason": "left"},
                   ("market_regulation", None)),
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_write_outside_the_departments_scope_is_403_with_the_rule_and_recorded(clients, service):
    client = clients[service]
    method, path, body, (kind, territory) = REFUSALS[service]
    user = f"hardening-{uuid.uuid4().hex[:8]}"
    events = count(client, "events")
    response = client.request(method, path, json=body, headers=bearer(kind, territory, user=user))
    assert response.status_code == 403, response.text
    assert response.json()["field"] == "Authorization" and response.json()["rule"], response.json()
    assert count(client, "refused_commands", "user_name = :u", {"u": user}) == 1
    assert count(client, "events") == events


@pytest.mark.parametrize("service", SERVICES)
def test_an_oversized_body_is_413_naming_the_limit_and_nothing_is_written(clients, service):
    client = clients[service]
    events = count(client, "events")
    limit = client.context.settings.max_request_bytes
    huge = json.dumps({"name": "x" * (limit + 10)}).encode()
    declared = client.post(COMMANDS[service], content=huge, headers=city() | {"content-type": "application/json"})
    assert declared.status_code == 413 and str(limit) in declared.json()["message"], declared.text
    # the same body without a Content-Length (chunked) is counted as it arrives
    chunked = client.post(COMMANDS[service], content=iter([huge[:limit // 2], huge[limit // 2:]]),
                          headers=city() | {"content-type": "application/json"})
    assert chunked.status_code == 413 and chunked.json()["error"] == "payload_too_large", chunked.text
    assert count(client, "events") == events


def test_registry_an_import_file_too_large_is_413(clients):
    client = clients["registry"]
    cap = client.context.settings.max_upload_bytes  # uploads have their own cap (default 20 MiB)
    response = client.post("/imports/form1", files={"file": ("big.csv", b"a,b\n" * (cap // 4 + 1), "text/csv")},
                           headers=city())
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large", response.text
    assert count(client, "events") == 0


def test_registry_a_huge_json_field_is_refused_naming_the_field(clients):
    client = clients["registry"]
    body = {"kind": "non_public_enterprise", "subtype": "private", "uscc": "91420100MA4KL0001N", "name": "某公司",
            "street_code": "420102002", "industry": "internet", "employees": 1, "operation_status": "operating",
            "person_in_charge": "张三", "address": "路" * 300_000}
    response = client.post("/entities", json=body, headers=city())
    assert response.status_code in (413, 422), response.text
    assert response.json()["field"] in ("address", "payload.address", "body"), response.json()
    assert count(client, "events") == 0


def _known_entity(client, formal: int = 3) -> str:
    """Project an entity (registered, in the approved baseline) into the scratch formation schema."""
    from formation.adapters.tables import tables
    from formation.handlers.projections import upstream_projection
    from platform_core.contracts import event_types_for
    from platform_core.envelope import Actor, EventEnvelope

    entity_id, now = f"entity-{uuid.uuid4()}", datetime.now(timezone.utc)

    versions: dict[str, int] = {}

    def envelope(type_, stream, payload):  # a stream's versions run 1, 2, ... as its store writes them
        versions[stream] = versions.get(stream, 0) + 1
        return EventEnvelope(event_id=uuid.uuid4(), type=type_, schema_version=1, stream_id=stream,
                             stream_version=versions[stream],
                             occurred_at=now, recorded_at=now, actor=Actor(department="city_org", user="h"),
                             payload=payload)

    events = [
        envelope("EntityRegistered", entity_id, {
            "entity_id": entity_id, "uscc": "91420100MA4KL0001X", "name": "测试单位", "kind": "non_public_enterprise",
            "subtype": "private", "district_code": "420102", "street_code": "420102001", "industry": "internet",
            "employees": 120, "formal_members": formal, "probationary_members": 0, "operation_status": "operating",
            "party_organization": "none", "person_in_charge": "张三"}),
        envelope("LedgerApproved", "ledger-street-420102001", {
            "unit": "street-420102001", "unit_kind": "street", "district_code": "420102", "submission": 1,
            "entity_count": 1, "entity_ids": [entity_id]}),
    ]
    schema = client.context.schema
    applier = ProjectionApplier(schema, "formation.upstream.hardening", None, event_types_for("registry", "membership"),
                                DeadLetterPublisher(None), batch_handler=upstream_projection(tables(schema)))
    with client.context.engine.begin() as conn:
        outcome = applier.apply(conn, [ConsumedRecord("registry.events", 0, i, e.canonical_bytes())
                                       for i, e in enumerate(events)])
    assert outcome.applied == 2, outcome
    return entity_id


def test_formation_a_replayed_command_answers_the_same_and_writes_nothing_and_a_reused_key_is_409(clients):
    client = clients["formation"]
    entity = _known_entity(client)
    headers = city() | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"mode": "standalone", "name": "测试党支部", "entity_ids": [entity], "formed_on": "2016-09-01"}
    first = client.post("/organizations", json=body, headers=headers)
    assert first.status_code == 201, first.text
    events = count(client, "events")
    again = client.post("/organizations", json=body, headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and count(client, "events") == events
    other = client.post("/organizations", json=body | {"name": "另一个党支部"}, headers=headers)
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused", other.text
    assert count(client, "events") == events


# Regressions of what schemathesis found (each was a 500 or an answer the OpenAPI did not declare).

def test_nul_characters_are_422_naming_where_not_500(clients):
    query = clients["registry"].get("/entities", params={"name": "\x00"}, headers=city())
    assert query.status_code == 422 and query.json()["field"] == "query", query.text
    body = clients["formation"].post("/organizations", headers=city(), json={
        "entity_ids": ["\x00"], "formed_on": "2000-01-01", "mode": "joint", "name": ","})
    assert body.status_code == 422 and body.json()["field"] == "body.entity_ids.0", body.text
    key = clients["reporting"].post("/responsibility-reports", headers=bearer("economy_it"), json={
        "summary": ",", "department": "economy_it", "figures": {"a\x00b": 0}, "note": ""})
    assert key.status_code == 422 and key.json()["field"].startswith("body.figures"), key.text
    path = clients["formation"].get("/organizations/organization-%00", headers=city())
    assert path.status_code == 422 and path.json()["field"] == "path", path.text


def test_an_impossible_date_is_422_not_500(clients):
    response = clients["formation"].get("/tasks", params={"today": "0000-00-00"}, headers=city())
    assert response.status_code == 422 and response.json()["field"] == "query.today", response.text
    assert clients["formation"].get("/tasks", params={"today": "2016-11-20"}, headers=city()).status_code == 200


def test_time_zone_offsets_postgresql_refuses_are_converted_not_500(clients):
    client = clients["reporting"]
    in_force = client.get("/audit/checkpoints/in-force", params={"at": "2000-01-01T00:00:00+16:00"}, headers=city())
    assert in_force.status_code in (200, 404), in_force.text
    search = client.get("/audit/events", params={"recorded_from": "2000-01-01T00:00:00-17:30"}, headers=city())
    assert search.status_code == 200, search.text


def test_declared_responses_match_what_the_services_send(clients):
    registry = clients["registry"].app.openapi()
    refused = registry["paths"]["/imports/{form}"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert "anyOf" in refused  # a rejected import report, or an error body for a refused file
    wrong_type = clients["registry"].post("/imports/form1", files={"file": ("file", b",", "text/plain")},
                                          headers=city())
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "file"
    for service, client in clients.items():
        spec = client.app.openapi()
        assert "text/plain" in spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"], service
        command = spec["paths"][COMMANDS[service]]["post"]["responses"]
        assert {"401", "403", "409", "413", "422"} <= set(command), (service, sorted(command))
    reporting = clients["reporting"].app.openapi()["paths"]
    assert "text/plain" in reporting["/audit/keys"]["get"]["responses"]["200"]["content"]  # public: no 401/403
    assert "application/x-ndjson" in reporting["/audit/export/events"]["get"]["responses"]["200"]["content"]


def test_reporting_bulletin_and_as_of_bad_inputs_answer_4xx_before_any_replay(clients):
    client = clients["reporting"]
    district = client.post("/bulletins", json={"cutoff_date": "2016-11-15"}, headers=bearer("district_org", "420102"))
    assert district.status_code == 403 and district.json()["rule"], district.text
    future = client.post("/bulletins", json={"cutoff_date": "2999-01-01"}, headers=city())
    assert future.status_code == 422 and future.json()["rule"] == "R11", future.text
    malformed = client.post("/bulletins", json={"cutoff_date": "2016-13-45"}, headers=city())
    assert malformed.status_code == 422 and malformed.json()["field"] == "cutoff_date", malformed.text
    ahead = client.get("/rates", params={"as_of": "2999-01-01T00:00:00Z"}, headers=city())
    assert ahead.status_code == 422 and ahead.json()["rule"] == "R7", ahead.text
    naive = client.get("/rates", params={"as_of": "2016-11-01T00:00:00"}, headers=city())
    assert naive.status_code == 422 and naive.json()["field"] == "as_of", naive.text
