"""The README's run path (scripts/services.sh) brings up the four services with their relays and
consumers, and a real Prometheus scrapes every /metrics with the project's own configuration."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from platform_core import metrics
from platform_core.services import SERVICE_NAMES as SERVICES

ROOT = Path(__file__).resolve().parents[2]
# the worker processes scripts/services.sh starts, each serving its own /metrics (deploy/prometheus/prometheus.yml)
WORKERS = ("registry-relay", "membership-relay", "formation-relay", "reporting-relay", "registry-consumer",
           "membership-consumer",
           "formation-consumer", "reporting-consumer", "reporting-processor", "reporting-signals")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def services_environment(run_dir: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Free ports for every process scripts/services.sh starts, and its environment over a private run dir."""
    ports = {name: free_port() for name in [*SERVICES, "audit-signer", "audit-witness", *WORKERS]}
    env = {**os.environ, "CAMPAIGN_SERVICES_DIR": str(run_dir),
           **{f"CAMPAIGN_{name.upper()}_PORT": str(ports[name]) for name in SERVICES},
           "CAMPAIGN_SIGNER_PORT": str(ports["audit-signer"]), "CAMPAIGN_WITNESS_PORT": str(ports["audit-witness"]),
           **{f"CAMPAIGN_{name.upper().replace('-', '_')}_METRICS_PORT": str(ports[name]) for name in WORKERS}}
    for variable in ("CAMPAIGN_SIGNER_STATE_DIR", "CAMPAIGN_WITNESS_STATE_DIR"):
        env.pop(variable, None)  # services.sh keeps the signer's and the witness's records under this run dir
    for variable in ("CAMPAIGN_TOKEN_ISSUER_KEY_FILE", "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", "CAMPAIGN_PERSONAL_DATA_KEY",
                     "CAMPAIGN_AUDIT_SIGNING_KEY_FILE", "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE", "CAMPAIGN_WITNESS_KEY_FILE"):
        env.pop(variable, None)  # services.sh gives each process its own, from the stack's table
    return ports, env


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """The services started by scripts/services.sh on free ports, with a private pid/log folder."""
    run_dir = tmp_path_factory.mktemp("run")
    ports, env = services_environment(run_dir)
    script = str(ROOT / "scripts" / "services.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=240)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield ports, env, run_dir
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)


def test_every_service_is_ready_with_its_relay_and_consumer(running):
    ports, env, run_dir = running
    for name in SERVICES:
        assert get_json(f"http://127.0.0.1:{ports[name]}/readyz")["status"] == "ready"
    for name in ("audit-signer", "audit-witness"):
        assert get_json(f"http://127.0.0.1:{ports[name]}/healthz")["service"] == name
    status = subprocess.run([str(ROOT / "scripts" / "services.sh"), "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0, status.stdout
    assert "audit-signer: running" in status.stdout and "audit-witness: running" in status.stdout
    for name in SERVICES:
        assert f"{name}-relay: running" in status.stdout
        if "def build_projections" in (ROOT / "services" / name / "bootstrap.py").read_text():
            assert f"{name}-consumer: running" in status.stdout
    assert "reporting-processor: running" in status.stdout  # reporting's coverage projections
    assert "reporting-signals: running" in status.stdout  # the detectors' signals (docs/detectors.md)


def test_each_process_runs_with_its_own_credentials_only(running):
    """services.sh starts every process with `deploy/stack.py env --process NAME`: its own database role and
    Kafka principal, and only the application secrets its row of the table names (docs/security.md)."""
    _, _, run_dir = running
    roles = {"registry": "campaign_registry", "membership": "campaign_membership",
             "formation": "campaign_formation", "reporting": "campaign_reporting"}
    seen = {}
    for pidfile in (run_dir / "pids").glob("*.pid"):
        name = pidfile.stem
        raw = Path(f"/proc/{pidfile.read_text().strip()}/environ").read_bytes()
        seen[name] = dict(item.split("=", 1) for item in raw.decode().split("\0") if item.startswith("CAMPAIGN_"))
    assert len(seen) >= 13, sorted(seen)
    for name in ("audit-signer", "audit-witness"):  # keys and records of their own: no database, no broker
        environment = seen.pop(name)
        assert not {"CAMPAIGN_DATABASE_URL", "CAMPAIGN_KAFKA_USERNAME", "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE"} & set(
            environment), name
    for name, environment in seen.items():
        service = name.split("-")[0]
        role = "campaign_audit" if name == "reporting-consumer" else roles[service]
        assert environment["CAMPAIGN_DATABASE_URL"].startswith(f"postgresql+psycopg2://{role}@"), name
        assert environment["CAMPAIGN_KAFKA_USERNAME"] == name
        assert environment["CAMPAIGN_KAFKA_PASSWORD_FILE"].endswith(f"/kafka/{name}.password")
        # tokens are checked by the HTTP apps only; personal data is membership's alone (its app and its Kafka
        # intake, which runs the same routes: docs/intake.md)
        assert ("CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE" in environment) == (name in roles), name
        assert "CAMPAIGN_TOKEN_ISSUER_KEY_FILE" not in environment, name
        assert ("CAMPAIGN_PERSONAL_DATA_KEY" in environment) == (name in ("membership", "membership-consumer")), name
        assert ("CAMPAIGN_SIGNER_CLIENT_SECRET_FILE" in environment) == (name in ("reporting", "reporting-consumer"))


def test_prometheus_scrapes_every_service_with_the_projects_config(running, tmp_path):
    ports, _, _ = running
    binary = shutil.which("prometheus")
    assert binary, "prometheus (the OS package) is not installed; scripts/test.sh installs it"
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    config["global"]["scrape_interval"] = "1s"
    config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / name) for name in config["rule_files"]]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    prometheus = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, healthy = time.monotonic() + 60, set()
        while time.monotonic() < deadline and healthy != set(ports):
            time.sleep(1)
            try:
                targets = get_json(f"http://127.0.0.1:{port}/api/v1/targets")["data"]["activeTargets"]
            except OSError:
                continue
            healthy = {t["labels"]["job"] for t in targets if t["health"] == "up"}
        assert healthy == set(ports), f"targets up: {sorted(healthy)}"
        result = get_json(f"http://127.0.0.1:{port}/api/v1/query?query=campaign_outbox_backlog")
        assert {r["metric"]["service"] for r in result["data"]["result"]} == set(SERVICES)
        # the workers sample what only they know: each projection's lag, once it has its partitions
        deadline, lagging = time.monotonic() + 60, set()
        while time.monotonic() < deadline and not {"reporting-projections", "reporting-audit-log",
                                                   "membership.known-entities", "formation.upstream"} <= lagging:
            time.sleep(1)
            lag = get_json(f"http://127.0.0.1:{port}/api/v1/query?query=campaign_consumer_lag")["data"]["result"]
            lagging = {r["metric"]["group"] for r in lag}
        assert {"reporting-projections", "reporting-audit-log", "membership.known-entities",
                "formation.upstream"} <= lagging, lagging
        assert {r["metric"]["job"] for r in lag} <= set(WORKERS)
        # the signer's refusal counter is scraped (at 0 per reason from the start) and the alerts are loaded
        refusals = get_json(f"http://127.0.0.1:{port}/api/v1/query?query=campaign_audit_signer_refusals_total")
        assert {r["metric"]["reason"] for r in refusals["data"]["result"]} >= {"inconsistent", "fork", "shrunk"}
        groups = get_json(f"http://127.0.0.1:{port}/api/v1/rules")["data"]["groups"]
        assert {"AuditLogNotConsistentWithSignedCheckpoints", "PlatformWorkerDown", "ProjectionLagging",
                "MessagesDeadLettered"} <= {r["name"] for g in groups for r in g["rules"]}
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)


def test_the_grafana_dashboard_queries_only_metrics_the_platform_exports():
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "campaign-platform.json").read_text())
    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    for expr in exprs:
        for name in re.findall(r"campaign_[a-z_]+", expr):
            base = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert base in exported, f"{name} in the dashboard is not exported by platform_core.metrics"


def test_only_the_signer_process_holds_the_audit_signing_key(running):
    """No process but the signer has the key in its environment or its key file's path; the signer listens on
    127.0.0.1 only; the services' own environment does not carry the signing key."""
    _, _, run_dir = running
    pids = {path.stem: int(path.read_text()) for path in (run_dir / "pids").glob("*.pid")}
    assert {"audit-signer", "audit-witness", "reporting"} <= set(pids)
    for name, pid in pids.items():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        holds = any(entry.startswith(b"CAMPAIGN_AUDIT_SIGNING_KEY") for entry in environ)
        assert holds == (name == "audit-signer"), f"{name}: {'holds' if holds else 'lacks'} the signing key setting"
        if name == "audit-signer":  # the stack's key file (deploy/stack/processes.py), by its path
            assert any(entry.startswith(b"CAMPAIGN_AUDIT_SIGNING_KEY_FILE=/") and entry.endswith(b"/secrets/audit-signing-key")
                       for entry in environ)
        asks = any(entry.startswith(b"CAMPAIGN_SIGNER_CLIENT_SECRET_FILE=") for entry in environ)
        assert asks == (name in ("audit-signer", "reporting", "reporting-consumer")), name


def test_the_signer_and_its_witness_listen_on_loopback_only(running):
    ports, _, _ = running
    for name in ("audit-signer", "audit-witness"):
        listening = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port = local.rsplit(":", 1)
                if state == "0A" and int(port, 16) == ports[name]:  # 0A: LISTEN
                    listening.add(address)
        assert listening == {"0100007F"}, (name, listening)  # 127.0.0.1, and on no other address


def test_a_worker_that_dies_on_start_fails_the_start_and_is_named(running):
    """scripts/services.sh start (and with it scripts/run.sh) fails, naming the process, when a process it
    started is not running 10 s later: a worker that dies on start must not pass for a running platform.
    Run on the module's platform (the others are "already running"), last: the module's teardown stops the rest."""
    _, env, run_dir = running
    script = str(ROOT / "scripts" / "services.sh")
    pidfile = run_dir / "pids" / "reporting-processor.pid"
    pid = int(pidfile.read_text())
    os.kill(pid, 15)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    wrong = {**env, "CAMPAIGN_REPORTING_PROCESSOR_METRICS_PORT": "not-a-port"}  # its settings refuse it: it exits
    started = subprocess.run([script, "start"], env=wrong, capture_output=True, text=True, timeout=300)
    assert started.returncode != 0, started.stdout[-2000:]
    assert "reporting-processor exited after starting" in started.stderr, started.stderr[-3000:]
    assert "metrics_port" in started.stderr  # its last log lines say why
    status = subprocess.run([script, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert "reporting-processor: stopped" in status.stdout and "reporting: running" in status.stdout
