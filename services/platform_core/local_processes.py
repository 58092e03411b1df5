"""Running the platform's processes on this machine: free ports, readiness, orderly stops.

For the tools that start services themselves (end-to-end tests, the fault suite, benchmarks).
"""

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_ready(port: int, path: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def wait_ready(port: int, timeout: float = 60.0, process: subprocess.Popen | None = None, what: str = "a service",
               path: str = "/readyz") -> None:
    """Until the service on ``port`` answers ready; fails early when its process has exited."""
    deadline = time.monotonic() + timeout
    while not is_ready(port, path):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} on port {port} was not ready within {timeout:.0f} s")
        time.sleep(0.3)


def stop_all(processes: Iterable[subprocess.Popen], grace: float = 20.0) -> None:
    """SIGTERM every process, then wait; SIGKILL what has not stopped after ``grace`` seconds."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_environment(process: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with exactly ``process``'s credentials, as
    `python3 deploy/stack.py env --process PROCESS` gives them (the one table: deploy/stack/processes.py)."""
    import os

    stack = stack_module()
    environment = dict(os.environ if base is None else base)
    for variable, value in stack.process_environment(stack.load_settings(environment), process, environment).items():
        if value is None:
            environment.pop(variable, None)
        else:
            environment[variable] = value
    return environment


def stack_module():
    """deploy/stack.py, imported by path (deploy/ is not a package), to reuse its pid probes and settings."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "campaign_deploy_stack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[2] / "deploy" / "stack.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
