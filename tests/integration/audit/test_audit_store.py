"""The PostgreSQL log equals the in-memory reference tree: roots, proofs, dedupe, search."""

import random
import uuid

import pytest

from audit_fixtures import audit_schema, envelope  # noqa: F401 (fixture)
from platform_core.errors import NotFound, PlatformError
from platform_core.merkle import EMPTY_ROOT, MemoryTree, verify_consistency, verify_inclusion
from reporting.audit.store import AuditLogStore, SearchQuery


def test_batches_build_the_same_tree_as_the_reference(engine, audit_schema):
    store, reference = AuditLogStore(audit_schema), MemoryTree()
    with engine.connect() as conn:
        assert store.head(conn) == (0, EMPTY_ROOT)
    roots = {}
    n = 0
    for batch_size in (1, 1, 5, 64, 129, 300):
        batch = [envelope(n + i) for i in range(batch_size)]
        n += batch_size
        with engine.begin() as conn:
            outcome = store.append(conn, batch)
        for e in batch:
            reference.append(e.canonical_bytes())
        assert (outcome.appended, outcome.tree_size, outcome.root_hash) == (batch_size, n, reference.root())
        roots[n] = reference.root()
    rng = random.Random(7)
    with engine.connect() as conn:
        for size, root in roots.items():
            assert store.root_at(conn, size) == root
        for _ in range(60):
            size = rng.choice(list(roots))
            index = rng.randrange(size)
            proof = store.inclusion_proof(conn, index, size)
            assert proof == reference.inclusion_proof(index, size)
            verify_inclusion(index, size, reference.nodes[(0, index)], proof, roots[size])
            first = rng.randrange(0, size + 1)
            cproof = store.consistency_proof(conn, first, size)
            assert cproof == reference.consistency_proof(first, size)
            verify_consistency(first, size, cproof, reference.root(first), roots[size])


def test_duplicates_are_skipped_within_and_across_batches(engine, audit_schema):
    store = AuditLogStore(audit_schema)
    a, b = envelope(1), envelope(2)
    with engine.begin() as conn:
        first = store.append(conn, [a, b, a])
    with engine.begin() as conn:
        again = store.append(conn, [b, a])
    assert (first.appended, first.skipped, first.tree_size) == (2, 1, 2)
    assert (again.appended, again.skipped, again.tree_size, again.root_hash) == (0, 2, 2, first.root_hash)


def test_search_by_entity_unit_actor_type_and_time(engine, audit_schema):
    store = AuditLogStore(audit_schema)
    entity = str(uuid.uuid4())
    events = [
        envelope(1, f"entity-{entity}", 1, type_="EntityRegistered", payload={"division_code": "420102"}),
        envelope(2, f"organization-{uuid.uuid4()}", 1, type_="OrganizationFormed",
                 payload={"entity_ids": [entity, str(uuid.uuid4())], "district_code": "420103"},
                 department="district_org:420103"),
        envelope(3, "ledger-420104001", 1, type_="LedgerSubmitted", payload={"entries": 3}, department="civil_affairs"),
        envelope(4, f"entity-{uuid.uuid4()}", 1),
    ]
    with engine.begin() as conn:
        store.append(conn, events)
    with engine.connect() as conn:
        def ids(**kw):
            return [e.leaf_index for e in store.search(conn, SearchQuery(**kw))]
        assert ids(entity=entity) == [0, 1]
        assert ids(entity=f"entity-{entity}") == [0]
        assert ids(unit="420103") == [1]
        assert ids(unit="420104001") == [2]
        assert ids(actor="district_org") == [0, 1, 3]
        assert ids(actor="civil_affairs") == [2]
        assert ids(event_type="OrganizationFormed") == [1]
        assert ids(recorded_from=events[1].recorded_at, recorded_to=events[3].recorded_at) == [1, 2]
        assert ids(after_index=1, limit=1) == [2]


def test_bad_sizes_and_unknown_events_are_clear_errors(engine, audit_schema):
    store = AuditLogStore(audit_schema)
    with engine.begin() as conn:
        store.append(conn, [envelope(i) for i in range(3)])
    with engine.connect() as conn:
        with pytest.raises(PlatformError, match="tree_size 4 is outside the log"):
            store.inclusion_proof(conn, 0, 4)
        with pytest.raises(PlatformError, match="leaf 2 was appended after size 2"):
            store.inclusion_proof(conn, 2, 2)
        with pytest.raises(PlatformError, match="first size 3 is larger"):
            store.consistency_proof(conn, 3, 2)
        with pytest.raises(NotFound):
            store.leaf(conn, uuid.uuid4())


def test_awkward_characters_in_search_terms_survive_copy(engine, audit_schema):
    store = AuditLogStore(audit_schema)
    odd = 'a"b\\c\td\ne,{x} 区\r\x00z'
    event = envelope(1, "entity-tab\there", payload={"entity_id": odd, "unit": "{420102}"})
    with engine.begin() as conn:
        store.append(conn, [event])
    with engine.connect() as conn:
        assert [e.canonical for e in store.search(conn, SearchQuery(entity=odd.replace("\x00", "")))] == [event.canonical_bytes()]
        assert len(store.search(conn, SearchQuery(entity="entity-tab\there"))) == 1
        assert len(store.search(conn, SearchQuery(unit="{420102}"))) == 1
