"""A faust-streaming agent over one topic, for bench/projection_drivers.py (never run by the platform).

    python bench/faust_driver.py MODE TOPIC GROUP EVENTS SCHEMA TABLE worker -l warn

MODE ``count``: the agent only counts (faust's own ceiling). MODE ``apply``: each batch goes to the
platform's ProjectionApplier with the bench's batch handler in a worker thread, offsets in the same
PostgreSQL transaction, as the reporting projection ran on faust until 2026-12-04. Batches of up to
1,000 records or 0.1 s (``take_events``), faust's raw codec. When EVENTS records were seen the process
prints ``rate <events/s>`` (timed from the first batch, so the group join is not timed) and exits.
"""

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import faust

from pipeline import employees_projection
from platform_core.db import create_db_engine
from platform_core.kafka_io import DeadLetterPublisher, aiokafka_options, create_producer
from platform_core.local_processes import free_port
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier
from platform_core.settings import get_settings

MODE, TOPIC, GROUP, EVENTS, SCHEMA, TABLE = sys.argv[1:7]
sys.argv = [sys.argv[0], *sys.argv[7:]]  # faust's own command line: worker -l warn
EVENTS_WANTED = int(EVENTS)
BATCH, WITHIN_SECONDS = 1000, 0.1


def credentials():
    """The process's SASL/SCRAM login as faust takes it (None without SASL)."""
    options = aiokafka_options()
    if "sasl_mechanism" not in options:
        return None
    return faust.SASLCredentials(username=options["sasl_plain_username"], password=options["sasl_plain_password"],
                                 mechanism=options["sasl_mechanism"], ssl_context=options.get("ssl_context"))


settings = get_settings()
app = faust.App(
    GROUP, broker=[f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")],
    broker_credentials=credentials(), value_serializer="raw", key_serializer="raw",
    datadir=str(Path(tempfile.mkdtemp(prefix="bench-faust-"))), web_enabled=False, web_port=free_port(),
    web_host="127.0.0.1", topic_disable_leader=True, store="memory://", consumer_auto_offset_reset="earliest",
    stream_wait_empty=False)
topic = app.topic(TOPIC, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")
engine = create_db_engine(settings.database_url, pool_size=2)
_, batch_handler = employees_projection(engine, f"{SCHEMA}.{TABLE}", create=False)
applier = ProjectionApplier(SCHEMA, GROUP, None, None,
                            DeadLetterPublisher(create_producer(settings.kafka_bootstrap, "bench-faust-dlq")),
                            batch_handler=batch_handler)


def apply(records: list[ConsumedRecord]) -> None:
    with engine.begin() as conn:
        applier.apply(conn, records)


@app.agent(topic, concurrency=1)
async def drive(stream):
    seen, started = 0, None
    async for batch in stream.take_events(BATCH, within=WITHIN_SECONDS):
        if started is None:
            started = time.perf_counter()
        if MODE == "apply":
            await asyncio.to_thread(apply, [ConsumedRecord(e.message.topic, e.message.partition, e.message.offset,
                                                           e.message.value) for e in batch])
        seen += len(batch)
        if seen >= EVENTS_WANTED:
            print(f"rate {seen / (time.perf_counter() - started):.1f}", flush=True)
            os._exit(0)  # the measure is taken; faust's orderly shutdown takes seconds


if __name__ == "__main__":
    app.main()
