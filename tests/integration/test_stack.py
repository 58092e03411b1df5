"""Integration tests for deploy/stack.py against the real local stack (Kafka + PostgreSQL).

They start the stack if needed (the very first run downloads the Kafka jars from Maven Central),
kill components with SIGKILL and check that `up` recovers them. Every test leaves the stack
running and healthy, because other integration tests use it.
"""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platform_core.local_processes import free_port, stack_module

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO_ROOT / "deploy" / "stack.py"
UP_TIMEOUT_S = 1200  # first run: Maven downloads the broker's jars


stack = stack_module()

# The project's pytest-timeout default (300 s) is too short for the very first `up`, which
# downloads the broker's jars; only apply the marker where the plugin is installed.
if importlib.util.find_spec("pytest_timeout") is not None:
    pytestmark = [pytest.mark.disrupts_stack, pytest.mark.timeout(UP_TIMEOUT_S + 300)]
else:
    pytestmark = pytest.mark.disrupts_stack


def run_stack(command: str, timeout: float = UP_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run `stack.py <command>` as a user would, with the test process's environment."""
    return subprocess.run([sys.executable, str(STACK_SCRIPT), command], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO_ROOT)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (
        f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")


def wait_for_exit(pid: int, timeout: float = 30.0) -> None:
    """Wait until a killed process is gone (a not-yet-reaped zombie counts as gone)."""
    deadline = time.monotonic() + timeout
    while stack.process_cmdline(pid) is not None:
        assert time.monotonic() < deadline, f"pid {pid} still alive after SIGKILL"
        time.sleep(0.1)


def status_line(output: str, component: str) -> str:
    lines = [line for line in output.splitlines() if line.split()[:1] == [component]]
    assert len(lines) == 1, f"no single status line for {component} in:\n{output}"
    return lines[0]


@pytest.fixture(scope="module")
def stack_settings():
    """Settings as the script sees them, with the stack up before and after the module."""
    assert_ok(run_stack("up"))
    yield stack.load_settings()
    # Leave the stack running for the other test modules even if a test failed half-way.
    assert_ok(run_stack("up"))


def test_up_twice_reuses_running_components(stack_settings):
    first = run_stack("up")
    assert_ok(first)
    pids = (stack.kafka_pid(stack_settings), stack.postmaster_pid(stack_settings))
    assert None not in pids

    second = run_stack("up", timeout=120)
    assert_ok(second)
    assert (stack.kafka_pid(stack_settings), stack.postmaster_pid(stack_settings)) == pids
    assert "kafka: already running and healthy" in second.stdout
    assert "postgres: already running and healthy" in second.stdout
    assert f"KAFKA_BOOTSTRAP=127.0.0.1:{stack_settings.kafka_port}" in second.stdout
    assert f"DATABASE_URL=postgresql+psycopg2://campaign_owner@127.0.0.1:{stack_settings.pg_port}/" in second.stdout


def test_status_exits_zero_when_all_healthy(stack_settings):
    result = run_stack("status", timeout=60)
    assert_ok(result)
    for component in ("kafka", "postgres"):
        line = status_line(result.stdout, component)
        assert "running" in line and "healthy" in line and "unhealthy" not in line


def test_env_prints_the_operators_credentials_as_file_paths(stack_settings):
    result = subprocess.run([sys.executable, str(STACK_SCRIPT), "env"], capture_output=True, text=True, timeout=30,
                            cwd=REPO_ROOT, env=clean_environment())
    assert_ok(result)
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    secrets = stack_settings.run_dir / "secrets"
    assert exports["CAMPAIGN_DATABASE_URL"] == (
        f"'postgresql+psycopg2://campaign_owner@127.0.0.1:{stack_settings.pg_port}/campaign"
        f"?passfile={secrets}/postgres/campaign_owner.pgpass'")
    assert exports["CAMPAIGN_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{stack_settings.kafka_port}"
    assert exports["CAMPAIGN_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert exports["CAMPAIGN_KAFKA_USERNAME"] == "admin"
    assert exports["CAMPAIGN_KAFKA_PASSWORD_FILE"] == f"{secrets}/kafka/admin.password"
    passwords = [path.read_text().strip() for path in (secrets / "kafka").glob("*.password")]
    passwords += [path.read_text().strip().split(":")[-1] for path in (secrets / "postgres").glob("*.pgpass")]
    assert passwords and not any(password in result.stdout for password in passwords)
    for path in [secrets, *secrets.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_env_of_a_process_names_only_its_own_credentials(stack_settings):
    operator = {**clean_environment(), "CAMPAIGN_PERSONAL_DATA_KEY": "k" * 32}
    result = subprocess.run(["bash", "-c", f'eval "$({sys.executable} {STACK_SCRIPT} env)"; '
                             f'eval "$({sys.executable} {STACK_SCRIPT} env --process registry-relay)"; env'],
                            capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, env=operator)
    assert_ok(result)
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("CAMPAIGN_"))
    assert seen["CAMPAIGN_DATABASE_URL"].startswith("postgresql+psycopg2://campaign_registry@")
    assert seen["CAMPAIGN_DATABASE_URL"].endswith("/postgres/campaign_registry.pgpass")
    assert seen["CAMPAIGN_KAFKA_USERNAME"] == "registry-relay"
    assert seen["CAMPAIGN_KAFKA_PASSWORD_FILE"].endswith("/kafka/registry-relay.password")
    # a relay checks no token and seals no personal data: the operator's secrets are gone
    assert not {"CAMPAIGN_TOKEN_ISSUER_KEY_FILE", "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", "CAMPAIGN_PERSONAL_DATA_KEY"} & set(seen)


def test_env_refuses_an_unknown_process(stack_settings):
    result = subprocess.run([sys.executable, str(STACK_SCRIPT), "env", "--process", "everything"],
                            capture_output=True, text=True, timeout=30, cwd=REPO_ROOT)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def clean_environment() -> dict[str, str]:
    """The test's environment without the credentials the suite runs with."""
    return {k: v for k, v in os.environ.items()
            if k not in stack.CREDENTIAL_VARIABLES}


def test_up_recovers_a_killed_broker(stack_settings):
    old_pid = stack.kafka_pid(stack_settings)
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    wait_for_exit(old_pid)

    down = run_stack("status", timeout=60)
    assert down.returncode != 0
    line = status_line(down.stdout, "kafka")
    assert "stopped" in line and "unhealthy" in line

    assert_ok(run_stack("up"))
    new_pid = stack.kafka_pid(stack_settings)
    assert new_pid is not None and new_pid != old_pid
    versions = stack.kafka_api_versions("127.0.0.1", stack_settings.kafka_port)
    assert 18 in versions and 3 in versions  # ApiVersions and Metadata are served
    brokers = stack.kafka_metadata_brokers("127.0.0.1", stack_settings.kafka_port, stack.admin_login(stack_settings))
    assert brokers == [(1, "127.0.0.1", stack_settings.kafka_port)]
    assert_ok(run_stack("status", timeout=60))


def test_up_recovers_a_killed_postmaster(stack_settings):
    old_pid = stack.postmaster_pid(stack_settings)
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    wait_for_exit(old_pid)

    down = run_stack("status", timeout=60)
    assert down.returncode != 0
    line = status_line(down.stdout, "postgres")
    assert "stopped" in line and "unhealthy" in line

    assert_ok(run_stack("up"))
    new_pid = stack.postmaster_pid(stack_settings)
    assert new_pid is not None and new_pid != old_pid
    assert stack.pg_is_healthy(stack_settings)
    assert_ok(run_stack("status", timeout=60))


def test_up_refuses_a_kafka_storage_from_before_authentication_and_says_what_to_do(tmp_path):
    """A run folder whose broker storage was formatted by the stack before SASL (no SCRAM users) cannot be
    upgraded in place: `up` stops before starting anything and names the exact commands."""
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("version=1\nnode.id=1\ncluster.id=l108lXOFSnO44ukmH0V9YQ\n")
    env = {**os.environ, "CAMPAIGN_RUN_DIR": str(tmp_path), "CAMPAIGN_KAFKA_PORT": str(free_port()),
           "CAMPAIGN_KAFKA_CONTROLLER_PORT": str(free_port()), "CAMPAIGN_PG_PORT": str(free_port())}
    result = subprocess.run([sys.executable, str(STACK_SCRIPT), "up"], capture_output=True, text=True, timeout=60,
                            cwd=REPO_ROOT, env=env)
    assert result.returncode == 1
    assert "formatted before the broker required authentication" in result.stderr
    assert f"rm -rf {data} {tmp_path / 'kafka' / 'cluster.id'} {tmp_path / 'pg'}" in result.stderr
    assert not (tmp_path / "pg").exists() and not (tmp_path / "pids" / "kafka.pid").exists()
