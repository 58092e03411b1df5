"""What the faust agent hands its batches to: the shared ProjectionApplier inside one PostgreSQL
transaction with the offsets, and the offsets stored in PostgreSQL (the only ones that count).

Records below the stored offset were applied already (faust's Kafka commits trail PostgreSQL's),
so they are skipped; a record beyond it means a gap (e.g. faust resumed from a Kafka committed
offset past PostgreSQL's after a restart, or handed out records still buffered from before a seek).
Per partition only the contiguous run from the stored offset is applied; a gapped partition's
records are left out (none of them advances the stored offset) and the caller seeks it back.
"""

import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from platform_core.event_types import EventTypeRegistry
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import BatchOutcome, ConsumedRecord, ProjectionApplier
from reporting.adapters.projection_store import PROJECTION_GROUP, create_tables
from reporting.handlers.projection import projection_handler

log = logging.getLogger(__name__)


class Gap(Exception):
    """Partitions whose records jumped past the stored offset: (topic, partition) -> where to resume."""

    def __init__(self, expected: dict[tuple[str, int], int]):
        super().__init__(", ".join(f"{t}:{p} must resume at {o}" for (t, p), o in sorted(expected.items())))
        self.expected = expected


class BatchRunner:
    def __init__(self, engine: Engine, bootstrap: str, schema: str, registry: EventTypeRegistry | None,
                 group_id: str = PROJECTION_GROUP):
        self.engine = engine
        with engine.begin() as conn:
            create_tables(conn, schema)
        self.producer = create_producer(bootstrap, f"{group_id}-dead-letters")
        self.applier = ProjectionApplier(schema, group_id, None, registry, DeadLetterPublisher(self.producer),
                                         batch_handler=projection_handler(schema))
        self.stored: dict[tuple[str, int], int] = {}
        self.reload_offsets()

    def reload_offsets(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            self.stored = self.applier.stored_offsets(conn)
        return self.stored

    def apply(self, records: Sequence[ConsumedRecord]) -> BatchOutcome:
        """Blocking: run with asyncio.to_thread from the agent. Applies every partition's records
        that continue the stored offsets, then raises ``Gap`` for the partitions that did not.

        A gapped partition must not advance ``stored`` at all, and the batch's other partitions
        are applied all the same: their positions have moved past these records, so dropping
        them here would skip them for good (the fault suite lost events that way)."""
        before = dict(self.stored)
        fresh: list[ConsumedRecord] = []
        gaps: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            if key in gaps:
                continue  # beyond the gap: delivered again after the caller's seek
            expected = self.stored.get(key, 0)
            if record.offset < expected:
                continue  # applied and committed before (Kafka's committed offset trails PostgreSQL's)
            if record.offset > expected and key in self.stored:
                gaps[key] = expected
                continue
            fresh.append(record)
            self.stored[key] = record.offset + 1
        outcome = BatchOutcome()
        if fresh:
            try:
                with self.engine.begin() as conn:
                    outcome = self.applier.apply(conn, fresh)
            except Exception:
                # Nothing committed (or, if the commit's answer was lost, a retry dedupes by event id):
                # forget the optimistic advance. From memory, not reload_offsets(): the database may be
                # what failed, and a stale advance would make the retry skip the batch for good.
                self.stored = before
                raise
        if gaps:
            raise Gap(gaps)
        return outcome

    def close(self) -> None:
        self.producer.close(timeout=10)
