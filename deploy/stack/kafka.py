"""Kafka: assemble the jars from Maven Central, configure, format, start, stop."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional, Sequence

from .kafka_access import ensure_acls
from .kafka_auth import (LEGACY_STORAGE, admin_login, auth_properties, ensure_principals, formatted_principals,
                         formatted_before_authentication, remember_principals, run_java_tool,
                         scram_format_arguments)
from .kafka_probe import kafka_is_healthy, kafka_is_serving
from .local_secrets import write_private
from .settings import HOST, REPO_ROOT, Settings, StackError
from .system import (ensure_port_free, is_zombie, pid_is_ours, process_cmdline, read_pid, require_tool, say,
                     tail, tail_text, wait_until)

KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j.properties"

KAFKA_VERSION = "3.9.1"
KAFKA_MAIN_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
KAFKA_HEAP = ["-Xmx512m", "-Xms256m"]
KAFKA_NODE_ID = 1
KAFKA_START_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 30.0


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
    """Single-node KRaft configuration (broker and controller in one process) on 127.0.0.1, with SASL
    on both listeners and ACLs (kafka_auth, kafka_access)."""
    return server_properties(HOST, HOST, settings.kafka_port, settings.kafka_controller_port, str(settings.kafka_data),
                             auth_properties(settings))


def server_properties(listen: str, advertised: str, port: int, controller_port: int, log_dirs: str,
                      auth: dict) -> str:
    """The broker's configuration; the local stack's on 127.0.0.1, docker-compose's in its container."""
    lines = {
        "process.roles": "broker,controller",
        "node.id": str(KAFKA_NODE_ID),
        "controller.quorum.voters": f"{KAFKA_NODE_ID}@{advertised}:{controller_port}",
        "listeners": f"SASL_PLAINTEXT://{listen}:{port},CONTROLLER://{listen}:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://{advertised}:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        **auth,
        "log.dirs": log_dirs,
        # Without these a single broker cannot create the internal topics and
        # consumer groups / transactions hang silently.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "3",
        "auto.create.topics.enable": "false",
    }
    header = ("# Generated by deploy/stack.py on every `up`; edit deploy/stack/ instead. Holds the broker's\n"
              "# and the controller's passwords: mode 600.\n")
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
    """Format the KRaft log dir once (meta.properties marks a formatted dir), with every principal's
    SCRAM credential."""
    if (settings.kafka_data / "meta.properties").is_file():
        return
    cluster_id = kafka_cluster_id(settings, java)
    settings.kafka_data.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([java, "-cp", _java_classpath(settings), "kafka.tools.StorageTool",
                             "format", "-t", cluster_id, "-c", str(settings.kafka_props),
                             "--ignore-formatted", *scram_format_arguments(settings)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError("formatting the Kafka storage failed:\n"
                         + tail_text(result.stdout + result.stderr))
    remember_principals(settings, cluster_id, formatted_principals(settings))
    say(f"kafka: formatted storage {settings.kafka_data} (cluster id {cluster_id}, SCRAM users bootstrapped)")


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


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (its command line may be empty for a moment while the
    JVM launcher starts, so the pid file, not the command line, says whose it is here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(pid)


def wait_for_kafka(settings: Settings, pid: int) -> None:
    """Wait up to KAFKA_START_TIMEOUT_S for the broker, failing fast if the JVM dies: first serving
    (ApiVersions, before any login), then the credentials of principals added to deploy/stack/processes.py
    since the storage was formatted, then a login as the admin and metadata, then the ACLs."""
    say(f"kafka: waiting for the broker on {settings.kafka_bootstrap} ", end="")
    started = time.monotonic()
    serving = wait_until(lambda: kafka_is_serving(settings.kafka_port) or not _alive(pid),
                         KAFKA_START_TIMEOUT_S, interval=1.0, dots=True)
    java = require_tool("java", "Install a Java 17 runtime: `apt-get install -y openjdk-17-jre-headless`.")
    java_tool = run_java_tool(settings, java)
    cluster_id = kafka_cluster_id(settings, java)
    if serving and _alive(pid):
        ensure_principals(settings, java_tool, cluster_id)
        login = admin_login(settings)
        remaining = max(5.0, KAFKA_START_TIMEOUT_S - (time.monotonic() - started))
        ready = wait_until(lambda: kafka_is_healthy(settings.kafka_port, login) or not _alive(pid),
                           remaining, interval=1.0, dots=True)
    else:
        ready = False
    say()
    if not _alive(pid):
        raise kafka_failure(settings, f"the broker process (pid {pid}) exited during startup")
    if not ready:
        raise kafka_failure(settings, f"not ready after {KAFKA_START_TIMEOUT_S:.0f}s "
                                      f"(pid {pid} still running; `stack.py down` stops it)")
    ensure_acls(settings, java_tool, cluster_id)
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
    if (settings.kafka_data / "meta.properties").is_file():  # the cluster id is known: no java needed
        if formatted_before_authentication(settings, kafka_cluster_id(settings, "java")):
            raise StackError(LEGACY_STORAGE.format(data=settings.kafka_data, cluster_id=settings.kafka_cluster_id_file,
                                                   pg=settings.pg_dir))
    if pid is not None and settings.kafka_props.read_text() != kafka_server_properties(settings):
        # e.g. a broker started before authentication, or a password file replaced (rotation)
        say("kafka: the broker's configuration changed; restarting it")
        kafka_down(settings)
        pid = None
    if pid is not None:
        if kafka_is_healthy(settings.kafka_port, admin_login(settings)):
            say(f"kafka: already running and healthy (pid {pid}), reusing it")
            java = require_tool("java", "Install a Java 17 runtime.")
            cluster_id = kafka_cluster_id(settings, java)
            ensure_principals(settings, run_java_tool(settings, java), cluster_id)
            ensure_acls(settings, run_java_tool(settings, java), cluster_id)
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
    write_private(settings.kafka_props, kafka_server_properties(settings))
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
