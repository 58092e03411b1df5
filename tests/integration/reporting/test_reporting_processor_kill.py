"""SIGKILL reporting's coverage projection mid-stream; after a restart the projection equals a fresh
replay and every event was applied exactly once (rp_meta.events_applied == events published)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from reporting_support import create_topics, delete_topics, drop_schema, dump, publish  # noqa: I001
from reporting_scenario import REGISTRY, bulk
from reporting.adapters.replay import replay_into

pytestmark = pytest.mark.integration
SERVICES = Path(__file__).resolve().parents[3] / "services"


RUNNER = Path(__file__).with_name("coverage_runner.py")


def start_worker(schema: str, topics: dict[str, str], group: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, CAMPAIGN_REPORTING_SCHEMA=schema, CAMPAIGN_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, str(RUNNER), group, *topics.values()],
                            cwd=SERVICES, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def applied(engine, schema: str) -> int:
    with engine.connect() as conn:
        try:
            return conn.execute(sa.text(f"SELECT events_applied FROM {schema}.rp_meta")).scalar() or 0
        except sa.exc.ProgrammingError:
            return 0


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_mid_stream_neither_loses_nor_double_counts(engine, settings, tmp_path):
    topics = create_topics(settings.kafka_bootstrap)
    schema, replayed = f"t_rp_{uuid.uuid4().hex[:10]}", f"t_rp_{uuid.uuid4().hex[:10]}"
    group = f"t-rp-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    try:
        scenario = bulk(1500)
        publish(settings.kafka_bootstrap, topics, scenario.events, duplicate_every=50)
        total = len(scenario.events)
        worker = start_worker(schema, topics, group, log)
        try:
            wait_for(lambda: applied(engine, schema) > 400, 90, "the first batches")
            os.kill(worker.pid, signal.SIGKILL)  # mid-stream: somewhere inside a batch or between two
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        killed_at = applied(engine, schema)
        assert 0 < killed_at < total, "the kill must land mid-stream"
        worker = start_worker(schema, topics, group, log)
        try:
            wait_for(lambda: applied(engine, schema) >= total, 120, "catching up after the restart")
            time.sleep(1.0)  # anything extra would show now
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        assert applied(engine, schema) == total, log.read_text(errors="replace")[-3000:]
        replay_into(engine, settings.kafka_bootstrap, replayed, REGISTRY, topics=tuple(topics.values()))
        assert dump(engine, schema) == dump(engine, replayed)
    finally:
        drop_schema(engine, schema)
        drop_schema(engine, replayed)
        delete_topics(settings.kafka_bootstrap, topics)
