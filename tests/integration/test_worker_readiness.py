"""A service's /readyz reports a dead worker: a named relay SIGKILLed, a worker that exits on an error.

The relay runs as the real command (`campaign relay registry --schema <scratch>`) with the name the
deployment would give it; the app is registry's, over the same scratch schema."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from platform_core.workers import WorkerHeartbeat, read_dead_workers
from support import ScratchApps

CAMPAIGN = str(Path(sys.executable).with_name("campaign"))


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def registry_app(engine, settings):
    apps = ScratchApps(engine, "registry")
    client = apps.start(settings.model_copy(update={"worker_stale_after_s": 3.0}))
    yield apps.schema, client
    apps.close()


def start_relay(schema: str, name: str) -> subprocess.Popen:
    env = dict(os.environ, CAMPAIGN_WORKER_NAME=name, CAMPAIGN_WORKER_HEARTBEAT_S="0.5", CAMPAIGN_LOG_FORMAT="text")
    return subprocess.Popen([CAMPAIGN, "relay", "registry", "--schema", schema], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def readiness(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]


def test_a_killed_worker_makes_its_service_not_ready_until_it_is_back(registry_app):
    schema, client = registry_app
    name = f"registry-relay-{uuid.uuid4().hex[:6]}"
    relay = start_relay(schema, name)
    try:
        wait_for(lambda: readiness(client) == (200, {"database": "ok", "workers": "ok", "kafka": "ok"})
                 and client.app.state.engine.connect().execute(sa.text(
                     f"SELECT state FROM {schema}.workers WHERE worker = :w"), {"w": name}).scalar() == "running",
                 60, "the relay beating")
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        status, checks = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(readiness(client)), 15,
                                  "/readyz noticing the silence")
        assert checks["workers"].startswith(f"{name} no heartbeat for "), checks
        assert checks["database"] == "ok" and checks["kafka"] == "ok"

        relay = start_relay(schema, name)  # back: ready again
        wait_for(lambda: readiness(client)[0] == 200, 60, "ready after the restart")
        relay.send_signal(signal.SIGTERM)  # a deliberate stop is not a death
        assert relay.wait(timeout=30) == 0, relay.stderr.read()[-2000:]
        assert readiness(client)[0] == 200
        with client.app.state.engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT state FROM {schema}.workers WHERE worker = :w"),
                                {"w": name}).scalar_one() == "stopped"
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()


def test_a_worker_that_exits_on_an_error_is_reported_failed_with_the_error(engine, registry_app):
    schema, client = registry_app
    with pytest.raises(RuntimeError):
        with WorkerHeartbeat(engine, schema, "registry-consumer", every=0.2):
            raise RuntimeError("the projection met a bug")
    with engine.connect() as conn:
        assert read_dead_workers(conn, schema) == {"registry-consumer": "failed: RuntimeError: the projection met a bug"}
    status, checks = readiness(client)
    assert status == 503 and checks["workers"] == "registry-consumer failed: RuntimeError: the projection met a bug"
