"""The Kafka broker's process: start it (after its jars, configuration and storage are ready), wait until it
serves, stop it."""

import os
import signal
import subprocess
import time
from typing import Optional

from .kafka_access import ensure_acls
from .kafka_auth import LEGACY_STORAGE, admin_login, ensure_principals, formatted_before_authentication, run_java_tool
from .kafka_config import format_kafka_storage, kafka_cluster_id, kafka_server_properties
from .kafka_jars import assemble_kafka_libs, java_classpath
from .kafka_probe import kafka_is_healthy, kafka_is_serving
from .local_secrets import write_private
from .settings import REPO_ROOT, Settings, StackError
from .system import (ensure_port_free, is_zombie, pid_is_ours, process_cmdline, read_pid, require_tool, say,
                     tail, wait_until)

KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j.properties"
KAFKA_HEAP = ["-Xmx512m", "-Xms256m"]
KAFKA_START_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 30.0


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
           "-cp", java_classpath(settings), "kafka.Kafka", str(settings.kafka_props)]
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
