"""Settings and paths of the local stack: everything lives below one run folder."""

import dataclasses
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"
PG_SUPERUSER = "campaign"
PG_DATABASE = "campaign"
# A cluster's node k (1-based) listens on the first node's ports + NODE_PORT_STEP·(k-1).
NODE_PORT_STEP = 10
MAX_BROKERS = 5
# The PostgreSQL standby (`stack.py up --pg-standby`): how the primary waits for it, or that it was promoted.
STANDBY_MODES = ("async", "sync")
PROMOTED = "promoted"
STANDBY_APPLICATION_NAME = "campaign_standby"  # its name in pg_stat_replication and synchronous_standby_names


class StackError(Exception):
    """A failure with a message meant for the person at the terminal (no traceback needed)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """All knobs of the stack; built from the environment so tests/CI can relocate everything."""

    run_dir: Path
    kafka_port: int  # the first node's; node k's is ``node_port``
    kafka_controller_port: int
    pg_port: int
    # Kafka nodes (KRaft, each broker and controller in one process): 1, or 3 for a replicated cluster
    # (`stack.py up --brokers 3`). ``kafka_node`` is which one a per-node view (``nodes()``) speaks of.
    kafka_brokers: int = 1
    kafka_node: int = 1
    # A streaming-replication standby of the PostgreSQL (`up --pg-standby`, docs/operations.md): "" none,
    # "async" or "sync" (the primary's commits wait for it), "promoted" (it replaced the primary: `stack.py promote`).
    pg_standby: str = ""
    pg_standby_port: int = 0  # CAMPAIGN_PG_STANDBY_PORT, else the primary's port + 1
    # Which PostgreSQL server a per-server view (``pg_servers()``) speaks of: "primary" or "standby".
    pg_server: str = "primary"

    def pg_servers(self) -> "list[Settings]":
        """One view per PostgreSQL server of the stack (the primary, and the standby if it has one): its
        port, data, socket and log."""
        servers = ["primary", "standby"] if self.pg_standby else ["primary"]
        return [dataclasses.replace(self, pg_server=server) for server in servers]

    def pg_view(self, server: str) -> "Settings":
        return dataclasses.replace(self, pg_server=server)

    @property
    def pg_server_port(self) -> int:
        """The port of this view's server (``pg_port`` is always the primary's)."""
        return self.pg_standby_port if self.pg_server == "standby" else self.pg_port

    def nodes(self) -> "list[Settings]":
        """One view per Kafka node: its ports, storage, configuration, pid and log files."""
        return [dataclasses.replace(self, kafka_node=k) for k in range(1, self.kafka_brokers + 1)]

    @property
    def node_port(self) -> int:
        return self.kafka_port + NODE_PORT_STEP * (self.kafka_node - 1)

    @property
    def node_controller_port(self) -> int:
        return self.kafka_controller_port + NODE_PORT_STEP * (self.kafka_node - 1)

    def _node_name(self, base: str, suffix: str = "") -> str:
        """Node 1 keeps the single broker's names (a run folder from before clusters still works)."""
        return f"{base}{suffix}" if self.kafka_node == 1 else f"{base}-{self.kafka_node}{suffix}"

    @property
    def replication_factor(self) -> int:
        """Of the event topics and the internal ones: every node holds each partition, up to 3."""
        return min(3, self.kafka_brokers)

    @property
    def min_insync_replicas(self) -> int:
        """2 of 3: a write survives one broker's loss; with one broker left, produces are refused."""
        return 2 if self.replication_factor >= 3 else 1

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
        return self.kafka_dir / self._node_name("data")

    @property
    def kafka_props(self) -> Path:
        return self.kafka_dir / self._node_name("server", ".properties")

    @property
    def kafka_brokers_file(self) -> Path:
        """How many nodes the stack's Kafka was made with (`up --brokers N`)."""
        return self.kafka_dir / "brokers"

    @property
    def kafka_cluster_id_file(self) -> Path:
        return self.kafka_dir / "cluster.id"

    @property
    def pg_dir(self) -> Path:
        return self.run_dir / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / ("standby-data" if self.pg_server == "standby" else "data")

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_dir / ("standby-socket" if self.pg_server == "standby" else "socket")

    @property
    def pg_standby_file(self) -> Path:
        """Whether the stack's PostgreSQL has a standby, like ``kafka/brokers``: async, sync or promoted."""
        return self.pg_dir / "standby"

    @property
    def pg_replication_passfile(self) -> Path:
        """The standby's login to the primary (replication role), owned by the servers' OS user: next to their
        data, not among the services' password files (roles.sh makes a login role of each of those)."""
        return self.pg_dir / "replication.pgpass"

    @property
    def pg_promoted(self) -> bool:
        return self.pg_standby == PROMOTED

    @property
    def pg_serving_port(self) -> int:
        """Where the platform's database is: the primary's port, or the promoted standby's after a failover."""
        return self.pg_standby_port if self.pg_promoted else self.pg_port

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.run_dir / "pids"

    @property
    def kafka_pid_file(self) -> Path:
        return self.pids_dir / self._node_name("kafka", ".pid")

    @property
    def kafka_out(self) -> Path:
        return self.logs_dir / self._node_name("kafka", ".out")

    @property
    def kafka_logs_dir(self) -> Path:
        """Where the node's log4j writes kafka-server.log."""
        return self.logs_dir if self.kafka_node == 1 else self.logs_dir / self._node_name("kafka")

    @property
    def kafka_server_log(self) -> Path:
        return self.kafka_logs_dir / "kafka-server.log"

    @property
    def pg_log(self) -> Path:
        return self.logs_dir / ("postgres-standby.log" if self.pg_server == "standby" else "postgres.log")

    @property
    def maven_log(self) -> Path:
        return self.logs_dir / "maven.log"

    @property
    def lock_file(self) -> Path:
        return self.run_dir / "stack.lock"

    # -- connection settings handed to the application --
    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"{HOST}:{node.node_port}" for node in self.nodes())

    @property
    def controller_quorum_voters(self) -> str:
        return ",".join(f"{node.kafka_node}@{HOST}:{node.node_controller_port}" for node in self.nodes())



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
    settings = dataclasses.replace(settings, kafka_brokers=_brokers(environ, settings.kafka_brokers_file),
                                   pg_standby=_standby(environ, settings.pg_standby_file),
                                   pg_standby_port=_port_from_env(environ, "CAMPAIGN_PG_STANDBY_PORT",
                                                                  min(settings.pg_port + 1, 65535)))
    ports = [port for node in settings.nodes() for port in (node.node_port, node.node_controller_port)]
    ports.append(settings.pg_port)
    if settings.pg_standby:
        ports.append(settings.pg_standby_port)
    if len(set(ports)) != len(ports):
        raise StackError(f"the Kafka nodes' broker and controller ports and the PostgreSQL ports (primary, standby: "
                         f"CAMPAIGN_PG_PORT, CAMPAIGN_PG_STANDBY_PORT) must differ: {ports}"
                         f" (node k listens on CAMPAIGN_KAFKA_PORT/CAMPAIGN_KAFKA_CONTROLLER_PORT + {NODE_PORT_STEP}·(k-1))")
    if max(ports) > 65535:
        raise StackError(f"a Kafka node's port would be {max(ports)}: choose lower CAMPAIGN_KAFKA_* ports")
    return settings


def parse_brokers(raw: str, where: str) -> int:
    try:
        brokers = int(raw)
    except ValueError:
        raise StackError(f"{where}={raw!r} is not a number of brokers") from None
    if not 1 <= brokers <= MAX_BROKERS:
        raise StackError(f"{where}={brokers}: the local stack runs 1 to {MAX_BROKERS} Kafka brokers (3 for a cluster)")
    return brokers


def _brokers(environ, remembered: Path) -> int:
    """CAMPAIGN_KAFKA_BROKERS, else what `up --brokers N` remembered in the run folder, else 1."""
    raw = environ.get("CAMPAIGN_KAFKA_BROKERS", "").strip()
    if raw:
        return parse_brokers(raw, "CAMPAIGN_KAFKA_BROKERS")
    if remembered.is_file():
        return parse_brokers(remembered.read_text().strip(), str(remembered))
    return 1


def parse_standby(raw: str, where: str) -> str:
    value = raw.strip().lower()
    if value in ("", "0", "no", "none"):
        return ""
    if value in ("1", "yes"):
        return "async"
    if value not in (*STANDBY_MODES, PROMOTED):
        raise StackError(f"{where}={raw!r}: a PostgreSQL standby is one of {', '.join(STANDBY_MODES)} (or none)")
    return value


def _standby(environ, remembered: Path) -> str:
    """What the run folder remembers (``promoted`` always wins: the old primary's data is behind it), else
    CAMPAIGN_PG_STANDBY (`up --pg-standby` / `--pg-sync-standby` set it), else none."""
    kept = parse_standby(remembered.read_text(), str(remembered)) if remembered.is_file() else ""
    if kept == PROMOTED:
        return kept
    raw = environ.get("CAMPAIGN_PG_STANDBY", "")
    if raw.strip():
        value = parse_standby(raw, "CAMPAIGN_PG_STANDBY")
        if value == PROMOTED:
            raise StackError("CAMPAIGN_PG_STANDBY=promoted: only `stack.py promote` promotes the standby")
        return value
    return kept
