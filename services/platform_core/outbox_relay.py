"""The outbox relay: publishes a service's outbox rows to Kafka, then marks them.

Each record is a CloudEvent in binary content mode (docs/events.md): ``ce_*`` headers from the envelope,
the value the event's canonical JSON bytes exactly as stored (audit leaves unchanged).

Safe to SIGKILL at any moment: rows are marked only after Kafka acknowledged
them (acks=all), in the transaction that locked them, so a crash republishes
(at least once) and consumers dedupe by event_id. One relay per service is
active at a time (an advisory lock), which keeps each stream's order.
"""

import logging
import threading
import time
from collections import Counter

import psycopg2
import sqlalchemy as sa
from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy.engine import Engine

from .db import quoted_schema
from .intake.cloudevents import CloudEvent, binary_headers
from .intake.command_types import event_ce_type
from .metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)


def cloudevent_headers(row) -> list[tuple[str, bytes]]:
    """The CloudEvents attributes of an outbox row's event (docs/events.md has the mapping)."""
    service = row.topic.split(".")[0]  # <service>.events
    return binary_headers(CloudEvent(
        id=str(row.event_id), source=f"/campaign/{service}", type=event_ce_type(service, row.type, row.schema_version),
        subject=row.stream_id, time=row.recorded_at))


class OutboxRelay:
    def __init__(self, engine: Engine, schema: str, producer: KafkaProducer, batch_size: int = 5000,
                 linger: float = 0.02):
        self.engine = engine
        self.schema = quoted_schema(schema)
        self.producer = producer
        # On a backlog (after an outage) the claim and the mark cost a round trip each per batch, and the
        # claim's ORDER BY ... LIMIT a sort, so larger batches drain faster (docs/performance.md, "Figures
        # behind the code"); a batch is a few MB in the producer's 32 MB buffer.
        self.batch_size = batch_size
        # After a partial batch, wait this long before the next claim: a batch costs four round trips
        # and a Kafka acknowledgement whatever its size, so under a steady command rate a few more
        # milliseconds per event buy far fewer, fuller batches (like the producer's own linger_ms).
        self.linger = linger
        self._claim = sa.text(
            f"SELECT o.id, o.topic, e.stream_id, e.canonical, e.event_id, e.type, e.schema_version, e.recorded_at"
            f" FROM {self.schema}.outbox o"
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
                self.producer.send(row.topic, key=row.stream_id.encode("utf-8"), value=bytes(row.canonical),
                                   headers=cloudevent_headers(row))
                for row in rows
            ]
            self.producer.flush()
            for future in futures:
                future.get(timeout=60)  # raises if Kafka refused: the rows stay unpublished
            self._mark_published(conn, [row.id for row in rows])
        for topic, count in Counter(row.topic for row in rows).items():
            EVENTS_PUBLISHED.labels(service=self.schema, topic=topic).inc(count)
        return len(rows)

    def _mark_published(self, conn, ids: list[int]) -> None:
        conn.execute(self._mark, {"ids": ids})

    def backlog(self) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(sa.text(
                f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL")).scalar_one()
        OUTBOX_BACKLOG.labels(service=self.schema).set(count)
        return count

    def run(self, stop: threading.Event, idle_wait: float = 0.05) -> None:
        """Publish until ``stop`` is set, polling every ``idle_wait`` seconds while idle.

        Polling rather than LISTEN/NOTIFY: notifying transactions serialize their commits
        in PostgreSQL, which would cap the command rate; an empty poll is one index probe.
        When the database or Kafka fails, the relay waits and starts over (nothing was marked)."""
        while not stop.is_set():
            try:
                self._run_as_leader(stop, idle_wait)
            except (sa.exc.OperationalError, psycopg2.OperationalError, psycopg2.InterfaceError, KafkaError) as exc:
                log.warning("relay interrupted; retrying", extra={"schema": self.schema, "error": str(exc)[:200]})
                stop.wait(1.0)

    def _run_as_leader(self, stop: threading.Event, idle_wait: float) -> None:
        leader = self.engine.raw_connection()
        leader.detach()  # the advisory lock lives as long as this connection, outside the pool
        try:
            self._hold_leadership(leader, stop)
            log.info("outbox relay active", extra={"schema": self.schema})
            idle_since = time.monotonic()
            while not stop.is_set():
                published = self.publish_batch()
                if published:
                    idle_since = time.monotonic()
                    if published < self.batch_size and self.linger:
                        stop.wait(self.linger)
                    continue
                if time.monotonic() - idle_since > 5:
                    self.backlog()  # refresh the gauge now and then while idle
                    self._check(leader)  # the lock is only ours while its connection lives
                    idle_since = time.monotonic()
                stop.wait(idle_wait)
        finally:
            leader.close()

    @staticmethod
    def _check(connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.commit()

    def _hold_leadership(self, connection, stop: threading.Event) -> None:
        """Wait until this relay holds the service's relay lock (held for the connection's life)."""
        while not stop.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"relay:{self.schema}",))
                held = cursor.fetchone()[0]
            connection.commit()
            if held:
                return
            log.info("another relay is active; standing by", extra={"schema": self.schema})
            stop.wait(2)
