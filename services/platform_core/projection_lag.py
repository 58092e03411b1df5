"""Has a projection seen everything its topics hold? Its stored offsets against the topics' end offsets.

A projection stores its next offsets in ``consumer_offsets`` in the transaction that writes its rows
(projection_consumer), so "stored offset >= end offset" on every partition means every event published
before the end offsets were read is in the projection. Asking Kafka costs a broker round trip, so a
service asks only when it is about to refuse a command on facts it learnt from another service's events:
such a refusal is final only once the projection has caught up with what the topics held at that moment.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from kafka import TopicPartition
from kafka.errors import KafkaError
from sqlalchemy.engine import Engine

from .db import quoted_schema
from .errors import Busy
from .kafka_io import create_offset_probe

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]
POLL_SECONDS = 0.05
STALL_SECONDS = 0.25  # a running consumer applies a batch well within this (docs/formation.md: 20-60 ms)
END_OFFSETS_TIMEOUT_MS = 5000  # a broker that does not answer: 503 rather than a request held for minutes


class ProjectionLag:
    """One projection (consumer group) of some topics, in one service's schema."""

    def __init__(self, engine: Engine, schema: str, group_id: str, topics: tuple[str, ...], bootstrap: str,
                 end_offsets: Callable[[tuple[str, ...]], Offsets] | None = None):
        self.engine, self.group_id, self.topics = engine, group_id, tuple(topics)
        self.bootstrap = bootstrap
        self._stored_sql = sa.text(f"SELECT topic, partition, next_offset FROM {quoted_schema(schema)}.consumer_offsets"
                                   " WHERE group_id = :g")
        self._read_ends = end_offsets or self._kafka_end_offsets
        self._probe = None
        self._lock = threading.Lock()

    def end_offsets(self) -> Offsets:
        """The topics' end offsets now; 503 (retry) when Kafka cannot say."""
        try:
            return self._read_ends(self.topics)
        except KafkaError as exc:
            raise Busy(f"cannot tell whether {self.group_id} has seen the latest events of "
                       f"{', '.join(self.topics)} (Kafka: {type(exc).__name__}); nothing was written, retry",
                       retry_after=2) from exc

    def stored(self) -> Offsets:
        with self.engine.connect() as conn:
            return {(r.topic, r.partition): r.next_offset for r in conn.execute(self._stored_sql, {"g": self.group_id})}

    def behind(self, ends: Offsets, stored: Offsets | None = None) -> dict[str, int]:
        """Events per topic that the topics held at ``ends`` and the projection has not applied (only topics
        with some)."""
        stored = self.stored() if stored is None else stored
        missing: dict[str, int] = defaultdict(int)
        for (topic, partition), end in ends.items():
            gap = end - stored.get((topic, partition), 0)
            if gap > 0:
                missing[topic] += gap
        return dict(missing)

    def wait_until_seen(self, ends: Offsets, timeout_seconds: float,
                        stall_seconds: float = STALL_SECONDS) -> dict[str, int]:
        """Wait up to ``timeout_seconds`` for the projection to reach ``ends``, while it makes progress (a
        consumer that applies nothing for ``stall_seconds`` is not waited for); what is still missing then."""
        deadline = time.monotonic() + timeout_seconds
        last, progressed_at = None, time.monotonic()
        while True:
            missing = self.behind(ends)
            now = time.monotonic()
            if missing != last:
                last, progressed_at = missing, now
            if not missing or now >= deadline or now - progressed_at >= stall_seconds:
                return missing
            time.sleep(POLL_SECONDS)

    def _kafka_end_offsets(self, topics: tuple[str, ...]) -> Offsets:
        with self._lock:  # a KafkaConsumer is not thread-safe; refusals are rare enough to queue here
            try:
                if self._probe is None:
                    self._probe = create_offset_probe(self.bootstrap, f"lag-{self.group_id}")
                partitions = [TopicPartition(t, p) for t in topics for p in sorted(self._probe.partitions_for_topic(t)
                                                                                    or ())]
                ends = self._probe.end_offsets(partitions, timeout_ms=END_OFFSETS_TIMEOUT_MS) if partitions else {}
            except KafkaError:
                self.close()
                raise
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    def close(self) -> None:
        if self._probe is not None:
            try:
                self._probe.close()
            except Exception:  # closing a broken client must not hide the error that broke it
                log.warning("closing the offset probe failed", exc_info=True)
            self._probe = None
