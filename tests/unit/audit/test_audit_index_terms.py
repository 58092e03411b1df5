"""Search terms taken from events, and the order a batch enters the log."""

import uuid
from datetime import datetime, timedelta, timezone

from platform_core.envelope import Actor, EventEnvelope
from reporting.audit.index_terms import index_terms
from reporting.audit.processor import log_order

T0 = datetime(2016, 9, 1, tzinfo=timezone.utc)


def event(stream: str, payload: dict, version: int = 1, at: datetime = T0, department="district_org:420102"):
    return EventEnvelope(event_id=uuid.uuid4(), type="X", schema_version=1, stream_id=stream, stream_version=version,
                         occurred_at=at, recorded_at=at, actor=Actor(department=department, user="u"), payload=payload)


def test_entities_come_from_the_stream_and_any_id_key():
    entity, other = str(uuid.uuid4()), str(uuid.uuid4())
    terms = index_terms(event(f"organization-{other}", {
        "entity_ids": [entity, f"entity-{other}"], "members": [{"member_id": "m1"}], "name": "x", "count_id": 7,
        "flag": True}))
    assert terms.entities == (f"organization-{other}", other, entity, f"entity-{other}", "m1", "7")
    assert terms.actor_department == "district_org:420102"


def test_units_come_from_division_keys_and_ledger_streams():
    assert index_terms(event("ledger-420102001", {"district_code": "420102", "rows": []})).units == ("420102001", "420102")
    assert index_terms(event("entity-1", {"nested": {"division_code": "420103"}})).units == ("420103",)
    assert index_terms(event("entity-1", {"employees": 3})).units == ()


def test_log_order_is_recorded_order_but_never_reorders_a_stream():
    a1 = event("entity-a", {}, 1, T0 + timedelta(seconds=5))
    a2 = event("entity-a", {}, 2, T0 + timedelta(seconds=3))  # a clock stepped back
    b1 = event("entity-b", {}, 1, T0 + timedelta(seconds=4))
    c1 = event("entity-c", {}, 1, T0)
    ordered = log_order([a1, a2, b1, c1])
    assert ordered.index(a1) < ordered.index(a2)
    assert ordered[0] == c1 and ordered[1] == b1
