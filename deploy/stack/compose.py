"""`python3 deploy/stack.py compose`: what docker-compose.yml needs from the one table (processes.py).

Writes under <repo>/.run/compose (its own passwords, not the local stack's):
- ``secrets/``: one file per secret, mounted into the containers that need it (docker-compose.yml lists
  them per service): ``<role>.password`` (a process's database password, CAMPAIGN_DATABASE_PASSWORD_FILE),
  ``<role>.pgpass`` (the same, for deploy/postgres/roles.sh in the postgres container),
  ``kafka-<principal>.password``, the application secrets that are files, ``postgres-superuser.password``.
  Compose mounts a file as it is on the host (it cannot change a mount's owner), so the files are
  readable by all (0444) inside a folder only the operator may enter (0700).
- ``env/<process>.env``: that process's variables, as `stack.py env --process` gives them, with the
  containers' host names and /run/secrets paths.
- ``kafka/``: the broker's server.properties, ``start.sh`` (format with every principal's SCRAM
  credential, then start) and ``acls.sh`` (the ACLs of kafka_access.py), mounted into the kafka containers.

`compose --brokers 3` writes them for docker-compose.yml's ``cluster`` profile instead: three KRaft nodes
(``kafka``, ``kafka-2``, ``kafka-3``; ``server-k.properties`` each), topics with 3 copies and
``min.insync.replicas=2``, every process's bootstrap naming all three. The folder remembers how many
(``kafka/brokers``), as the local stack's run folder does: a formatted cluster keeps its controllers.
"""

import base64
import os
import secrets
import shlex
from pathlib import Path
from typing import List

from .environment import Placement, process_environment
from .kafka_config import server_properties
from .kafka_access import acl_command_batches, bindings
from .kafka_auth import BROKER, CONTROLLER, MECHANISM, admin_client_properties, sasl_properties, scram_principals
from .local_secrets import new_password, stored_secret
from .processes import APP_SECRETS, KAFKA_ADMIN, OPERATOR, PROCESSES, db_roles
from .settings import MAX_BROKERS, REPO_ROOT, Settings, StackError, parse_brokers
from .system import say

COMPOSE_DIR = REPO_ROOT / ".run" / "compose"
CONTAINER_SECRETS = "/run/secrets"
KAFKA_MOUNT = "/opt/campaign-kafka"  # where the kafka containers see COMPOSE_DIR/kafka
KAFKA_HOST, KAFKA_PORT, KAFKA_CONTROLLER_PORT = "kafka", 9092, 9093
PG_HOST, PG_PORT = "postgres", 5432


def _secret(name: str, make=new_password) -> str:
    path = COMPOSE_DIR / "secrets" / name
    value = stored_secret(path, make)
    path.chmod(0o444)
    return value


def _password(role: str) -> str:
    """A role's database password, in both files the containers read."""
    password = _secret(f"{role}.password")
    pgpass = COMPOSE_DIR / "secrets" / f"{role}.pgpass"
    _write(pgpass, f"*:*:*:{role}:{password}\n", 0o444)
    return password


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(mode)


def service_secrets(process: str) -> List[str]:
    """The secret files docker-compose.yml must mount into ``process``'s container, and no others."""
    credentials = PROCESSES[process]
    files = ([f"{credentials.db_role}.password"] if credentials.db_role else []) + (
        [f"kafka-{credentials.kafka_principal}.password"] if credentials.kafka_principal else [])
    if process == OPERATOR:  # the one-shot containers (topics, migrate) need no application secret
        return files
    return files + [secret.file for secret in APP_SECRETS if process in secret.processes and not secret.as_value]


def kafka_host(node: int) -> str:
    """Node 1 is the single broker's ``kafka`` (the default profile's); the cluster profile adds kafka-2, kafka-3."""
    return KAFKA_HOST if node == 1 else f"{KAFKA_HOST}-{node}"


def kafka_properties_file(node: int) -> str:
    return "server.properties" if node == 1 else f"server-{node}.properties"


def placement(brokers: int = 1) -> Placement:
    return Placement(
        database_url=lambda role: f"postgresql+psycopg2://{role}@{PG_HOST}:{PG_PORT}/campaign",
        database_password_file=lambda role: f"{CONTAINER_SECRETS}/{role}.password",
        kafka_bootstrap=",".join(f"{kafka_host(k)}:{KAFKA_PORT}" for k in range(1, brokers + 1)),
        kafka_password_file=lambda principal: f"{CONTAINER_SECRETS}/kafka-{principal}.password",
        app_secret_file=lambda secret: f"{CONTAINER_SECRETS}/{secret.file}",
        app_secret_value=lambda secret: _secret(secret.file, lambda: secret.make(COMPOSE_DIR / "secrets")),
        topic_replication_factor=min(3, brokers))


def compose_brokers(requested: int | None) -> int:
    """``--brokers``, else what the folder was written for, else 1; another number than a written cluster's is
    refused (its nodes' storage keeps the controllers it was formatted with)."""
    remembered = COMPOSE_DIR / "kafka" / "brokers"
    written = parse_brokers(remembered.read_text().strip(), str(remembered)) if remembered.is_file() else None
    if requested is not None and written is not None and requested != written:
        raise StackError(f"{COMPOSE_DIR} was written for {written} broker(s), not {requested}. A KRaft cluster keeps its "
                         f"controllers: `docker-compose down -v` (removes the brokers' volumes AND the database's), "
                         f"`rm {remembered}`, then `compose --brokers {requested}` again.")
    brokers = requested or written or 1
    if brokers not in (1, 3):
        raise StackError(f"docker-compose.yml runs 1 broker or the cluster profile's 3, not {brokers} (of {MAX_BROKERS})")
    return brokers


def _kafka_files(brokers: int) -> None:
    folder = COMPOSE_DIR / "kafka"
    passwords = {p: _secret(f"kafka-{p}.password") for p in (*scram_principals(), CONTROLLER)}
    voters = ",".join(f"{k}@{kafka_host(k)}:{KAFKA_CONTROLLER_PORT}" for k in range(1, brokers + 1))
    replication = min(3, brokers)
    for node in range(1, brokers + 1):
        properties = server_properties("0.0.0.0", kafka_host(node), KAFKA_PORT, KAFKA_CONTROLLER_PORT,
                                       "/var/lib/kafka/data", sasl_properties(passwords[BROKER], passwords[CONTROLLER]),
                                       node_id=node, voters=voters, replication_factor=replication,
                                       min_insync_replicas=2 if replication >= 3 else 1)
        _write(folder / kafka_properties_file(node), properties, 0o444)
    _write(folder / "brokers", f"{brokers}\n", 0o444)
    _write(folder / "admin.properties", admin_client_properties(passwords[KAFKA_ADMIN]), 0o444)
    id_file = folder / "cluster.id"
    if not id_file.is_file():
        _write(id_file, base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=") + "\n", 0o444)
    cluster_id = id_file.read_text().strip()
    scram = " ".join(f"--add-scram {shlex.quote(f'{MECHANISM}=[name={p},password={passwords[p]}]')}"
                     for p in scram_principals())
    _write(folder / "start.sh", (
        "#!/bin/bash\n# Generated by `python3 deploy/stack.py compose`: format once (every principal's SCRAM\n"
        "# credential), then start the broker. $1: the node's properties (a cluster's node k: server-k.properties).\n"
        "set -euo pipefail\n"
        "properties=" + KAFKA_MOUNT + "/${1:-server.properties}\n"
        f"/opt/kafka/bin/kafka-storage.sh format -t {cluster_id} -c \"$properties\" --ignore-formatted {scram}\n"
        'exec /opt/kafka/bin/kafka-server-start.sh "$properties"\n'), 0o555)
    admin = f"--bootstrap-server {KAFKA_HOST}:{KAFKA_PORT} --command-config {KAFKA_MOUNT}/admin.properties"
    acls = "".join(f"/opt/kafka/bin/kafka-acls.sh {admin} --add {' '.join(arguments)}\n"
                   for arguments in acl_command_batches(bindings()))
    _write(folder / "acls.sh", "#!/bin/bash\n# Generated by `python3 deploy/stack.py compose`: the ACLs of "
                               "deploy/stack/kafka_access.py.\nset -euo pipefail\n" + acls, 0o555)


def write_compose_files(settings: Settings, brokers: int | None = None) -> Path:
    """Idempotent: passwords are made once and kept; everything else is rewritten from the table. ``brokers``:
    3 for the cluster profile (default: what the folder was written for, else 1)."""
    brokers = compose_brokers(brokers)
    (COMPOSE_DIR / "secrets").mkdir(parents=True, exist_ok=True)
    os.chmod(COMPOSE_DIR / "secrets", 0o700)
    os.chmod(COMPOSE_DIR, 0o700)
    for role in db_roles():
        _password(role)
    _secret("postgres-superuser.password")
    for secret in APP_SECRETS:
        _secret(secret.file, lambda: secret.make(COMPOSE_DIR / "secrets"))
    _kafka_files(brokers)
    where = placement(brokers)
    for process in PROCESSES:
        environment = process_environment(settings, process, inherited={}, placement=where)
        lines = ["# Generated by `python3 deploy/stack.py compose` (deploy/stack/processes.py)",
                 *(f"{name}={value}" for name, value in environment.items() if value is not None)]
        _write(COMPOSE_DIR / "env" / f"{process}.env", "\n".join(lines) + "\n", 0o600)
    return COMPOSE_DIR


def cmd_compose(settings: Settings, brokers: int | None = None) -> int:
    folder = write_compose_files(settings, brokers)
    cluster = (COMPOSE_DIR / "kafka" / "brokers").read_text().strip() == "3"
    brokers_named = "three brokers'" if cluster else "broker's"
    say(f"docker-compose files written under {folder} (secrets, one env file per process, the "
        f"{brokers_named} set-up); now: docker-compose "
        f"{'--profile cluster ' if cluster else ''}up -d (the operator's environment: "
        f"{folder / 'env' / (OPERATOR + '.env')})")
    return 0
