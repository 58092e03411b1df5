"""Fault suite (issue 9): during a steady command load, SIGKILL in turn the reporting processor, a
service app, an outbox relay, the Kafka broker and PostgreSQL, and restart each. Afterwards:
every accepted command's events are in its event store and in the audit log exactly once; a command
refused with an error wrote nothing (retried with its Idempotency-Key it exists exactly once); the
audit log verifies offline; every projection equals a fresh replay.

It kills the broker and PostgreSQL of the stack the environment names: run it on a private stack
(docs/faults.md) or CI's own, never on a stack others are using.
"""

import os
import subprocess
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from fault_checks import SERVICES
from fault_load import Load
from fault_platform import ROOT, Platform, Stack, own_city, ready, wait_until
from fault_verify import say, verify_run

from signer_process import running_stack_signer
from platform_core.db import create_db_engine
from platform_core.tokens import issuer_from_settings

pytestmark = [pytest.mark.integration, pytest.mark.disrupts_stack]
if __import__("importlib").util.find_spec("pytest_timeout") is not None:
    pytestmark.append(pytest.mark.timeout(600))

DOWN_SECONDS = 3.0  # how long each killed component stays dead
AFTER_SECONDS = 5.0  # load that runs after each restart before the next fault
FAULTS = (("reporting-processor", "process"), ("membership", "process"), ("registry-relay", "process"),
          ("kafka", "stack"), ("postgres", "stack"))


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    city = own_city(folder / "territory.json")
    env = {**os.environ, "CAMPAIGN_TERRITORY_FILE": str(folder / "territory.json"), "CAMPAIGN_LOG_LEVEL": "WARNING",
           "CAMPAIGN_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0"}
    subprocess.run([str(ROOT / ".venv/bin/campaign"), "topics"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([str(ROOT / ".venv/bin/campaign"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    # the stack's own signer (the checkpoint at the end is of the stack's log, schema reporting)
    with running_stack_signer(Stack().settings.run_dir, folder / "signer", env) as signer:
        env.update(signer.reporting_env())
        platform = Platform(folder, env)
        platform.city = city
        try:
            platform.start_all()
            yield platform
        finally:
            platform.stop_all()


def inject(platform, stack, load, name: str, kind: str, figures: list) -> None:
    """SIGKILL one component under load, restart it after DOWN_SECONDS, let the load run on; record figures."""
    before = len(load.snapshot())
    killed_at = time.monotonic()
    if kind == "stack":
        stack.kill(name)
    else:
        platform.kill(name)
    say(f"SIGKILL {name}")
    time.sleep(DOWN_SECONDS)
    restarted_at = time.monotonic()
    stack.up() if kind == "stack" else platform.start(name)
    if name in platform.ports:
        wait_until(lambda: ready(platform.ports[name]), 90, f"{name} to be ready again")
    say(f"restarted {name} in {time.monotonic() - restarted_at:.1f}s")
    time.sleep(AFTER_SECONDS)
    window = load.snapshot()[before:]
    resumed = {}
    for service in SERVICES:
        first = next((o for o in window if o.service == service and o.accepted and o.sent_at >= restarted_at), None)
        resumed[service] = round(first.sent_at - killed_at, 1) if first else None
    figure = {"fault": name, "accepted": sum(o.accepted for o in window),
              "refused": sum(not o.accepted for o in window),
              "refused_by_status": dict(Counter(str(o.status) for o in window if not o.accepted)),
              "seconds_from_kill_to_next_success": resumed}
    figures.append(figure)
    say(f"{name}: {figure}")


def test_faults_lose_nothing_and_projections_equal_a_replay(platform):
    env = platform.env
    engine = create_db_engine(env["CAMPAIGN_DATABASE_URL"], pool_size=2)
    bootstrap = env["CAMPAIGN_KAFKA_BOOTSTRAP"]
    stack = Stack()
    load = Load({app: platform.url(app) for app in SERVICES}, platform.city,
                issuer_from_settings())
    with engine.connect() as conn:
        since = conn.execute(sa.text("SELECT now()")).scalar_one()  # the run's checkpoints are recorded after
    started = time.monotonic()
    load.start()
    figures = []
    try:
        time.sleep(AFTER_SECONDS)
        say(f"warm-up: {sum(o.accepted for o in load.snapshot())} commands accepted")
        for name, kind in FAULTS:
            inject(platform, stack, load, name, kind, figures)
    finally:
        load.stop()
        # whatever happened, the broker and PostgreSQL are up again for the tests after this one
        # (`stack.py up` only starts what is not running: half a second when all is well)
        stack.up()
    outcomes = load.snapshot()
    say(f"load stopped after {time.monotonic() - started:.0f}s: {len(outcomes)} commands, "
        f"{sum(o.accepted for o in outcomes)} accepted, {sum(not o.accepted for o in outcomes)} refused")
    verify_run(platform, load, engine, bootstrap, since)
    engine.dispose()
    say(f"figures: {figures}")
