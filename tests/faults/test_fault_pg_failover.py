"""PostgreSQL failover drill (docs/faults.md, "Losing the primary PostgreSQL"): a private primary with a
streaming-replication standby (`deploy/stack.py up --pg-standby`, its own run folder and ports: it never touches
the stack others use), the registry's HTTP app on it, and a steady load of registrations. For the last 1.5 s
the standby receives nothing (the primary's WAL sender is held, as by a network that stops carrying it); then the
primary's machine is lost (SIGKILL to the postmaster and every one of its processes at once); the standby is
promoted (`deploy/stack.py promote`); the registry is restarted with the DSN `stack.py env` names now. Then every
registration whose HTTP answer was 2xx is looked up in the promoted database by its Idempotency-Key.

- asynchronous standby (the default): the primary acknowledges a commit before the standby has it, so what it
  acknowledged while the standby received nothing is lost. The test measures it and requires exactly that:
  those are missing, everything acknowledged well before is there.
- synchronous standby (`--pg-sync-standby`): the primary acknowledges a commit only once the standby has
  flushed it: nothing is acknowledged while the standby receives nothing, and nothing is lost.

Before the drill, the query endpoints' read path (platform_core.read_replica): reporting's GET /rates reads
from the standby while it is within CAMPAIGN_READ_MAX_LAG_S, and from the primary once its replay is paused and
it falls behind; X-Read-Source says which.

Kafka plays no part in either (commands are committed to PostgreSQL; relays publish later), so none runs here:
the apps' readiness is their /healthz.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import httpx
import pytest
import sqlalchemy as sa
from fault_checks import keyed_events
from fault_load import Outcome, registration
from fault_platform import ROOT, STACK_SCRIPT, own_city, stack, wait_until
from fault_verify import say

from platform_core.auth import Principal
from platform_core.db import create_db_engine
from platform_core.local_processes import free_port, is_ready, process_environment, stop_all
from platform_core.read_replica import READ_SOURCE_HEADER
from platform_core.settings import get_settings
from platform_core.tokens import issuer_from_settings

pytestmark = [pytest.mark.integration, pytest.mark.disrupts_stack]
if __import__("importlib").util.find_spec("pytest_timeout") is not None:
    pytestmark.append(pytest.mark.timeout(300))

BIN = Path(sys.executable).parent
LOAD_SECONDS = 3.0  # registrations before the standby's WAL stops arriving
HELD_SECONDS = 1.5  # then the primary's WAL sender is held (a network hiccup) this long before the primary is lost
RATE = 40.0  # registrations per second, over 8 threads
READ_MAX_LAG_S = 1.0


def run_stack(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, str(STACK_SCRIPT), *args], env=env, capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[:1500] + " ... " + result.stderr[-1000:]
    return result.stdout


class PrivatePair:
    """A primary and its standby in a run folder of their own (PostgreSQL only: `pg_up` of the stack manager,
    the part of `stack.py up` this drill needs), and the apps on it, restartable with the environment of the
    moment (after `promote`, the promoted standby's DSN)."""

    def __init__(self, folder: Path, mode: str):
        self.folder = folder
        self.base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
        self.base.update(CAMPAIGN_RUN_DIR=str(folder / "stack"), CAMPAIGN_PG_PORT=str(free_port()),
                         CAMPAIGN_PG_STANDBY_PORT=str(free_port()), CAMPAIGN_KAFKA_PORT=str(free_port()),
                         CAMPAIGN_KAFKA_CONTROLLER_PORT=str(free_port()), CAMPAIGN_PG_STANDBY=mode,
                         CAMPAIGN_TERRITORY_FILE=str(folder / "territory.json"), CAMPAIGN_LOG_LEVEL="WARNING",
                         CAMPAIGN_READ_MAX_LAG_S=str(READ_MAX_LAG_S))
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    def settings(self):
        return stack.load_settings(self.base)

    def up(self) -> None:
        stack.pg_up(self.settings())
        self.operator = process_environment("operator", self.base)

    def start(self, app: str) -> None:
        self.ports[app] = free_port()
        log = (self.folder / f"{app}.log").open("ab")
        self.processes[app] = subprocess.Popen(
            [str(BIN / "uvicorn"), f"{app}.entrypoints.http:app", "--host", "127.0.0.1", "--port", str(self.ports[app]),
             "--no-access-log"], env=process_environment(app, self.base), cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: is_ready(self.ports[app], "/healthz") or self.processes[app].poll() is not None, 120,
                   f"{app} to start")
        assert self.processes[app].poll() is None, (self.folder / f"{app}.log").read_text()[-3000:]

    def stop(self, app: str) -> None:
        stop_all([self.processes.pop(app)])

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def down(self) -> None:
        stop_all(self.processes.values())
        self.processes.clear()
        subprocess.run([sys.executable, str(STACK_SCRIPT), "down"], env=self.base, capture_output=True, timeout=300,
                       cwd=ROOT)

    def superuser_sql(self, server: str, sql: str) -> str:
        view = self.settings().pg_view(server)
        result = subprocess.run([str(stack.find_pg_bindir() / "psql"), *stack_superuser_args(view), "-d", "campaign", "-tAc", sql],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def hold_wal_sender(self) -> int:
        """The standby stops receiving: SIGSTOP to the primary's WAL sender (as a network that stops carrying
        its packets). What the primary commits from now on reaches the standby only if the sender resumes."""
        postmaster = stack.postmaster_pid(self.settings())
        [sender] = [pid for pid in children(postmaster) if "walsender" in (stack.process_cmdline(pid) or "")]
        os.kill(sender, signal.SIGSTOP)
        return sender

    def lose_primary(self) -> None:
        """The primary's machine is gone: the postmaster and every process it started, killed at once (a
        SIGKILL of the postmaster alone leaves its backends running for a moment, still committing)."""
        postmaster = stack.postmaster_pid(self.settings())
        assert postmaster is not None, "the primary is not running"
        os.kill(postmaster, signal.SIGSTOP)  # no new backends while the family is listed and killed
        family = [*children(postmaster), postmaster]
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: all(stack.process_cmdline(pid) is None for pid in family), 30, "the primary to die")


def stack_superuser_args(view) -> list[str]:
    return ["-h", str(view.pg_socket_dir), "-p", str(view.pg_server_port), "-U", "campaign", "-w"]


def children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == parent:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def pair(request):
    """The tests name the mode (indirect parametrization): one pair per mode, shared by the tests of that mode."""
    mode = request.param
    # Not below pytest's basetemp: PostgreSQL runs as its own OS user, which must traverse the folders above its
    # data, and every pytest run on the machine takes that right away from /tmp/pytest-of-<user> again.
    folder = Path(tempfile.mkdtemp(prefix=f"pg-failover-{mode}-"))
    pair = PrivatePair(folder, mode)
    try:
        started = time.monotonic()
        pair.city = own_city(folder / "territory.json")
        pair.up()
        say(f"primary and {mode} standby up in {time.monotonic() - started:.0f}s")
        done = subprocess.run([str(BIN / "campaign"), "migrate", "registry", "reporting"], env=pair.operator,
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        with mock.patch.dict(os.environ, pair.operator, clear=True):
            get_settings.cache_clear()
            pair.issuer = issuer_from_settings()
            get_settings.cache_clear()
        pair.mode = mode
        pair.start("registry")
        yield pair
    finally:
        pair.down()
        get_settings.cache_clear()
        shutil.rmtree(folder, ignore_errors=True)


class Registrations:
    """Registrations at a steady rate, each with its own Idempotency-Key and USCC; every answer recorded with
    the moment it came back."""

    def __init__(self, pair: PrivatePair, threads: int = 8):
        self.pair, self.threads = pair, threads
        self.token = pair.issuer.issue(Principal("city_org", "city_org", "pg-failover"))
        self.streets = [s["code"] for d in pair.city["districts"] for s in d["streets"]][:40]
        self.tag = os.urandom(4).hex()
        self.outcomes: list[tuple[Outcome, float]] = []
        self.lock, self.stopped, self.counter = threading.Lock(), threading.Event(), 0
        self.workers = [threading.Thread(target=self.work, args=(i,), daemon=True) for i in range(threads)]

    def next(self) -> Outcome:
        with self.lock:
            self.counter += 1
            n = self.counter
        body = registration(n, self.tag, self.streets, "切换")
        return Outcome("registry", f"failover-{self.tag}-{n}", body["uscc"], body, "/entities", self.token,
                       time.monotonic())

    def send(self, client: httpx.Client, outcome: Outcome) -> None:
        try:
            response = client.post(self.pair.url("registry") + outcome.path, json=outcome.body, timeout=10,
                                   headers={"Authorization": f"Bearer {outcome.token}", "Idempotency-Key": outcome.key})
            outcome.status = response.status_code
        except httpx.HTTPError as exc:
            outcome.error = type(exc).__name__
        with self.lock:
            self.outcomes.append((outcome, time.monotonic()))

    def work(self, index: int) -> None:
        interval = self.threads / RATE
        next_at = time.monotonic() + index * interval / self.threads
        with httpx.Client() as client:
            while not self.stopped.is_set():
                if next_at > time.monotonic() and self.stopped.wait(next_at - time.monotonic()):
                    break
                next_at = max(next_at + interval, time.monotonic() - interval)
                self.send(client, self.next())

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        self.stopped.set()
        for worker in self.workers:
            worker.join(15)


def register_one(pair: PrivatePair, load: Registrations) -> int:
    outcome = load.next()
    with httpx.Client() as client:
        load.send(client, outcome)
    return outcome.status or 0


@pytest.mark.parametrize("pair", ["async"], indirect=True)  # the read path does not depend on the mode
def test_queries_read_the_standby_within_the_lag_bound_and_the_primary_beyond(pair):
    pair.start("reporting")
    try:
        token = pair.issuer.issue(Principal("city_org", "city_org", "pg-failover"))
        headers = {"Authorization": f"Bearer {token}"}

        def rates_source() -> str:
            response = httpx.get(pair.url("reporting") + "/rates", headers=headers, timeout=10)
            assert response.status_code == 200, response.text
            return response.headers[READ_SOURCE_HEADER]

        assert rates_source().startswith("standby; lag="), "a streaming standby within the bound answers"
        pair.superuser_sql("standby", "SELECT pg_wal_replay_pause()")
        try:
            load = Registrations(pair)
            assert register_one(pair, load) == 201  # a commit the paused standby does not replay
            time.sleep(READ_MAX_LAG_S + 0.5)
            assert register_one(pair, load) == 201  # and the age of what it last replayed grows
            source = rates_source()
            assert source.startswith("primary; standby behind; standby-lag="), source
            say(f"standby paused: GET /rates read from {source!r}")
        finally:
            pair.superuser_sql("standby", "SELECT pg_wal_replay_resume()")
        wait_until(lambda: rates_source().startswith("standby"), 30, "the standby to catch up and answer again")
    finally:
        pair.stop("reporting")


@pytest.mark.parametrize("pair", ["async", "sync"], indirect=True)
def test_a_promoted_standby_has_every_acknowledged_registration(pair):
    load = Registrations(pair)
    load.start()
    time.sleep(LOAD_SECONDS)
    held_at = time.monotonic()
    pair.hold_wal_sender()
    time.sleep(HELD_SECONDS)
    lost_at = time.monotonic()
    pair.lose_primary()
    time.sleep(0.5)  # the load meets the dead primary
    load.stop()
    acknowledged = [o for o, answered in load.outcomes if o.accepted and answered <= lost_at + 0.5]
    while_held = [o for o, answered in load.outcomes if o.accepted and held_at + 0.2 < answered <= lost_at]
    # acknowledged well before the hold: the WAL sender (a few milliseconds behind) had sent them in any mode
    streamed = [o for o, answered in load.outcomes if o.accepted and answered < held_at - 0.5]
    refused = [o for o, _ in load.outcomes if not o.accepted]
    assert len(acknowledged) > RATE, f"only {len(acknowledged)} registrations acknowledged before the loss"
    say(f"{pair.mode}: primary lost after {len(acknowledged)} acknowledged registrations, {len(while_held)} of them "
        f"while its WAL sender was held ({len(refused)} answered with an error or not at all)")

    promoted_at = time.monotonic()
    output = run_stack(pair.base, "promote")
    assert "is the primary now" in output
    promoted_in = time.monotonic() - promoted_at
    pair.stop("registry")
    pair.start("registry")  # with the DSN `stack.py env` names now: the promoted standby's
    env = process_environment("operator", pair.base)
    assert f":{pair.settings().pg_standby_port}/" in env["CAMPAIGN_DATABASE_URL"]
    assert "CAMPAIGN_READ_DATABASE_URL" not in env
    back_in = time.monotonic() - promoted_at

    engine = create_db_engine(env["CAMPAIGN_DATABASE_URL"], pool_size=1)
    try:
        found = keyed_events(engine, "registry", [o.key for o in acknowledged])
        with engine.connect() as conn:
            in_recovery = conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()
    finally:
        engine.dispose()
    lost = [o.key for o in acknowledged if o.key not in found]
    say(f"{pair.mode}: promoted in {promoted_in:.1f}s, registry back in {back_in:.1f}s; "
        f"acknowledged {len(acknowledged)}, lost {len(lost)} {lost[:5]}")
    assert in_recovery is False
    assert not {o.key for o in streamed} & set(lost), "a registration the standby had received is missing"
    assert register_one(pair, load) == 201, "the promoted standby takes commands"
    if pair.mode == "sync":
        # the commits waited for the standby: none was acknowledged while it received nothing, none is lost
        assert not lost, f"a synchronous standby lost {len(lost)} acknowledged registrations: {lost[:5]}"
        assert not while_held, f"{len(while_held)} commits acknowledged while the synchronous standby received nothing"
    else:
        # asynchronous: the primary went on acknowledging what it never sent; exactly those are lost
        assert while_held, "no registration acknowledged while the standby received nothing"
        assert {o.key for o in while_held} <= set(lost), "a commit the standby never received is in it"
