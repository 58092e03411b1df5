"""The audit processor in its own process, for the crash test:
python audit_processor_runner.py URL BOOTSTRAP SCHEMA TOPIC GROUP KILL_AT_BATCH

With KILL_AT_BATCH > 0 it SIGKILLs itself inside that batch, right after the log rows
were written and before the commit; otherwise it runs until it has caught up.
"""

import os
import signal
import sys

from platform_core.db import create_db_engine
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer
from reporting.audit.processor import audit_projection


def main() -> None:
    url, bootstrap, schema, topic, group, kill_at = sys.argv[1:7]
    kill_at, batches = int(kill_at), 0
    engine = create_db_engine(url)
    spec = audit_projection(schema, topics=(topic,), group_id=group)

    def append_then_maybe_die(conn, envelopes):
        nonlocal batches
        spec.batch_handler(conn, envelopes)
        batches += 1
        if batches == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    applier = ProjectionApplier(schema, group, None, None, DeadLetterPublisher(create_producer(bootstrap, f"{group}-dlq")),
                                batch_handler=append_then_maybe_die, dedupe=spec.dedupe)
    projection = ProjectionConsumer(engine, bootstrap, [topic], applier, max_records=40)
    consumer = projection.consumer
    while True:  # until every assigned partition is read to its end
        projection.poll_once(timeout_ms=500)
        assignment = consumer.assignment()
        if assignment:
            ends = consumer.end_offsets(list(assignment))
            if all(consumer.position(tp) >= ends[tp] for tp in assignment):
                break
    consumer.close()
    print(f"caught up after {batches} batches")


if __name__ == "__main__":
    main()
