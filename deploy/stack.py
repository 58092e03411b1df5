#!/usr/bin/env python3
"""Local stack manager: a private Kafka broker and a private PostgreSQL cluster.

Usage: python3 deploy/stack.py up|down|status|env

Why this exists: the project's machines have no Docker and no Kafka download site, only PyPI,
Maven Central and the Debian package repository. So Kafka 3.9.1 is assembled from Maven Central
jars and started with ``java`` (single-node KRaft), and PostgreSQL runs as a private cluster from
the OS packages (``initdb`` + ``pg_ctl``) on its own port and data folder. Background facts:
KAFKA-LOCAL.md in the project's shared docs (Maven coordinates, runtime scope, KRaft settings).

This file uses the Python standard library only, so it runs before any virtualenv exists.

Settings (environment variables):
  CAMPAIGN_RUN_DIR                 default <repo root>/.run   all state lives below it
  CAMPAIGN_KAFKA_PORT              default 39092              broker (PLAINTEXT) listener
  CAMPAIGN_KAFKA_CONTROLLER_PORT   default 39093              KRaft controller listener
  CAMPAIGN_PG_PORT                 default 55432              PostgreSQL
Everything listens on 127.0.0.1 only.
"""

import dataclasses
import fcntl
import glob
import hashlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j.properties"

KAFKA_VERSION = "3.9.1"
KAFKA_MAIN_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
KAFKA_HEAP = ["-Xmx512m", "-Xms256m"]
KAFKA_NODE_ID = 1
KAFKA_START_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 30.0

PG_SUPERUSER = "campaign"
PG_DATABASE = "campaign"
PG_FALLBACK_OS_USER = "campaignpg"
PG_START_TIMEOUT_S = 90
HOST = "127.0.0.1"

# Unix socket paths are limited to 108 bytes (sun_path) including the terminating NUL.
UNIX_SOCKET_PATH_MAX = 107
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StackError(Exception):
    """A failure with a message meant for the person at the terminal (no traceback needed)."""


# --------------------------------------------------------------------------------------------
# Settings and paths
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    """All knobs of the stack; built from the environment so tests/CI can relocate everything."""

    run_dir: Path
    kafka_port: int
    kafka_controller_port: int
    pg_port: int

    # -- derived locations (everything below run_dir) --
    @property
    def m2_dir(self) -> Path:
        return self.run_dir / "m2"

    @property
    def kafka_dir(self) -> Path:
        return self.run_dir / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_dir / "libs"

    @property
    def kafka_libs_marker(self) -> Path:
        return self.kafka_libs / ".complete"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_props(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_cluster_id_file(self) -> Path:
        return self.kafka_dir / "cluster.id"

    @property
    def pg_dir(self) -> Path:
        return self.run_dir / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_dir / "socket"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.run_dir / "pids"

    @property
    def kafka_pid_file(self) -> Path:
        return self.pids_dir / "kafka.pid"

    @property
    def kafka_out(self) -> Path:
        return self.logs_dir / "kafka.out"

    @property
    def kafka_server_log(self) -> Path:
        return self.logs_dir / "kafka-server.log"

    @property
    def pg_log(self) -> Path:
        return self.logs_dir / "postgres.log"

    @property
    def maven_log(self) -> Path:
        return self.logs_dir / "maven.log"

    @property
    def lock_file(self) -> Path:
        return self.run_dir / "stack.lock"

    # -- connection settings handed to the application --
    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg2://{PG_SUPERUSER}@{HOST}:{self.pg_port}/{PG_DATABASE}"


def _port_from_env(environ, name: str, default: int) -> int:
    """Parse a TCP port setting, failing with a readable message instead of a ValueError."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StackError(f"{name}={port} is outside 1..65535")
    return port


def load_settings(environ=None) -> Settings:
    """Read the settings from the environment (defaults documented in the module docstring)."""
    environ = os.environ if environ is None else environ
    run_dir = environ.get("CAMPAIGN_RUN_DIR", "").strip()
    settings = Settings(
        run_dir=Path(run_dir).expanduser().resolve() if run_dir else REPO_ROOT / ".run",
        kafka_port=_port_from_env(environ, "CAMPAIGN_KAFKA_PORT", 39092),
        kafka_controller_port=_port_from_env(environ, "CAMPAIGN_KAFKA_CONTROLLER_PORT", 39093),
        pg_port=_port_from_env(environ, "CAMPAIGN_PG_PORT", 55432),
    )
    ports = [settings.kafka_port, settings.kafka_controller_port, settings.pg_port]
    if len(set(ports)) != len(ports):
        raise StackError(f"the Kafka, Kafka controller and PostgreSQL ports must differ: {ports}")
    return settings


# --------------------------------------------------------------------------------------------
# Small process / file helpers
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Kafka wire-protocol readiness probes (raw sockets, no client library needed)
# --------------------------------------------------------------------------------------------


def _kafka_request(host: str, port: int, api_key: int, api_version: int, body: bytes,
                   timeout: float, correlation_id: int = 7) -> bytes:
    """Send one request (header v1) and return the response body after the correlation id.

    Both probes below use response header v0 (ApiVersions always does; Metadata v0 is not
    a flexible version), i.e. just the correlation id.
    """
    client_id = b"campaign-stack-probe"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    payload = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        if not 4 <= size <= 16 * 1024 * 1024:
            raise ValueError(f"implausible response size {size}")
        response = _recv_exact(sock, size)
    (got_correlation,) = struct.unpack_from(">i", response, 0)
    if got_correlation != correlation_id:
        raise ValueError(f"correlation id mismatch ({got_correlation} != {correlation_id})")
    return response[4:]


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    """Read exactly count bytes or raise (a closed connection means 'not ready')."""
    chunks = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionError("connection closed by broker")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def kafka_api_versions(host: str, port: int, timeout: float = 3.0) -> dict:
    """ApiVersions v0 (api_key 18): returns {api_key: (min, max)}; raises if not well-formed/OK.

    The broker only answers once its request handlers run, so a well-formed answer with
    error_code 0 is a cheap 'the broker is serving' signal.
    """
    body = _kafka_request(host, port, api_key=18, api_version=0, body=b"", timeout=timeout)
    error_code, count = struct.unpack_from(">hi", body, 0)
    if error_code != 0:
        raise ValueError(f"ApiVersions error_code {error_code}")
    if count <= 0 or len(body) != 6 + 6 * count:
        raise ValueError("malformed ApiVersions response")
    versions = {}
    for index in range(count):
        key, low, high = struct.unpack_from(">hhh", body, 6 + 6 * index)
        versions[key] = (low, high)
    return versions


def kafka_metadata_brokers(host: str, port: int, timeout: float = 3.0) -> list:
    """Metadata v0 (api_key 3) for no topics: returns [(node_id, host, port), ...].

    A non-empty broker list means the broker has caught up with the KRaft metadata log and can
    serve clients, which is what 'ready' means for the application.
    """
    empty_topic_list = struct.pack(">i", 0)  # v0: an empty array means "all topics"
    body = _kafka_request(host, port, api_key=3, api_version=0, body=empty_topic_list,
                          timeout=timeout)
    (count,) = struct.unpack_from(">i", body, 0)
    offset, brokers = 4, []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", body, offset)
        offset += 6
        broker_host = body[offset:offset + host_len].decode()
        offset += host_len
        (broker_port,) = struct.unpack_from(">i", body, offset)
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_is_healthy(port: int, host: str = HOST, timeout: float = 3.0) -> bool:
    """True if the broker answers ApiVersions with error 0 and lists itself in Metadata."""
    try:
        kafka_api_versions(host, port, timeout)
        return len(kafka_metadata_brokers(host, port, timeout)) > 0
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        return False


# --------------------------------------------------------------------------------------------
# Kafka: assemble jars, configure, format, start, stop
# --------------------------------------------------------------------------------------------


def _pom_fingerprint() -> str:
    """Hash of the committed pom: changing the pom invalidates the assembled libs folder."""
    return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()


def kafka_libs_complete(settings: Settings) -> bool:
    """True if a previous copy-dependencies run finished for the current pom."""
    try:
        marker = settings.kafka_libs_marker.read_text().strip()
    except OSError:
        return False
    return marker == _pom_fingerprint() and (settings.kafka_libs / KAFKA_MAIN_JAR).is_file()


def _run_with_dots(cmd: Sequence[str], log_path: Path, every: float = 5.0) -> int:
    """Run a long command with its output in log_path, printing a dot now and then."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        last = time.monotonic()
        while proc.poll() is None:
            time.sleep(0.5)
            if time.monotonic() - last >= every:
                say(".", end="")
                last = time.monotonic()
    say()
    return proc.returncode


def assemble_kafka_libs(settings: Settings) -> None:
    """Copy Kafka and its runtime dependencies from Maven Central into <run>/kafka/libs.

    A marker file is written last, so an interrupted copy is detected and redone from scratch.
    """
    if kafka_libs_complete(settings):
        return
    mvn = require_tool("mvn", "Install Maven: `apt-get install -y maven` (it needs a JDK, "
                              "e.g. `apt-get install -y openjdk-17-jdk-headless`).")
    shutil.rmtree(settings.kafka_libs, ignore_errors=True)
    settings.kafka_libs.mkdir(parents=True)
    settings.m2_dir.mkdir(parents=True, exist_ok=True)
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", f"-Dmaven.repo.local={settings.m2_dir}",
           DEPENDENCY_PLUGIN,
           "-DincludeScope=runtime", f"-DoutputDirectory={settings.kafka_libs}",
           "-f", str(KAFKA_POM)]
    say(f"kafka: assembling Kafka {KAFKA_VERSION} jars from Maven Central into "
        f"{settings.kafka_libs} (first run: a few minutes)", end="")
    started = time.monotonic()
    if _run_with_dots(cmd, settings.maven_log) != 0:
        output = tail(settings.maven_log, 25)
        hint = ""
        if re.search(r"transfer|resolve|UnknownHost|Connect|timed out|PKIX", output, re.I):
            hint = ("\nMaven could not download from Maven Central: check network access to "
                    "https://repo.maven.apache.org (or a proxy/mirror in ~/.m2/settings.xml).")
        raise StackError(f"mvn failed (full log: {settings.maven_log}). Last lines:\n"
                         f"{output}{hint}")
    if not (settings.kafka_libs / KAFKA_MAIN_JAR).is_file():
        raise StackError(f"mvn finished but {KAFKA_MAIN_JAR} is missing from {settings.kafka_libs}")
    settings.kafka_libs_marker.write_text(_pom_fingerprint() + "\n")
    say(f"kafka: jars ready ({len(list(settings.kafka_libs.glob('*.jar')))} jars, "
        f"{time.monotonic() - started:.0f}s)")


def kafka_server_properties(settings: Settings) -> str:
    """Single-node KRaft configuration (broker and controller in one process) on 127.0.0.1."""
    port, cport = settings.kafka_port, settings.kafka_controller_port
    lines = {
        "process.roles": "broker,controller",
        "node.id": str(KAFKA_NODE_ID),
        "controller.quorum.voters": f"{KAFKA_NODE_ID}@{HOST}:{cport}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(settings.kafka_data),
        # Without these a single broker cannot create the internal topics and
        # consumer groups / transactions hang silently.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "3",
        "auto.create.topics.enable": "false",
    }
    header = "# Generated by deploy/stack.py on every `up`; edit stack.py instead.\n"
    return header + "".join(f"{key}={value}\n" for key, value in lines.items())


def _java_classpath(settings: Settings) -> str:
    return f"{settings.kafka_libs}/*"


def kafka_cluster_id(settings: Settings, java: str) -> str:
    """The KRaft cluster id: kept in a file, recovered from meta.properties, or newly generated."""
    id_file = settings.kafka_cluster_id_file
    if id_file.is_file() and id_file.read_text().strip():
        return id_file.read_text().strip()
    meta = settings.kafka_data / "meta.properties"
    if meta.is_file():
        match = re.search(r"^cluster\.id=(\S+)", meta.read_text(), re.M)
        if match:
            id_file.write_text(match.group(1) + "\n")
            return match.group(1)
    result = subprocess.run([java, "-cp", _java_classpath(settings), "kafka.tools.StorageTool",
                             "random-uuid"], capture_output=True, text=True)
    cluster_id = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id):
        raise StackError("kafka.tools.StorageTool random-uuid failed:\n"
                         + tail_text(result.stdout + result.stderr))
    id_file.write_text(cluster_id + "\n")
    return cluster_id


def format_kafka_storage(settings: Settings, java: str) -> None:
    """Format the KRaft log dir once (meta.properties marks a formatted dir)."""
    if (settings.kafka_data / "meta.properties").is_file():
        return
    cluster_id = kafka_cluster_id(settings, java)
    settings.kafka_data.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([java, "-cp", _java_classpath(settings), "kafka.tools.StorageTool",
                             "format", "-t", cluster_id, "-c", str(settings.kafka_props),
                             "--ignore-formatted"], capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError("formatting the Kafka storage failed:\n"
                         + tail_text(result.stdout + result.stderr))
    say(f"kafka: formatted storage {settings.kafka_data} (cluster id {cluster_id})")


def kafka_pid(settings: Settings) -> Optional[int]:
    """Pid of our running broker, or None (stale pid files are ignored)."""
    pid = read_pid(settings.kafka_pid_file)
    return pid if pid_is_ours(pid, "kafka.Kafka", str(settings.kafka_props)) else None


def kafka_failure(settings: Settings, reason: str) -> StackError:
    """Error carrying the broker's log tails, which usually name the real cause."""
    parts = [f"kafka: {reason}"]
    for path in (settings.kafka_server_log, settings.kafka_out):
        text = tail(path, 30)
        if text:
            parts.append(f"--- last lines of {path} ---\n{text}")
    return StackError("\n".join(parts))


def wait_for_kafka(settings: Settings, pid: int) -> None:
    """Wait up to KAFKA_START_TIMEOUT_S for metadata, failing fast if the JVM dies."""
    say(f"kafka: waiting for the broker on {settings.kafka_bootstrap} ", end="")
    started = time.monotonic()
    ready = wait_until(lambda: kafka_is_healthy(settings.kafka_port) or kafka_pid(settings) is None,
                       KAFKA_START_TIMEOUT_S, interval=1.0, dots=True)
    say()
    if kafka_pid(settings) is None:
        raise kafka_failure(settings, f"the broker process (pid {pid}) exited during startup")
    if not ready:
        raise kafka_failure(settings, f"not ready after {KAFKA_START_TIMEOUT_S:.0f}s "
                                      f"(pid {pid} still running; `stack.py down` stops it)")
    say(f"kafka: ready in {time.monotonic() - started:.1f}s (pid {pid})")


def start_kafka_process(settings: Settings, java: str) -> int:
    """Launch the broker detached (own session, output to a file) and record its pid."""
    cmd = [java, *KAFKA_HEAP, "-Djava.awt.headless=true",
           f"-Dkafka.logs.dir={settings.logs_dir}",
           f"-Dlog4j.configuration=file:{KAFKA_LOG4J}",
           "-cp", _java_classpath(settings), "kafka.Kafka", str(settings.kafka_props)]
    with open(settings.kafka_out, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=settings.kafka_dir, start_new_session=True, close_fds=True)
    settings.kafka_pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def kafka_up(settings: Settings) -> None:
    """Make sure our broker runs and serves metadata; reuse a healthy one."""
    pid = kafka_pid(settings)
    if pid is not None:
        if kafka_is_healthy(settings.kafka_port):
            say(f"kafka: already running and healthy (pid {pid}), reusing it")
            return
        say(f"kafka: process {pid} is running but not answering yet")
        wait_for_kafka(settings, pid)
        return
    java = require_tool("java", "Install a Java 17 runtime: "
                                "`apt-get install -y openjdk-17-jre-headless`.")
    for folder in (settings.kafka_dir, settings.logs_dir, settings.pids_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.kafka_pid_file.exists():
        say("kafka: removing stale pid file (process is gone)")
        settings.kafka_pid_file.unlink()
    assemble_kafka_libs(settings)
    ensure_port_free(settings.kafka_port, "the Kafka broker", "CAMPAIGN_KAFKA_PORT")
    ensure_port_free(settings.kafka_controller_port, "the Kafka controller",
                     "CAMPAIGN_KAFKA_CONTROLLER_PORT")
    settings.kafka_props.write_text(kafka_server_properties(settings))
    format_kafka_storage(settings, java)
    pid = start_kafka_process(settings, java)
    say(f"kafka: started broker (pid {pid}), output in {settings.kafka_out}")
    wait_for_kafka(settings, pid)


def kafka_down(settings: Settings) -> None:
    """SIGTERM the broker (clean shutdown), SIGKILL it after KAFKA_STOP_TIMEOUT_S."""
    pid = kafka_pid(settings)
    if pid is None:
        say("kafka: not running")
        settings.kafka_pid_file.unlink(missing_ok=True)
        return
    say(f"kafka: stopping pid {pid} ", end="")
    _signal(pid, signal.SIGTERM)
    if not wait_until(lambda: process_cmdline(pid) is None, KAFKA_STOP_TIMEOUT_S, dots=True):
        say(" (no clean exit, sending SIGKILL)", end="")
        _signal(pid, signal.SIGKILL)
        wait_until(lambda: process_cmdline(pid) is None, 10)
    say(" stopped")
    settings.kafka_pid_file.unlink(missing_ok=True)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------------------------
# PostgreSQL: find/install binaries, run as an unprivileged user, initdb, start, stop
# --------------------------------------------------------------------------------------------


def _version_key(path: str) -> tuple:
    """Sort key for /usr/lib/postgresql/<version>/bin (numeric, so 16 > 9.6)."""
    version = Path(path).parent.name
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def find_pg_bindir() -> Optional[Path]:
    """Directory holding initdb/pg_ctl/postgres: the highest Debian version, else pg_config's."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if _has_server_binaries(Path(candidate)):
            return Path(candidate)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and _has_server_binaries(Path(result.stdout.strip())):
            return Path(result.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb and _has_server_binaries(Path(initdb).parent):
        return Path(initdb).parent
    return None


def install_postgresql() -> None:
    """apt-get install the PostgreSQL server (non-interactive), with readable failures."""
    if os.geteuid() != 0:
        raise StackError("PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found and "
                         "installing them needs root: run `sudo apt-get install -y postgresql` "
                         "or run this script as root.")
    apt = require_tool("apt-get", "Install the PostgreSQL server (initdb, pg_ctl, postgres) with "
                                  "your OS package manager.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", "postgresql"]):
        say(f"postgres: running {' '.join(cmd[1:])} ...")
        result = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise StackError(f"`apt-get {' '.join(cmd[1:])}` failed (exit {result.returncode}). "
                             f"Last lines:\n{tail_text(result.stdout + result.stderr)}\n"
                             "Check access to the Debian package mirrors and that no other apt "
                             "process holds the dpkg lock.")


def ensure_pg_bindir() -> Path:
    """Server binaries, installing the OS package first if they are missing."""
    bindir = find_pg_bindir()
    if bindir is None:
        say("postgres: no server binaries found, installing the `postgresql` package")
        install_postgresql()
        bindir = find_pg_bindir()
        if bindir is None:
            raise StackError("`apt-get install postgresql` succeeded but no initdb/pg_ctl/postgres "
                             "were found under /usr/lib/postgresql/*/bin.")
    return bindir


@dataclasses.dataclass(frozen=True)
class PgRunner:
    """Runs PostgreSQL server commands as an unprivileged OS user.

    initdb and postgres refuse to run as root, so as root we switch to `postgres` (or a system
    user we create) with runuser; as a normal user we run them directly.
    """

    bindir: Path
    os_user: Optional[str]  # None: run as the current user

    def command(self, tool: str, *args: str) -> List[str]:
        cmd = [str(self.bindir / tool), *args]
        return ["runuser", "-u", self.os_user, "--", *cmd] if self.os_user else cmd

    def run(self, tool: str, *args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        # cwd: the pg user may not be allowed into the caller's current directory.
        return subprocess.run(self.command(tool, *args), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, cwd=cwd)

    def client(self, tool: str, *args: str) -> List[str]:
        """Client tools (psql, pg_isready, createdb) connect over TCP and need no user switch."""
        return [str(self.bindir / tool), *args]


def pg_os_user(create: bool) -> Optional[str]:
    """The OS user that owns the cluster when we are root: postgres, or campaignpg (created)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", PG_FALLBACK_OS_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    if not create:
        return PG_FALLBACK_OS_USER
    useradd = require_tool("useradd", "Create a system user for PostgreSQL, e.g. `adduser --system "
                                      f"{PG_FALLBACK_OS_USER}`.")
    result = subprocess.run([useradd, "--system", "--user-group", "--no-create-home",
                             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                             PG_FALLBACK_OS_USER], capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"could not create the OS user {PG_FALLBACK_OS_USER}:\n"
                         f"{tail_text(result.stdout + result.stderr)}")
    say(f"postgres: created system user {PG_FALLBACK_OS_USER} to run the server")
    return PG_FALLBACK_OS_USER


def _ancestors(path: Path) -> Iterator[Path]:
    """path's parents from the filesystem root down (excluding path itself)."""
    return reversed(path.parents)


def _user_can_traverse(directory: Path, uid: int, gids: set) -> bool:
    info = directory.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid in gids:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


def prepare_pg_dirs(settings: Settings, os_user: Optional[str]) -> None:
    """Create data/socket folders owned by the server's user and make the path traversable.

    The server user must be able to walk down to <run>/pg; folders above that which deny it get
    o+x (traverse only, no listing) and we say so.
    """
    for folder in (settings.pg_data, settings.pg_socket_dir, settings.logs_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.pg_log.touch(exist_ok=True)
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        gids = {entry.pw_gid, *os.getgrouplist(os_user, entry.pw_gid)}
        for parent in _ancestors(settings.pg_dir):
            if not _user_can_traverse(parent, entry.pw_uid, gids):
                say(f"postgres: allowing {os_user} to traverse {parent} (chmod o+x)")
                parent.chmod(parent.stat().st_mode | 0o001)
        for path in (settings.pg_dir, settings.pg_data, settings.pg_socket_dir, settings.pg_log):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    settings.pg_data.chmod(0o700)
    if len(str(settings.pg_socket_dir / f".s.PGSQL.{settings.pg_port}")) > UNIX_SOCKET_PATH_MAX:
        raise StackError(f"the socket path under {settings.pg_socket_dir} is longer than "
                         f"{UNIX_SOCKET_PATH_MAX} bytes; use a shorter CAMPAIGN_RUN_DIR.")


def pg_initdb(settings: Settings, runner: PgRunner) -> None:
    """Create the cluster once (superuser `campaign`, trust auth); C.UTF-8 locale, else C."""
    if (settings.pg_data / "PG_VERSION").is_file():
        return
    errors = []
    for locale in ("C.UTF-8", "C"):
        _empty_dir(settings.pg_data)
        result = runner.run("initdb", "-D", str(settings.pg_data), "-U", PG_SUPERUSER,
                            "--auth=trust", "-E", "UTF8", f"--locale={locale}",
                            cwd=settings.pg_dir)
        if result.returncode == 0:
            say(f"postgres: initialized cluster in {settings.pg_data} (locale {locale})")
            return
        errors.append(f"--locale={locale}:\n{tail_text(result.stdout + result.stderr, 15)}")
    raise StackError("initdb failed:\n" + "\n".join(errors))


def _empty_dir(folder: Path) -> None:
    """Remove a folder's contents but keep the folder (its ownership/mode were set for us)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def write_pg_config(settings: Settings) -> None:
    """Our settings in campaign.conf, included from postgresql.conf (rewritten on every up)."""
    conf = settings.pg_data / "campaign.conf"
    conf.write_text(
        "# Generated by deploy/stack.py on every `up`; edit stack.py instead.\n"
        f"listen_addresses = '{HOST}'\n"
        f"port = {settings.pg_port}\n"
        f"unix_socket_directories = '{settings.pg_socket_dir}'\n"
        "max_connections = 200\n"
        "shared_buffers = 256MB\n")
    main_conf = settings.pg_data / "postgresql.conf"
    include = "include_if_exists = 'campaign.conf'"
    if include not in main_conf.read_text():
        with open(main_conf, "a") as handle:
            handle.write(f"\n# Added by deploy/stack.py\n{include}\n")
    shutil.copymode(main_conf, conf)
    stat = main_conf.stat()
    if os.geteuid() == 0:
        os.chown(conf, stat.st_uid, stat.st_gid)


def postmaster_pid(settings: Settings) -> Optional[int]:
    """Pid of our running postmaster from postmaster.pid, or None if absent or stale."""
    pid = read_pid(settings.pg_data / "postmaster.pid")
    return pid if pid_is_ours(pid, "postgres", str(settings.pg_data)) else None


def pg_is_healthy(settings: Settings, bindir: Optional[Path] = None, timeout: int = 3) -> bool:
    """True if `pg_isready` succeeds and the campaign database accepts a query."""
    bindir = bindir or find_pg_bindir()
    if bindir is None:
        return False
    env = dict(os.environ, PGCONNECT_TIMEOUT=str(timeout))
    base = ["-h", HOST, "-p", str(settings.pg_port), "-U", PG_SUPERUSER]
    try:
        ready = subprocess.run([str(bindir / "pg_isready"), *base, "-d", "postgres",
                                "-t", str(timeout)],
                               capture_output=True, env=env, timeout=timeout + 5)
        if ready.returncode != 0:
            return False
        query = subprocess.run([str(bindir / "psql"), *base, "-d", PG_DATABASE,
                                "-w", "-tAc", "SELECT 1"], capture_output=True, text=True,
                               env=env, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return False
    return query.returncode == 0 and query.stdout.strip() == "1"


def clear_stale_pg_state(settings: Settings) -> None:
    """Remove the lock files a killed postmaster leaves behind.

    PostgreSQL refuses to start while postmaster.pid or the socket lock file name a pid that
    still exists, which is the case for a moment after kill -9 (zombie not yet reaped) or for
    good if the pid was recycled by another process. Only called when no postmaster of ours runs.
    """
    pid_file = settings.pg_data / "postmaster.pid"
    old_pid = read_pid(pid_file)
    if old_pid:
        wait_until(lambda: not is_zombie(old_pid), 10, interval=0.2)
    if pid_file.exists():
        say(f"postgres: removing stale {pid_file} (pid {old_pid} is gone)")
        pid_file.unlink()
    for lock in settings.pg_socket_dir.glob(".s.PGSQL.*.lock"):
        if not pid_is_ours(read_pid(lock), "postgres"):
            lock.unlink(missing_ok=True)
            Path(str(lock)[:-len(".lock")]).unlink(missing_ok=True)


def pg_start(settings: Settings, runner: PgRunner) -> None:
    """pg_ctl start -w; retried briefly because orphaned backends of a killed postmaster can
    still hold the old shared memory for a moment."""
    for attempt in range(1, 4):
        result = runner.run("pg_ctl", "-D", str(settings.pg_data), "-l", str(settings.pg_log),
                            "-w", "-t", str(PG_START_TIMEOUT_S), "start", cwd=settings.pg_dir)
        if result.returncode == 0:
            return
        log = tail(settings.pg_log, 20)
        if attempt < 3 and "pre-existing shared memory block" in log:
            say("postgres: old server processes still exiting, retrying")
            time.sleep(3)
            clear_stale_pg_state(settings)
            continue
        raise StackError(f"pg_ctl start failed:\n{tail_text(result.stdout + result.stderr)}\n"
                         f"--- last lines of {settings.pg_log} ---\n{log}")


def pg_ensure_database(settings: Settings, runner: PgRunner) -> None:
    """Create database `campaign` owned by role `campaign` unless it exists."""
    base = ["-h", HOST, "-p", str(settings.pg_port), "-U", PG_SUPERUSER, "-w"]
    check = subprocess.run(runner.client("psql", *base, "-d", "postgres", "-tAc",
                                         f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"),
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise StackError(f"cannot query PostgreSQL on port {settings.pg_port}:\n"
                         f"{tail_text(check.stdout + check.stderr)}")
    if check.stdout.strip() == "1":
        return
    create = subprocess.run(runner.client("createdb", *base, "-O", PG_SUPERUSER, PG_DATABASE),
                            capture_output=True, text=True)
    if create.returncode != 0:
        raise StackError(f"createdb {PG_DATABASE} failed:\n{tail_text(create.stdout + create.stderr)}")
    say(f"postgres: created database {PG_DATABASE}")


def pg_up(settings: Settings) -> None:
    """Make sure our PostgreSQL cluster runs and the campaign database exists."""
    bindir = ensure_pg_bindir()
    runner = PgRunner(bindir, pg_os_user(create=True))
    pid = postmaster_pid(settings)
    if pid is not None and pg_is_healthy(settings, bindir):
        say(f"postgres: already running and healthy (pid {pid}), reusing it")
        return
    if pid is None:
        clear_stale_pg_state(settings)
        prepare_pg_dirs(settings, runner.os_user)
        pg_initdb(settings, runner)
        ensure_port_free(settings.pg_port, "PostgreSQL", "CAMPAIGN_PG_PORT")
        write_pg_config(settings)
        started = time.monotonic()
        say(f"postgres: starting ({bindir.parent.name}, user {runner.os_user or 'current'})")
        pg_start(settings, runner)
        say(f"postgres: started in {time.monotonic() - started:.1f}s "
            f"(pid {postmaster_pid(settings)}), log {settings.pg_log}")
    else:
        say(f"postgres: process {pid} is running but not accepting connections yet")
    if not wait_until(lambda: _pg_accepts(settings, bindir), PG_START_TIMEOUT_S, interval=1.0):
        raise StackError(f"postgres: not accepting connections on {HOST}:{settings.pg_port}.\n"
                         f"--- last lines of {settings.pg_log} ---\n{tail(settings.pg_log, 20)}")
    pg_ensure_database(settings, runner)
    if not pg_is_healthy(settings, bindir):
        raise StackError(f"postgres: database {PG_DATABASE} is not reachable on port "
                         f"{settings.pg_port}; see {settings.pg_log}")
    say(f"postgres: ready (pid {postmaster_pid(settings)})")


def _pg_accepts(settings: Settings, bindir: Path) -> bool:
    """pg_isready only (the database may not exist yet on the first run)."""
    result = subprocess.run([str(bindir / "pg_isready"), "-h", HOST, "-p", str(settings.pg_port),
                             "-U", PG_SUPERUSER, "-d", "postgres", "-t", "3"],
                            capture_output=True)
    return result.returncode == 0


def pg_down(settings: Settings) -> None:
    """pg_ctl stop -m fast; a stale lock file left by a crash is simply removed."""
    pid = postmaster_pid(settings)
    if pid is None:
        clear_stale_pg_state(settings)
        say("postgres: not running")
        return
    bindir = find_pg_bindir()
    if bindir is None:
        raise StackError("postgres is running but pg_ctl was not found to stop it")
    runner = PgRunner(bindir, pg_os_user(create=False))
    say(f"postgres: stopping pid {pid}")
    result = runner.run("pg_ctl", "-D", str(settings.pg_data), "-m", "fast", "-w", "-t", "60",
                        "stop", cwd=settings.pg_dir)
    if result.returncode != 0 and postmaster_pid(settings) is not None:
        raise StackError(f"pg_ctl stop failed:\n{tail_text(result.stdout + result.stderr)}")
    say("postgres: stopped")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def connection_lines(settings: Settings) -> List[str]:
    return [f"KAFKA_BOOTSTRAP={settings.kafka_bootstrap}", f"DATABASE_URL={settings.database_url}"]


def cmd_up(settings: Settings) -> int:
    started = time.monotonic()
    with StackLock(settings.lock_file):
        kafka_up(settings)
        pg_up(settings)
    say(f"stack is up ({time.monotonic() - started:.1f}s). Connection settings:")
    for line in connection_lines(settings):
        say(f"  {line}")
    say("  (shell: eval \"$(python3 deploy/stack.py env)\")")
    return 0


def cmd_down(settings: Settings) -> int:
    with StackLock(settings.lock_file):
        kafka_down(settings)
        pg_down(settings)
    return 0


def cmd_status(settings: Settings) -> int:
    kpid = kafka_pid(settings)
    k_ok = kpid is not None and kafka_is_healthy(settings.kafka_port)
    ppid = postmaster_pid(settings)
    p_ok = ppid is not None and pg_is_healthy(settings)
    for name, pid, port, ok in (("kafka", kpid, settings.kafka_port, k_ok),
                                ("postgres", ppid, settings.pg_port, p_ok)):
        state = "running" if pid else "stopped"
        say(f"{name:<9} {state:<8} pid={pid or '-':<8} port={port:<6} "
            f"{'healthy' if ok else 'unhealthy'}")
    return 0 if k_ok and p_ok else 1


# Local secrets: made once per run folder (mode 600), never committed; production sets the
# variables itself. Each maker returns the text to store.
LOCAL_SECRETS = {
    "CAMPAIGN_AUTH_SECRET": ("auth-secret", lambda: secrets.token_urlsafe(32)),
    "CAMPAIGN_PERSONAL_DATA_KEY": ("personal-data-key", lambda: secrets.token_urlsafe(32)),
    # The audit signing key is not among them: only the signer process reads it, from its file
    # (scripts/services.sh makes secrets/audit-signing-key; docs/audit.md).
}


def local_secret(settings: Settings, file_name: str, make) -> str:
    path = settings.run_dir / "secrets" / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def cmd_env(settings: Settings) -> int:
    say(f"export CAMPAIGN_DATABASE_URL={shlex.quote(settings.database_url)}")
    say(f"export CAMPAIGN_KAFKA_BOOTSTRAP={shlex.quote(settings.kafka_bootstrap)}")
    for variable, (file_name, make) in LOCAL_SECRETS.items():
        if not os.environ.get(variable):
            say(f"export {variable}={shlex.quote(local_secret(settings, file_name, make))}")
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python3 deploy/stack.py {'|'.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](load_settings())
    except StackError as error:
        print(f"\nERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
