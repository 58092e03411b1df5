"""Settings and paths of the local stack: everything lives below one run folder."""

import dataclasses
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"
PG_SUPERUSER = "campaign"
PG_DATABASE = "campaign"


class StackError(Exception):
    """A failure with a message meant for the person at the terminal (no traceback needed)."""


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
