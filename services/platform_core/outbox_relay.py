"""The outbox relay: publishes a service's outbox rows to Kafka, then marks them.

Safe to SIGKILL at any moment: rows are marked only after Kafka acknowledged
them (acks=all), in the transaction that locked them, so a crash republishes
(at least once) and consumers dedupe by event_id. One relay per service is
active at a time (an advisory lock), which keeps each stream's order.
"""

import logging
import select
import threading
import time

import sqlalchemy as sa
from kafka import KafkaProducer
from sqlalchemy.engine import Engine

from .db import quoted_schema
from .event_store import outbox_channel
from .metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, engine: Engine, schema: str, producer: KafkaProducer, batch_size: int = 1000):
        self.engine = engine
        self.schema = quoted_schema(schema)
        self.producer = producer
        self.batch_size = batch_size
        self._claim = sa.text(
            f"SELECT o.id, o.topic, e.stream_id, e.canonical FROM {self.schema}.outbox o"
            f" JOIN {self.schema}.events e ON e.event_id = o.event_id"
            " WHERE o.published_at IS NULL ORDER BY o.id LIMIT :n FOR UPDATE OF o SKIP LOCKED")
        self._mark = sa.text(f"UPDATE {self.schema}.outbox SET published_at = now() WHERE id = ANY(:ids)")

    def publish_batch(self) -> int:
        """Publish up to one batch; return how many rows were published."""
        with self.engine.begin() as conn:
            rows = conn.execute(self._claim, {"n": self.batch_size}).all()
            if not rows:
                return 0
            futures = [
                self.producer.send(row.topic, key=row.stream_id.encode("utf-8"), value=bytes(row.canonical))
                for row in rows
            ]
            self.producer.flush()
            for future in futures:
                future.get(timeout=60)  # raises if Kafka refused: the rows stay unpublished
            self._mark_published(conn, [row.id for row in rows])
        for row in rows:
            EVENTS_PUBLISHED.labels(service=self.schema, topic=row.topic).inc()
        return len(rows)

    def _mark_published(self, conn, ids: list[int]) -> None:
        conn.execute(self._mark, {"ids": ids})

    def backlog(self) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(sa.text(
                f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL")).scalar_one()
        OUTBOX_BACKLOG.labels(service=self.schema).set(count)
        return count

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Publish until ``stop`` is set; sleep on LISTEN between batches, polling as a fallback."""
        listener = self.engine.raw_connection()
        listener.detach()  # its session settings (autocommit, the lock) must not go back to the pool
        try:
            self._hold_leadership(listener, stop)
            listener.set_isolation_level(0)  # autocommit, so LISTEN takes effect at once
            with listener.cursor() as cursor:
                cursor.execute(f"LISTEN {outbox_channel(self.schema)}")
            log.info("outbox relay active", extra={"schema": self.schema})
            while not stop.is_set():
                published = self.publish_batch()
                if published:
                    continue
                self.backlog()
                dbapi = listener.dbapi_connection
                if select.select([dbapi], [], [], idle_wait) != ([], [], []):
                    dbapi.poll()
                    dbapi.notifies.clear()
        finally:
            listener.close()

    def _hold_leadership(self, listener, stop: threading.Event) -> None:
        """Wait until this relay holds the service's relay lock (held for the connection's life)."""
        while not stop.is_set():
            with listener.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"relay:{self.schema}",))
                if cursor.fetchone()[0]:
                    listener.commit()
                    return
            listener.commit()
            log.info("another relay is active; standing by", extra={"schema": self.schema})
            time.sleep(2)
