"""Small process, port and file helpers, and the lock that serializes stack.py runs."""

import fcntl
import glob
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

from .settings import HOST, StackError

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def say(message: str = "", end: str = "\n") -> None:
    """Print progress immediately (the script is often run with its output piped).

    A closed pipe (e.g. `stack.py up | head`) must not abort a half-done start-up.
    """
    try:
        print(message, end=end, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")


def tail(path: Path, lines: int = 40) -> str:
    """Last lines of a log file, for error messages; empty string if it does not exist."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = ANSI_ESCAPE.sub("", text)  # Maven colours its output even in batch mode
    return "\n".join(text.splitlines()[-lines:])


def tail_text(text: str, lines: int = 30) -> str:
    """Last lines of captured command output."""
    return "\n".join(text.strip().splitlines()[-lines:])


def read_pid(path: Path) -> Optional[int]:
    """First line of a pid file as an int (PostgreSQL's postmaster.pid has the pid first too)."""
    try:
        first = path.read_text().splitlines()[0].strip()
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def process_cmdline(pid: int) -> Optional[str]:
    """Command line of a live (non-zombie) process, or None if it is gone.

    Zombies count as gone: PID 1 on some machines does not reap orphans, so a killed broker can
    linger as a zombie whose pid still "exists" for kill(pid, 0).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat[stat.rindex(")") + 2:].split()[0]
        if state in ("Z", "X"):
            return None
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    if not raw:
        return None
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def is_zombie(pid: int) -> bool:
    """True while a dead process still has a /proc entry (killed but not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[:1] == ["Z"]


def pid_is_ours(pid: Optional[int], *needles: str) -> bool:
    """True if pid is alive and its command line contains every needle.

    Guards against stale pid files whose number was reused by an unrelated process.
    """
    if not pid or pid <= 0:
        return False
    cmdline = process_cmdline(pid)
    return cmdline is not None and all(needle in cmdline for needle in needles)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5,
               dots: bool = False) -> bool:
    """Poll predicate until it is true or timeout seconds passed; optionally print dots."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        if dots:
            say(".", end="")
        time.sleep(interval)


def port_is_free(port: int, host: str = HOST) -> bool:
    """True if we could bind host:port (SO_REUSEADDR so TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> List[str]:
    """Socket inodes listening on a TCP port, from /proc/net/tcp{,6}."""
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.append(fields[9])
    return inodes


def describe_port_owner(port: int) -> str:
    """Best-effort 'pid N (command)' of the process listening on port, to make errors actionable."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if inodes:
        for fd_dir in glob.glob("/proc/[0-9]*/fd"):
            try:
                targets = {os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}
            except OSError:
                continue
            if targets & inodes:
                pid = int(fd_dir.split("/")[2])
                return f"pid {pid} ({' '.join((process_cmdline(pid) or '?').split())[:120]})"
    return "another process (run `ss -ltnp` to see which)"


def ensure_port_free(port: int, what: str, env_name: str) -> None:
    """Fail early and clearly when a port we need is held by something that is not ours."""
    if not port_is_free(port):
        raise StackError(
            f"port {HOST}:{port} needed for {what} is already taken by {describe_port_owner(port)}.\n"
            f"Stop that process, or choose another port, e.g. `{env_name}=<free port> "
            f"python3 deploy/stack.py up`.")


def require_tool(name: str, install_hint: str) -> str:
    """Absolute path of an executable on PATH, or a StackError telling how to install it."""
    path = shutil.which(name)
    if not path:
        raise StackError(f"`{name}` was not found on PATH. {install_hint}")
    return path


class StackLock:
    """Exclusive lock on <run>/stack.lock so two concurrent `up`/`down` runs do not race."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another stack.py run to finish (lock {self.path}) ...")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
