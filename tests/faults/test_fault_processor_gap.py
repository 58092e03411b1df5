"""Regression found by the fault suite: the reporting faust processor skipped events for good after
an offset gap. After a restart (or a seek) faust may hand the agent a batch where one partition's
records jump past the offset stored in PostgreSQL. ``BatchRunner.apply`` raised ``Gap`` at that
record, but had already advanced its in-memory offsets for the batch's earlier records (of other
partitions, or of the same one) without applying them; faust's position was past them too, so the
next batch went on from there: 133 events (entities, members, mass organizations) were never
projected while the lag showed 0. Now a batch applies each partition's contiguous records, and a
gapped partition neither advances nor loses anything: it is sought back and read again.
"""

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from platform_core.db import create_db_engine, migrate
from platform_core.envelope import Actor, EventEnvelope
from platform_core.projection_consumer import ConsumedRecord
from platform_core.settings import get_settings
from reporting.processors.runner import BatchRunner, Gap

pytestmark = pytest.mark.integration

FACTS = {"kind": "non_public_enterprise", "subtype": "private", "level": None, "address": "故障路1号",
         "industry": "internet", "employees": 50, "above_scale": False, "street_code": "420102001",
         "district_code": "420102", "formal_members": 1, "probationary_members": 0, "operation_status": "operating",
         "person_in_charge": "张三", "party_organization": "none", "legal_representative": "李四",
         "no_organization_reason": "正在筹建", "supervising_department": None, "person_in_charge_is_member": False}


def registered(n: int) -> tuple[str, bytes]:
    entity = f"entity-{uuid.uuid4()}"
    now = datetime.now(timezone.utc)
    envelope = EventEnvelope(event_id=uuid.uuid4(), type="EntityRegistered", schema_version=1, stream_id=entity,
                             stream_version=1, occurred_at=now, recorded_at=now,
                             actor=Actor(department="test", user="t"),
                             payload={**FACTS, "entity_id": entity, "name": f"缺口测试{n}", "uscc": f"GAP{n:015d}"})
    return entity, envelope.canonical_bytes()


def test_a_gap_in_one_partition_loses_nothing_of_the_batch():
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=2)
    schema = f"t_gap_{uuid.uuid4().hex[:10]}"
    migrate(engine, schema)
    runner = BatchRunner(engine, settings.kafka_bootstrap, schema, None, group_id="gap-test")
    events = [registered(n) for n in range(8)]

    def record(partition: int, offset: int, n: int) -> ConsumedRecord:
        return ConsumedRecord("registry.events", partition, offset, events[n][1])

    def projected() -> set[str]:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text(f"SELECT entity_id FROM {schema}.rp_entities"))}

    try:
        runner.apply([record(0, 0, 0), record(1, 0, 1)])
        # partition 1 jumps from 1 to 5 (records 1..4 still to come); partition 0 continues, before and after
        with pytest.raises(Gap) as gap:
            runner.apply([record(0, 1, 2), record(1, 5, 3), record(0, 2, 4), record(1, 6, 5)])
        assert gap.value.expected == {("registry.events", 1): 1}
        assert projected() == {events[n][0] for n in (0, 1, 2, 4)}, "partition 0's records were dropped"
        assert runner.stored == {("registry.events", 0): 3, ("registry.events", 1): 1}
        with engine.connect() as conn:
            assert runner.applier.stored_offsets(conn) == runner.stored
        # after the seek partition 1 is read again from 1: everything arrives, once
        runner.apply([record(1, 1, 6), record(1, 2, 7), record(1, 3, 3), record(1, 4, 5), record(0, 2, 4)])
        assert projected() == {entity for entity, _ in events}
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT events_applied FROM {schema}.rp_meta")).scalar_one() == 8
    finally:
        runner.close()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
