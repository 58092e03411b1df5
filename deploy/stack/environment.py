"""The environment of each process: its database role, its Kafka principal, its secrets (as file paths).

``process_environment`` is what `stack.py env [--process NAME]` prints: a value for every variable the
process gets and ``None`` (unset) for every other credential variable, so that evaluating it in any
shell leaves exactly that process's credentials.
"""

import os
import urllib.parse
from typing import Dict, Mapping, Optional

from .local_secrets import app_secret, app_secret_file, kafka_password_file, pg_passfile, pg_passfiles_dir
from .processes import APP_SECRETS, OPERATOR, PROCESSES
from .settings import HOST, PG_DATABASE, Settings, StackError

KAFKA_SECURITY_PROTOCOL = "SASL_PLAINTEXT"  # loopback only; production: SASL_SSL (docs/security.md)
KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"

# Every credential variable some process gets: the others' are unset.
CREDENTIAL_VARIABLES = (
    "CAMPAIGN_DATABASE_URL", "CAMPAIGN_KAFKA_BOOTSTRAP", "CAMPAIGN_KAFKA_SECURITY_PROTOCOL",
    "CAMPAIGN_KAFKA_SASL_MECHANISM", "CAMPAIGN_KAFKA_USERNAME", "CAMPAIGN_KAFKA_PASSWORD_FILE",
    *(secret.variable for secret in APP_SECRETS))


def database_url(settings: Settings, role: str, host: str = HOST, port: Optional[int] = None,
                 passfile: Optional[str] = None) -> str:
    """A SQLAlchemy URL for ``role`` whose password libpq reads from the role's password file."""
    passfile = passfile or str(pg_passfile(settings, role))
    return (f"postgresql+psycopg2://{role}@{host}:{port or settings.pg_port}/{PG_DATABASE}"
            f"?passfile={urllib.parse.quote(passfile, safe='/')}")


def process_environment(settings: Settings, process: str = OPERATOR,
                        inherited: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    """Variable -> value (None: unset) for ``process``. A legacy secret already set in ``inherited``
    (an operator's own value) is kept as it is, as before."""
    if process not in PROCESSES:
        raise StackError(f"unknown process {process!r}; one of: {', '.join(PROCESSES)}")
    inherited = os.environ if inherited is None else inherited
    credentials = PROCESSES[process]
    made_by_up = pg_passfiles_dir(settings) / f"{credentials.db_role}.pgpass"
    if not made_by_up.is_file():
        raise StackError(f"no credentials under {made_by_up.parent.parent}: `python3 deploy/stack.py up` makes them "
                         "(is CAMPAIGN_RUN_DIR the stack's run folder?)")
    environment: Dict[str, Optional[str]] = {name: None for name in CREDENTIAL_VARIABLES}
    environment.update({
        "CAMPAIGN_DATABASE_URL": database_url(settings, credentials.db_role),
        "CAMPAIGN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CAMPAIGN_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
        "CAMPAIGN_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
        "CAMPAIGN_KAFKA_USERNAME": credentials.kafka_principal,
        "CAMPAIGN_KAFKA_PASSWORD_FILE": str(kafka_password_file(settings, credentials.kafka_principal)),
    })
    for secret in APP_SECRETS:
        if process not in secret.processes:
            continue
        if secret.as_value:
            environment[secret.variable] = inherited.get(secret.variable) or app_secret(settings, secret)
        else:
            environment[secret.variable] = str(app_secret_file(settings, secret))
    return environment
