"""The thin agent: raw batches in, ProjectionApplier (in a thread) out."""

import asyncio
import logging

import sqlalchemy as sa
from faust.types import TP

from platform_core.contracts import every_event_type
from platform_core.db import migrate
from platform_core.heap import freeze_startup_heap
from platform_core.projection_consumer import ConsumedRecord
from reporting.bootstrap import build_context
from reporting.processors.app import app, events, processor
from reporting.processors.runner import BatchRunner, Gap

log = logging.getLogger(__name__)
_runner: BatchRunner | None = None


def runner() -> BatchRunner:
    global _runner  # built once per worker process, after faust configured logging
    if _runner is None:
        if processor.metrics_port:
            from prometheus_client import start_http_server
            start_http_server(processor.metrics_port)
        context = build_context()
        if processor.schema_name == context.schema:
            context.migrate()
        else:
            migrate(context.engine, processor.schema_name)  # a scratch schema: the core tables only
        _runner = BatchRunner(context.engine, context.settings.kafka_bootstrap, processor.schema_name,
                              every_event_type(),
                              group_id=processor.group_id)
        freeze_startup_heap()
    return _runner


@app.on_partitions_assigned.connect
async def seek_to_stored(app_, assigned, **kwargs) -> None:
    """Resume where PostgreSQL says, not where Kafka's committed offsets say."""
    stored = await asyncio.to_thread(runner().reload_offsets)
    for tp in assigned:
        if (tp.topic, tp.partition) in stored:
            await app.consumer.seek(tp, stored[(tp.topic, tp.partition)])


@app.agent(events, concurrency=1)
async def project(stream):
    async for batch in stream.take_events(processor.batch, within=processor.within_seconds):
        records = [ConsumedRecord(e.message.topic, e.message.partition, e.message.offset, e.message.value)
                   for e in batch]
        while True:
            try:
                await asyncio.to_thread(apply, records)
            except Gap as gap:
                # The batch's contiguous records are committed; the gapped partitions go back.
                log.warning("offset gap, seeking back: %s", gap)
                for (topic, partition), offset in gap.expected.items():
                    await app.consumer.seek(TP(topic, partition), offset)
            except sa.exc.DBAPIError as exc:
                # The database went away: retry this batch until it is back. Letting the error out
                # would crash the agent while the worker lives on, projecting nothing (fault suite).
                log.warning("database unavailable; retrying the batch: %s", str(exc)[:200])
                await asyncio.sleep(1.0)
                continue
            break


def apply(records: list[ConsumedRecord]) -> None:
    runner().apply(records)
