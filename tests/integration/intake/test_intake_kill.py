"""kill -9 of the intake processor in the middle of a load loses nothing and duplicates nothing: every command
has exactly one outcome row and its one entity; what was published twice is the same outcome twice."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from intake_support import REGISTER, command, outcomes, results_end
from registry_api_support import count, enterprise

HERE = Path(__file__).resolve().parent
COMMANDS = 400


def start(schema: str, group: str, departments) -> subprocess.Popen:
    rows = json.dumps([dataclasses.asdict(d) for d in departments])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(HERE / "intake_process.py"), schema, group, rows], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_kill_9_mid_batch_loses_and_duplicates_nothing(intake, engine, schema, settings):
    start_offsets = results_end(settings.kafka_bootstrap, intake.departments.values())
    department = intake.departments["district"]
    sent = [command(REGISTER, enterprise()) for _ in range(COMMANDS)]
    ids = "', '".join(e.id for e in sent)
    done = lambda: count(engine, schema, "intake_outcomes", f"ce_id IN ('{ids}')")  # noqa: E731
    intake.send("district", *sent)
    group = f"registry.intake-kill-{uuid.uuid4().hex[:8]}"
    process = start(schema, group, intake.departments.values())
    try:
        assert wait_for(lambda: done() > 0, 60), "the intake processed nothing"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        assert done() < COMMANDS, "the load ended before the kill: the test proves nothing"
        process = start(schema, group, intake.departments.values())
        assert wait_for(lambda: done() >= COMMANDS, 120), f"{done()} of {COMMANDS} commands have an outcome"
        time.sleep(1)  # anything duplicated would show up now
    finally:
        process.kill()
        process.wait(10)
    assert done() == COMMANDS
    codes = "', '".join(e.data["uscc"] for e in sent)
    assert count(engine, schema, "entities", f"uscc IN ('{codes}')") == COMMANDS
    assert count(engine, schema, "events", f"type = 'EntityRegistered' AND payload->>'uscc' IN ('{codes}')") == COMMANDS
    published = {}
    for value, _ in outcomes(settings.kafka_bootstrap, start_offsets, department, COMMANDS):
        published.setdefault(json.loads(value)["ce_id"], set()).add(value)
    assert set(published) == {e.id for e in sent}
    assert all(len(values) == 1 for values in published.values())  # republished after the kill: the same bytes
    assert all(json.loads(next(iter(v)))["status"] == "accepted" for v in published.values())
