"""The whole platform as subprocesses on free ports, each killable (SIGKILL) and restartable with the
same command line; and the stack's broker and PostgreSQL, killed by pid and brought back by
``deploy/stack.py up`` (which reads the same CAMPAIGN_* environment as the test, so CI's single stack
and a developer's private one both work)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from platform_core.local_processes import free_port, is_ready, process_environment, stack_module, stop_all
from platform_core.services import SERVICE_NAMES as APPS
from simulator.cities import renumbered_city

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STACK_SCRIPT = ROOT / "deploy" / "stack.py"


stack = stack_module()


def own_city(path: Path) -> dict:
    return renumbered_city(path, "故障市")


def ready(port: int) -> bool:
    return is_ready(port)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.3) -> float:
    """Poll ``predicate``; return the seconds it took, or fail naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started


class Platform:
    """Every process of the platform (apps, relays, consumers), by name; each runs with
    its own credentials (deploy/stack/processes.py), ``env`` less the operator's."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.ports = {name: free_port() for name in APPS}
        self.commands: dict[str, list[str]] = {}
        for name in APPS:
            self.commands[name] = [str(BIN / "uvicorn"), f"{name}.entrypoints.http:app", "--host", "127.0.0.1",
                                   "--port", str(self.ports[name]), "--no-access-log"]
            self.commands[f"{name}-relay"] = [str(BIN / "campaign"), "relay", name]
        for name in ("membership", "formation"):
            self.commands[f"{name}-consumer"] = [str(BIN / "campaign"), "consume", name]
        # reporting's two projections, each as the process the stack runs it as (its own rights)
        self.commands["reporting-consumer"] = [str(BIN / "campaign"), "consume", "reporting", "--projection", "audit-log"]
        self.commands["reporting-processor"] = [str(BIN / "campaign"), "consume", "reporting", "--projection", "coverage"]
        self.processes: dict[str, subprocess.Popen] = {}

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def start(self, name: str) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(self.commands[name], env=process_environment(name, self.env),
                                                cwd=ROOT, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)
        for app in APPS:
            wait_until(lambda: ready(self.ports[app]) or self.processes[app].poll() is not None, 120,
                       f"{app} to become ready")
            assert self.processes[app].poll() is None, f"{app} exited:\n{self.log_tail(app)}"

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop_all(self) -> None:
        stop_all(self.processes.values())


class Stack:
    """The broker and PostgreSQL of the stack the environment names."""

    def __init__(self):
        self.settings = stack.load_settings()

    def pid(self, component: str) -> int:
        pid = stack.kafka_pid(self.settings) if component == "kafka" else stack.postmaster_pid(self.settings)
        assert pid is not None, f"{component} is not running"
        return pid

    def kill(self, component: str) -> None:
        pid = self.pid(component)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while stack.process_cmdline(pid) is not None:
            assert time.monotonic() < deadline, f"{component} pid {pid} still alive after SIGKILL"
            time.sleep(0.1)

    def up(self) -> None:
        result = subprocess.run([sys.executable, str(STACK_SCRIPT), "up"], capture_output=True, text=True,
                                timeout=300, cwd=ROOT)
        # stack.py's error names the reason on its first line, then appends the broker's log tails.
        assert result.returncode == 0, result.stdout[-1000:] + result.stderr[:1500] + " ... " + result.stderr[-1500:]
