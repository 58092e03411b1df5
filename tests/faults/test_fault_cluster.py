"""Broker failure on a replicated cluster (docs/faults.md, "A 3-broker cluster"): a private stack of three
KRaft nodes (`deploy/stack.py up --brokers 3`: event topics with 3 copies, min.insync.replicas 2, producers
acks=all). During a steady command load, SIGKILL the leader of registry.events' partition 0, then a second
broker (one in-sync copy left), then restart both.

Expected: with 2 of 3 brokers up commands are accepted and published; with one left they are still accepted
(the event stores are PostgreSQL) but the relays' produces are refused, so the events wait in the outbox;
after the restart the platform catches up, and the same checks as the single-broker fault suite hold:
nothing lost or doubled, the audit log verifies, every projection equals a fresh replay. The test prints how
long publishing stopped after each kill (the unavailability windows).

The cluster is this test's own (its own run folder and ports): it never touches the stack others use.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from fault_load import Load
from fault_platform import ROOT, STACK_SCRIPT, Platform, own_city, stack, wait_until
from fault_verify import say, verify_run
from kafka import KafkaAdminClient

from platform_core.db import create_db_engine
from platform_core.kafka_io import kafka_options
from platform_core.local_processes import free_port
from platform_core.settings import get_settings
from platform_core.tokens import issuer_from_settings
from signer_process import running_stack_signer

pytestmark = [pytest.mark.integration]
if __import__("importlib").util.find_spec("pytest_timeout") is not None:
    pytestmark.append(pytest.mark.timeout(1200))

BROKERS = 3
STEADY_SECONDS = 5.0  # load before the first kill and after each step
ONE_BROKER_SECONDS = 6.0  # how long only one broker is left


def free_base_ports() -> tuple[int, int, int]:
    """A broker port, a controller port and a PostgreSQL port such that every node's ports are free."""
    step = stack.NODE_PORT_STEP
    for _ in range(50):
        kafka = free_port()
        wanted = [kafka + step * k for k in range(BROKERS)] + [kafka + 1 + step * k for k in range(BROKERS)]
        if max(wanted) < 65000 and all(_free(port) for port in wanted):
            return kafka, kafka + 1, free_port()
    raise RuntimeError("no free ports for a 3-broker cluster")


def _free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_stack(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    result = subprocess.run([sys.executable, str(STACK_SCRIPT), *args], env=env, capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[:1500] + " ... " + result.stderr[-1500:]
    return result.stdout


def operator_environment(settings, base: dict[str, str]) -> dict[str, str]:
    environment = dict(base)
    for variable, value in stack.process_environment(settings, "operator", base).items():
        if value is None:
            environment.pop(variable, None)
        else:
            environment[variable] = value
    return environment


@pytest.fixture(scope="module")
def cluster():
    # not under pytest's tmp folder: another pytest session on the machine makes that owner-only, and this
    # cluster's PostgreSQL runs as the postgres user
    folder = Path(tempfile.mkdtemp(prefix="campaign-cluster-"))
    kafka, controller, pg = free_base_ports()
    run_dir = folder / "stack"
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    base.update(CAMPAIGN_RUN_DIR=str(run_dir), CAMPAIGN_KAFKA_PORT=str(kafka), CAMPAIGN_KAFKA_CONTROLLER_PORT=str(controller),
                CAMPAIGN_PG_PORT=str(pg))
    shared_jars = stack.load_settings().kafka_libs  # the suite's own stack fetched them: not again
    if (shared_jars / ".complete").is_file():
        shutil.copytree(shared_jars, run_dir / "kafka" / "libs")
    try:
        started = time.monotonic()
        run_stack(base, "up", "--brokers", str(BROKERS))
        say(f"a {BROKERS}-broker cluster is up in {time.monotonic() - started:.0f}s")
        settings = stack.load_settings(base)
        assert settings.kafka_brokers == BROKERS
        yield settings, base, operator_environment(settings, base)
    finally:
        # The cluster is thrown away: its brokers get SIGKILL (a clean shutdown of three took ~30 s), then
        # `down` stops PostgreSQL and whatever is left.
        for node in stack.load_settings(base).nodes():
            pid = stack.kafka_pid(node)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        subprocess.run([sys.executable, str(STACK_SCRIPT), "down"], env=base, capture_output=True, timeout=300, cwd=ROOT)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def platform(cluster, tmp_path_factory):
    settings, base, operator = cluster
    folder = tmp_path_factory.mktemp("cluster-platform")
    env = {**operator, "CAMPAIGN_TERRITORY_FILE": str(folder / "territory.json"), "CAMPAIGN_LOG_LEVEL": "WARNING",
           "CAMPAIGN_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0"}
    # this process too speaks to the cluster (the load's tokens, the checks, the replays): its settings
    # are the cluster's operator's while the test runs
    with mock.patch.dict(os.environ, env, clear=True):
        get_settings.cache_clear()
        city = own_city(folder / "territory.json")
        for command in ("topics", "migrate"):
            done = subprocess.run([str(ROOT / ".venv/bin/campaign"), command], env=env, cwd=ROOT, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        with running_stack_signer(settings.run_dir, folder / "signer", env) as signer:
            env.update(signer.reporting_env())
            os.environ.update(signer.reporting_env())
            platform = Platform(folder, env)
            platform.city = city
            platform.settings, platform.base = settings, base
            try:
                platform.start_all()
                yield platform
            finally:
                platform.stop_all()
    get_settings.cache_clear()


def partition_leader(bootstrap: str, topic: str, partition: int) -> int:
    admin = KafkaAdminClient(**kafka_options(bootstrap), client_id="cluster-fault-test", request_timeout_ms=30000)
    try:
        [described] = admin.describe_topics([topic])
        [found] = [p for p in described["partitions"] if p["partition_index"] == partition]
        assert len(found["replica_nodes"]) == BROKERS and len(found["isr_nodes"]) == BROKERS, found
        return found["leader_id"]
    finally:
        admin.close()


def kill_node(settings, node_id: int) -> None:
    [node] = [n for n in settings.nodes() if n.kafka_node == node_id]
    pid = stack.kafka_pid(node)
    assert pid is not None, f"Kafka node {node_id} is not running"
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: stack.process_cmdline(pid) is None, 30, f"node {node_id} (pid {pid}) to die")


def last_published(engine) -> dict:
    """Per service: the newest publication time and the rows waiting in its outbox."""
    found = {}
    with engine.connect() as conn:
        for service in ("registry", "membership", "formation"):
            found[service] = conn.execute(sa.text(
                f"SELECT max(published_at), count(*) FILTER (WHERE published_at IS NULL) FROM {service}.outbox")).one()
    return found


def publishing_resumed_after(engine, moment, timeout: float) -> float:
    """Seconds from ``moment`` (the database's clock) until registry's relay published a row again."""
    def published():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT max(published_at) FROM registry.outbox")).scalar()
    wait_until(lambda: (published() or moment) > moment, timeout, "registry's relay to publish again")
    return (published() - moment).total_seconds()


def test_a_cluster_keeps_accepting_with_two_brokers_and_loses_nothing_with_one(platform):
    settings = platform.settings
    env = platform.env
    engine = create_db_engine(env["CAMPAIGN_DATABASE_URL"], pool_size=2)
    bootstrap = env["CAMPAIGN_KAFKA_BOOTSTRAP"]
    load = Load({app: platform.url(app) for app in ("registry", "membership", "formation", "reporting")},
                platform.city, issuer_from_settings())

    def now():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()

    since = now()
    load.start()
    windows = {}
    try:
        time.sleep(STEADY_SECONDS)
        accepted_before = sum(o.accepted for o in load.snapshot())
        assert accepted_before, "no command accepted before the faults"
        leader = partition_leader(bootstrap, "registry.events", 0)

        # 1. the partition leader dies: the cluster elects another, commands go on being accepted and published
        killed = now()
        kill_node(settings, leader)
        say(f"SIGKILL node {leader} (leader of registry.events/0)")
        windows["leader killed: registry's publishing resumed after (s)"] = round(
            publishing_resumed_after(engine, killed, 120), 1)
        mark = len(load.snapshot())
        time.sleep(STEADY_SECONDS)
        during_two = load.snapshot()[mark:]
        assert any(o.accepted and o.service == "registry" for o in during_two), "no command accepted with 2 brokers"
        say(f"2 of 3 brokers: {sum(o.accepted for o in during_two)} accepted, "
            f"{sum(not o.accepted for o in during_two)} refused")

        # 2. a second broker dies: one in-sync copy is fewer than min.insync.replicas, produces are refused;
        #    commands are still accepted (the event store is PostgreSQL) and wait in the outbox
        second = next(n.kafka_node for n in settings.nodes() if n.kafka_node != leader)
        kill_node(settings, second)
        one_left = now()
        say(f"SIGKILL node {second}: one broker left")
        mark = len(load.snapshot())
        time.sleep(ONE_BROKER_SECONDS)
        during_one = load.snapshot()[mark:]
        assert any(o.accepted and o.service == "registry" for o in during_one), "no command accepted with 1 broker"
        waiting = last_published(engine)
        say(f"1 of 3 brokers: {sum(o.accepted for o in during_one)} accepted; outbox waiting "
            f"{ {s: int(w[1]) for s, w in waiting.items()} }")
        assert waiting["registry"][1] > 0, "registry's outbox did not fill while produces were refused"
        assert waiting["registry"][0] is None or waiting["registry"][0] <= one_left + timedelta(seconds=2), (
            f"published with one broker left: {waiting['registry'][0]} > {one_left}")

        # 3. both come back
        restarted = now()
        run_stack(platform.base, "up")
        say(f"nodes {leader} and {second} restarted")
        windows["one broker left: publishing stopped for (s)"] = round(
            (restarted - one_left).total_seconds() + publishing_resumed_after(engine, restarted, 180), 1)
        time.sleep(STEADY_SECONDS)
    finally:
        load.stop()
        run_stack(platform.base, "up")  # whatever happened, all three are up for the checks
    outcomes = load.snapshot()
    say(f"load stopped: {len(outcomes)} commands, {sum(o.accepted for o in outcomes)} accepted, "
        f"{sum(not o.accepted for o in outcomes)} refused")
    say(f"unavailability windows: {windows}")
    verify_run(platform, load, engine, bootstrap, since)
    engine.dispose()
