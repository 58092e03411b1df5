"""The Kafka brokers' processes (one, or a cluster's nodes): start them (after their jars, configuration and
storage are ready), wait until they serve, stop them."""

import os
import signal
import subprocess
import time
from typing import Dict, List, Optional

from .kafka_access import ensure_acls
from .kafka_auth import LEGACY_STORAGE, admin_login, ensure_principals, formatted_before_authentication, run_java_tool
from .kafka_config import format_kafka_storage, kafka_cluster_id, kafka_server_properties
from .kafka_jars import assemble_kafka_libs, java_classpath
from .kafka_probe import kafka_is_healthy, kafka_is_serving, kafka_metadata_brokers
from .local_secrets import write_private
from .settings import HOST, REPO_ROOT, Settings, StackError
from .system import (ensure_port_free, is_zombie, pid_is_ours, process_cmdline, read_pid, require_tool, say,
                     tail, wait_until)

KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j.properties"
KAFKA_HEAP = ["-Xmx512m", "-Xms256m"]
KAFKA_START_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 30.0


def kafka_pid(settings: Settings) -> Optional[int]:
    """Pid of the running broker of ``settings``' node (node 1 unless a ``nodes()`` view), or None (stale
    pid files are ignored)."""
    pid = read_pid(settings.kafka_pid_file)
    return pid if pid_is_ours(pid, "kafka.Kafka", str(settings.kafka_props)) else None


def kafka_pids(settings: Settings) -> Dict[int, Optional[int]]:
    """Node id -> the pid of its running broker, or None."""
    return {node.kafka_node: kafka_pid(node) for node in settings.nodes()}


def kafka_failure(settings: Settings, reason: str) -> StackError:
    """Error carrying the node's log tails, which usually name the real cause."""
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


def cluster_is_healthy(settings: Settings, login) -> bool:
    """Every node answers, the admin logs in, and each lists all the cluster's brokers in Metadata."""
    return all(kafka_is_healthy(node.node_port, login)
               and len(kafka_metadata_brokers(HOST, node.node_port, login)) == settings.kafka_brokers
               for node in settings.nodes())


def wait_for_kafka(settings: Settings, pids: Dict[int, int]) -> None:
    """Wait up to KAFKA_START_TIMEOUT_S for every node, failing fast if a JVM dies: first serving
    (ApiVersions, before any login), then the credentials of principals added to deploy/stack/processes.py
    since the storage was formatted, then a login as the admin and metadata listing every broker (a
    cluster's nodes only serve once a majority of its controllers elected a leader), then the ACLs."""
    nodes = {node.kafka_node: node for node in settings.nodes()}
    say(f"kafka: waiting for {'the broker' if len(nodes) == 1 else f'{len(nodes)} brokers'} on "
        f"{settings.kafka_bootstrap} ", end="")
    started = time.monotonic()

    def dead() -> List[int]:
        return [k for k, pid in pids.items() if not _alive(pid)]

    serving = wait_until(lambda: all(kafka_is_serving(node.node_port) for node in nodes.values()) or dead(),
                         KAFKA_START_TIMEOUT_S, interval=1.0, dots=True)
    java = require_tool("java", "Install a Java 17 runtime: `apt-get install -y openjdk-17-jre-headless`.")
    java_tool = run_java_tool(settings, java)
    cluster_id = kafka_cluster_id(settings, java)
    if serving and not dead():
        login = admin_login(settings)
        remaining = max(5.0, KAFKA_START_TIMEOUT_S - (time.monotonic() - started))
        # the admin's and the brokers' credentials came with the storage: metadata first, then the others'
        ready = wait_until(lambda: cluster_is_healthy(settings, login) or dead(), remaining, interval=1.0, dots=True)
        if ready and not dead():
            ensure_principals(settings, java_tool, cluster_id)
    else:
        ready = False
    say()
    if dead():
        node = nodes[dead()[0]]
        raise kafka_failure(node, f"the broker process of node {node.kafka_node} (pid {pids[node.kafka_node]}) "
                                  "exited during startup")
    if not ready:
        raise kafka_failure(settings, f"not ready after {KAFKA_START_TIMEOUT_S:.0f}s "
                                      f"(pids {', '.join(map(str, pids.values()))} still running; `stack.py down` "
                                      "stops them)")
    ensure_acls(settings, java_tool, cluster_id)
    say(f"kafka: ready in {time.monotonic() - started:.1f}s (pid{'s' if len(pids) > 1 else ''} "
        f"{', '.join(map(str, pids.values()))})")


def start_kafka_process(settings: Settings, java: str) -> int:
    """Launch the node's broker detached (own session, output to a file) and record its pid."""
    settings.kafka_logs_dir.mkdir(parents=True, exist_ok=True)
    cmd = [java, *KAFKA_HEAP, "-Djava.awt.headless=true",
           f"-Dkafka.logs.dir={settings.kafka_logs_dir}",
           f"-Dlog4j.configuration=file:{KAFKA_LOG4J}",
           "-cp", java_classpath(settings), "kafka.Kafka", str(settings.kafka_props)]
    with open(settings.kafka_out, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=settings.kafka_dir, start_new_session=True, close_fds=True)
    settings.kafka_pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def formatted_brokers(settings: Settings) -> Optional[int]:
    """How many nodes the stack's Kafka storage was formatted for (None: not formatted yet)."""
    if not (settings.kafka_data / "meta.properties").is_file():
        return None
    remembered = settings.kafka_brokers_file
    return int(remembered.read_text().strip()) if remembered.is_file() else 1  # before clusters: one broker


def check_brokers(settings: Settings) -> None:
    """A formatted storage keeps its controller quorum: another number of brokers needs a fresh one."""
    formatted = formatted_brokers(settings)
    if formatted is not None and formatted != settings.kafka_brokers:
        raise StackError(
            f"kafka: this run folder's Kafka was made with {formatted} broker(s), not {settings.kafka_brokers}. "
            "A KRaft cluster keeps its controllers: to change, stop everything (`python3 deploy/stack.py down`), "
            f"then remove the brokers' storage AND the database (the event stores' outbox marks and the projections' "
            f"offsets refer to the old topics): `rm -rf {settings.kafka_dir}/data* {settings.kafka_cluster_id_file} "
            f"{settings.kafka_brokers_file} {settings.pg_dir}`, and `up --brokers {settings.kafka_brokers}` again; "
            f"or keep {formatted} (CAMPAIGN_KAFKA_BROKERS={formatted}).")


def kafka_up(settings: Settings) -> None:
    """Make sure every node of our Kafka runs and serves metadata; reuse healthy ones."""
    check_brokers(settings)
    if (settings.kafka_data / "meta.properties").is_file():  # the cluster id is known: no java needed
        if formatted_before_authentication(settings, kafka_cluster_id(settings, "java")):
            raise StackError(LEGACY_STORAGE.format(data=settings.kafka_data, cluster_id=settings.kafka_cluster_id_file,
                                                   pg=settings.pg_dir))
    pids = kafka_pids(settings)
    for node in settings.nodes():
        if pids[node.kafka_node] is not None and node.kafka_props.read_text() != kafka_server_properties(node):
            # e.g. a broker started before authentication, or a password file replaced (rotation)
            say(f"kafka: node {node.kafka_node}'s configuration changed; restarting it")
            _stop_node(node)
            pids[node.kafka_node] = None
    if all(pid is not None for pid in pids.values()):
        if cluster_is_healthy(settings, admin_login(settings)):
            say(f"kafka: already running and healthy (pid{'s' if len(pids) > 1 else ''} "
                f"{', '.join(map(str, pids.values()))}), reusing it")
            java = require_tool("java", "Install a Java 17 runtime.")
            cluster_id = kafka_cluster_id(settings, java)
            ensure_principals(settings, run_java_tool(settings, java), cluster_id)
            ensure_acls(settings, run_java_tool(settings, java), cluster_id)
            return
        say("kafka: running but not answering yet")
        wait_for_kafka(settings, pids)
        return
    java = require_tool("java", "Install a Java 17 runtime: "
                                "`apt-get install -y openjdk-17-jre-headless`.")
    for folder in (settings.kafka_dir, settings.logs_dir, settings.pids_dir):
        folder.mkdir(parents=True, exist_ok=True)
    assemble_kafka_libs(settings)
    for node in settings.nodes():
        if pids[node.kafka_node] is not None:
            continue
        if node.kafka_pid_file.exists():
            say(f"kafka: removing stale pid file {node.kafka_pid_file.name} (process is gone)")
            node.kafka_pid_file.unlink()
        ensure_port_free(node.node_port, f"Kafka node {node.kafka_node}'s broker",
                         "CAMPAIGN_KAFKA_PORT" + (f" (+{node.node_port - settings.kafka_port})" if node.kafka_node > 1 else ""))
        ensure_port_free(node.node_controller_port, f"Kafka node {node.kafka_node}'s controller",
                         "CAMPAIGN_KAFKA_CONTROLLER_PORT"
                         + (f" (+{node.node_controller_port - settings.kafka_controller_port})" if node.kafka_node > 1 else ""))
        write_private(node.kafka_props, kafka_server_properties(node))
        format_kafka_storage(node, java)
    settings.kafka_brokers_file.write_text(f"{settings.kafka_brokers}\n")
    for node in settings.nodes():
        if pids[node.kafka_node] is None:
            pids[node.kafka_node] = start_kafka_process(node, java)
            say(f"kafka: started node {node.kafka_node} (pid {pids[node.kafka_node]}, port {node.node_port}), "
                f"output in {node.kafka_out}")
    wait_for_kafka(settings, pids)


def kafka_down(settings: Settings) -> None:
    """SIGTERM every node's broker (clean shutdown), SIGKILL one after KAFKA_STOP_TIMEOUT_S."""
    for node in settings.nodes():
        _stop_node(node)


def _stop_node(node: Settings) -> None:
    name = "kafka" if node.kafka_brokers == 1 else f"kafka node {node.kafka_node}"
    pid = kafka_pid(node)
    if pid is None:
        say(f"{name}: not running")
        node.kafka_pid_file.unlink(missing_ok=True)
        return
    say(f"{name}: stopping pid {pid} ", end="")
    _signal(pid, signal.SIGTERM)
    if not wait_until(lambda: process_cmdline(pid) is None, KAFKA_STOP_TIMEOUT_S, dots=True):
        say(" (no clean exit, sending SIGKILL)", end="")
        _signal(pid, signal.SIGKILL)
        wait_until(lambda: process_cmdline(pid) is None, 10)
    say(" stopped")
    node.kafka_pid_file.unlink(missing_ok=True)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
