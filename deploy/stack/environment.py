"""The environment of each process: its database role, its Kafka principal, its secrets (as file paths).

``process_environment`` is what `stack.py env [--process NAME]` prints: a value for every variable the
process gets and ``None`` (unset) for every other credential variable, so that evaluating it in any
shell leaves exactly that process's credentials. ``Placement`` says where things are: on this machine
(the local stack) or in docker-compose's containers (deploy/stack/compose.py).
"""

import dataclasses
import os
import urllib.parse
from typing import Callable, Dict, Mapping, Optional

from .local_secrets import app_secret, app_secret_file, kafka_password_file, pg_passfile, pg_passfiles_dir
from .processes import APP_SECRETS, HTTP_APPS, LOGINS, OPERATOR, OWNER_ROLE, WORKER_PROCESSES, AppSecret
from .settings import HOST, PG_DATABASE, Settings, StackError

KAFKA_SECURITY_PROTOCOL = "SASL_PLAINTEXT"  # no TLS: loopback or the compose network; production SASL_SSL
KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"

# Every credential variable some process gets: the others' are unset.
CREDENTIAL_VARIABLES = (
    "CAMPAIGN_DATABASE_URL", "CAMPAIGN_DATABASE_PASSWORD_FILE", "CAMPAIGN_READ_DATABASE_URL", "CAMPAIGN_KAFKA_BOOTSTRAP",
    "CAMPAIGN_KAFKA_SECURITY_PROTOCOL", "CAMPAIGN_KAFKA_SASL_MECHANISM", "CAMPAIGN_KAFKA_USERNAME",
    "CAMPAIGN_KAFKA_PASSWORD_FILE", *(secret.variable for secret in APP_SECRETS))
# What names a worker (its heartbeat row): set for that worker only, unset for every other process.
WORKER_NAME_VARIABLE = "CAMPAIGN_WORKER_NAME"
TOPIC_REPLICATION_VARIABLE = "CAMPAIGN_TOPIC_REPLICATION_FACTOR"


@dataclasses.dataclass(frozen=True)
class Placement:
    database_url: Callable[[str], str]  # role -> URL
    database_password_file: Callable[[str], Optional[str]]  # role -> path (None: the URL's passfile)
    kafka_bootstrap: str
    kafka_password_file: Callable[[str], str]  # principal -> path
    app_secret_file: Callable[[AppSecret], str]
    app_secret_value: Callable[[AppSecret], str]
    # how many copies of each event topic the operator's `campaign topics` makes (3 on a cluster)
    topic_replication_factor: int = 1
    # role -> URL of the PostgreSQL standby the query endpoints may read from (None: no standby)
    read_database_url: Callable[[str], Optional[str]] = lambda role: None


def database_url(settings: Settings, role: str, port: Optional[int] = None) -> str:
    """A SQLAlchemy URL for ``role`` whose password libpq reads from the role's password file: the primary's
    (the promoted standby's after `stack.py promote`), or the server on ``port``."""
    passfile = urllib.parse.quote(str(pg_passfile(settings, role)), safe="/")
    return (f"postgresql+psycopg2://{role}@{HOST}:{port or settings.pg_serving_port}/{PG_DATABASE}"
            f"?passfile={passfile}")


def read_database_url(settings: Settings, role: str) -> Optional[str]:
    """The standby's URL for ``role`` (the roles and passwords are the primary's, replicated), while there is
    one that is not the primary itself."""
    if not settings.pg_standby or settings.pg_promoted:
        return None
    return database_url(settings, role, settings.pg_standby_port)


def local_placement(settings: Settings) -> Placement:
    return Placement(
        database_url=lambda role: database_url(settings, role), database_password_file=lambda role: None,
        kafka_bootstrap=settings.kafka_bootstrap,
        kafka_password_file=lambda principal: str(kafka_password_file(settings, principal)),
        app_secret_file=lambda secret: str(app_secret_file(settings, secret)),
        app_secret_value=lambda secret: app_secret(settings, secret),
        topic_replication_factor=settings.replication_factor,
        read_database_url=lambda role: read_database_url(settings, role))


def process_environment(settings: Settings, process: str = OPERATOR, inherited: Optional[Mapping[str, str]] = None,
                        placement: Optional[Placement] = None) -> Dict[str, Optional[str]]:
    """Variable -> value (None: unset) for ``process``. A secret still exported as a value that is set in
    ``inherited`` already (an operator's own) is kept as it is, as before."""
    if process not in LOGINS:
        raise StackError(f"unknown process {process!r}; one of: {', '.join(LOGINS)}")
    inherited = os.environ if inherited is None else inherited
    credentials = LOGINS[process]
    if placement is None:
        made_by_up = pg_passfiles_dir(settings) / f"{OWNER_ROLE}.pgpass"
        if not made_by_up.is_file():
            raise StackError(f"no credentials under {made_by_up.parent.parent}: `python3 deploy/stack.py up` makes "
                             "them (is CAMPAIGN_RUN_DIR the stack's run folder?)")
        placement = local_placement(settings)
    environment: Dict[str, Optional[str]] = {name: None for name in CREDENTIAL_VARIABLES}
    environment[WORKER_NAME_VARIABLE] = process if process in WORKER_PROCESSES else None
    # the operator makes the topics: as many copies as the cluster has nodes, up to 3
    environment[TOPIC_REPLICATION_VARIABLE] = str(placement.topic_replication_factor) if process == OPERATOR else None
    if credentials.db_role is not None:
        environment.update({
            "CAMPAIGN_DATABASE_URL": placement.database_url(credentials.db_role),
            "CAMPAIGN_DATABASE_PASSWORD_FILE": placement.database_password_file(credentials.db_role)})
        if process in HTTP_APPS or process == OPERATOR:  # the query endpoints; writers and workers: the primary only
            environment["CAMPAIGN_READ_DATABASE_URL"] = placement.read_database_url(credentials.db_role)
    if credentials.kafka_principal is not None:
        environment.update({
            "CAMPAIGN_KAFKA_BOOTSTRAP": placement.kafka_bootstrap,
            "CAMPAIGN_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
            "CAMPAIGN_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
            "CAMPAIGN_KAFKA_USERNAME": credentials.kafka_principal,
            "CAMPAIGN_KAFKA_PASSWORD_FILE": placement.kafka_password_file(credentials.kafka_principal)})
    for secret in APP_SECRETS:
        if process not in secret.processes:
            continue
        if secret.as_value:
            environment[secret.variable] = inherited.get(secret.variable) or placement.app_secret_value(secret)
        else:
            environment[secret.variable] = placement.app_secret_file(secret)
    return environment
