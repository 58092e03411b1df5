"""A projection process for the crash tests:
python projection_runner.py URL BOOTSTRAP SCHEMA TOPIC GROUP TABLE KILL_AT [DELAY_MS]

Projects per-stream event counts and employee sums into TABLE. With KILL_AT > 0
it SIGKILLs itself in the middle of a batch, right after applying that many
events (uncommitted); otherwise it runs until it has caught up with the topic.
DELAY_MS slows each event down (several members of one group then share the work).
"""

import os
import signal
import sys
import time

import sqlalchemy as sa

from platform_core.db import create_db_engine
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer


def main() -> None:
    url, bootstrap, schema, topic, group, table, kill_at = sys.argv[1:8]
    kill_at = int(kill_at)
    delay_s = int(sys.argv[8]) / 1000 if len(sys.argv) > 8 else 0.0
    engine = create_db_engine(url)
    applied = 0

    def handler(conn, envelope):
        nonlocal applied
        conn.execute(sa.text(
            f"INSERT INTO {schema}.{table} (stream_id, events, employees) VALUES (:s, 1, :e)"
            f" ON CONFLICT (stream_id) DO UPDATE SET events = {table}.events + 1,"
            f" employees = {table}.employees + EXCLUDED.employees"),
            {"s": envelope.stream_id, "e": envelope.payload["employees"]})
        applied += 1
        time.sleep(delay_s)
        if applied == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    applier = ProjectionApplier(schema, group, handler, None,
                                DeadLetterPublisher(create_producer(bootstrap, f"{group}-dlq")))
    projection = ProjectionConsumer(engine, bootstrap, [topic], applier, max_records=100)
    idle_polls = 0
    while idle_polls < 3:
        outcome = projection.poll_once(timeout_ms=1000)
        busy = outcome.applied or outcome.duplicates or outcome.dead_lettered
        idle_polls = 0 if busy else idle_polls + (1 if projection.consumer.assignment() else 0)
    projection.consumer.close()
    print(f"caught up after {applied} applied")


if __name__ == "__main__":
    main()
