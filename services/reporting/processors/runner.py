"""What the faust agent hands its batches to: the shared ProjectionApplier inside one PostgreSQL
transaction with the offsets, and the offsets stored in PostgreSQL (the only ones that count).

Records below the stored offset were applied already (faust's Kafka commits trail PostgreSQL's),
so they are skipped; a record beyond it means a gap (e.g. the projection was rebuilt while Kafka
kept a later committed offset), and the caller seeks back.
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
    def __init__(self, topic: str, partition: int, expected: int):
        super().__init__(f"{topic}:{partition} must resume at {expected}")
        self.topic, self.partition, self.expected = topic, partition, expected


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
        """Blocking: run with asyncio.to_thread from the agent."""
        fresh = []
        for record in records:
            expected = self.stored.get((record.topic, record.partition), 0)
            if record.offset < expected:
                continue  # applied and committed before (Kafka's committed offset trails PostgreSQL's)
            if record.offset > expected and (record.topic, record.partition) in self.stored:
                raise Gap(record.topic, record.partition, expected)
            fresh.append(record)
            self.stored[(record.topic, record.partition)] = record.offset + 1
        if not fresh:
            return BatchOutcome()
        try:
            with self.engine.begin() as conn:
                return self.applier.apply(conn, fresh)
        except Exception:
            self.reload_offsets()  # nothing committed: forget the optimistic advance
            raise

    def close(self) -> None:
        self.producer.close(timeout=10)
