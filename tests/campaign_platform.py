"""The whole platform for an end-to-end test: the four services (uvicorn on free ports), their relays, the
membership and formation consumers and the reporting processor, on the running Kafka and PostgreSQL, with a
simulated campaign clock, a city of its own (the 2016 districts and streets under a fresh random city code:
every figure per district is the test's alone) and a reporting schema of its own (bulletins are one per
cutoff date)."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.local_processes import free_port, process_environment, stop_all, wait_ready
from platform_core.services import SERVICE_NAMES as SERVICES
from signer_process import running_signer
from simulator.cities import renumbered_city

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Platform:
    ports: dict[str, int]
    env: dict[str, str]
    city: dict
    folder: Path

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


def token(kind: str, territory: str | None = None, user: str = "e2e") -> str:
    department = f"{kind}:{territory}" if territory else kind
    return issuer_from_settings().issue(Principal(department, kind, user, territory=territory))


def call(platform: Platform, service: str, method: str, path: str, token_: str, body: dict | None = None,
         at: str | None = None, key: str | None = None) -> tuple[int, dict | list | None, dict]:
    """One request; ``at`` is the business time (X-Campaign-Time). Returns status, JSON body and headers."""
    headers = {"Authorization": f"Bearer {token_}", "Content-Type": "application/json"}
    if at is not None:
        headers["X-Campaign-Time"] = at
    if key is not None:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(platform.url(service) + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"raw": raw.decode(errors="replace")}
        return error.code, parsed, dict(error.headers)


@contextmanager
def campaign_platform(folder: Path) -> Iterator[Platform]:
    city = renumbered_city(folder / "territory.json")
    scratch = f"e2e_reporting_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CAMPAIGN_TERRITORY_FILE": str(folder / "territory.json"), "CAMPAIGN_LOG_LEVEL": "WARNING",
           "CAMPAIGN_SIMULATED_CLOCK": "true",
           # reporting of its own: bulletins are one per cutoff date, and the city-wide units report once per deadline
           # (its projections read in groups of its own: reporting.bootstrap.instance_group)
           "CAMPAIGN_REPORTING_SCHEMA": scratch}
    # the bulletins' checkpoints come from a signer of this campaign's own log (reporting holds no key)
    stack = ExitStack()
    processes: list[subprocess.Popen] = []
    try:
        asks_signer = stack.enter_context(running_signer(folder / "signer", f"campaign.example/{scratch}/audit")
                                          ).reporting_env()
        # the operator migrates reporting's second instance and grants its roles, as for the live one
        subprocess.run([str(BIN / "campaign"), "migrate", "reporting", "--schema", scratch], env=env, cwd=ROOT,
                       check=True, capture_output=True)
        ports = {name: free_port() for name in SERVICES}
        commands = {}  # process name (deploy/stack/processes.py) -> command
        for name, port in ports.items():
            commands[name] = [str(BIN / "uvicorn"), f"{name}.entrypoints.http:app", "--host", "127.0.0.1",
                              "--port", str(port), "--no-access-log"]
            commands[f"{name}-relay"] = [str(BIN / "campaign"), "relay", name] + (
                ["--schema", scratch] if name == "reporting" else [])
        commands["membership-consumer"] = [str(BIN / "campaign"), "consume", "membership"]
        commands["formation-consumer"] = [str(BIN / "campaign"), "consume", "formation"]
        commands["reporting-processor"] = [str(BIN / "campaign"), "consume", "reporting", "--projection", "coverage"]
        for name, command in commands.items():
            environment = {**process_environment(name, env), **(asks_signer if name == "reporting" else {})}
            processes.append(subprocess.Popen(command, env=environment, cwd=ROOT,
                                              stdout=(folder / f"{name}.log").open("wb"), stderr=subprocess.STDOUT))
        for name, port in ports.items():
            wait_ready(port, 180, what=name)  # a loaded machine starts 4 apps slowly
        yield Platform(ports, env, city, folder)
    finally:
        stop_all(processes)
        stack.close()
        engine = sa.create_engine(os.environ["CAMPAIGN_DATABASE_URL"])
        with engine.begin() as conn:
            for (name,) in conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                        {"p": f"{scratch}%"}):  # with the bulletins' as-of schemas
                conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        engine.dispose()
