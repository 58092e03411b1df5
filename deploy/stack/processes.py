"""Every process of the platform and the credentials it gets: the one table to change.

A process (named as scripts/services.sh and docker-compose.yml name it) gets exactly one PostgreSQL
login role, one Kafka principal, and the application secrets whose row in ``APP_SECRETS`` names it.
``python3 deploy/stack.py env --process NAME`` prints that and nothing more; ``env`` without
``--process`` is the operator's (and the tests') environment: the owner role and the Kafka admin.

What each role may do in PostgreSQL is granted by ``campaign migrate`` (services/platform_core/db_roles.py);
what each principal may do in Kafka is ``KAFKA_ACCESS`` (deploy/stack/kafka_access.py).
"""

import base64
import dataclasses
import secrets
from pathlib import Path
from typing import Callable, FrozenSet, Optional, Tuple

from .platform_services import INTAKE_DEPARTMENTS, SERVICE_NAMES
from .token_keys import ISSUER_KEY_FILE, PUBLIC_KEYS_FILE, new_issuer_key, public_key_set

OPERATOR = "operator"  # the operator's shell and the tests: `stack.py env` without --process

OWNER_ROLE = "campaign_owner"  # runs the migrations and owns the schemas; never a running process's role
KAFKA_ADMIN = "admin"  # topic set-up, tests' scratch topics, benchmarks; a Kafka super user


@dataclasses.dataclass(frozen=True)
class Process:
    db_role: Optional[str]  # PostgreSQL login role (None: it reaches no database)
    kafka_principal: Optional[str]  # Kafka SCRAM user (None: it reaches no broker)


PROCESSES = {
    OPERATOR: Process(OWNER_ROLE, KAFKA_ADMIN),
    "registry": Process("campaign_registry", "registry"),
    "registry-relay": Process("campaign_registry", "registry-relay"),
    # the registry's Kafka intake (docs/intake.md): departments' commands, outcomes to intake.<department>.results
    "registry-consumer": Process("campaign_registry", "registry-consumer"),
    "membership": Process("campaign_membership", "membership"),
    "membership-relay": Process("campaign_membership", "membership-relay"),
    "membership-consumer": Process("campaign_membership", "membership-consumer"),
    "formation": Process("campaign_formation", "formation"),
    "formation-relay": Process("campaign_formation", "formation-relay"),
    "formation-consumer": Process("campaign_formation", "formation-consumer"),
    "reporting": Process("campaign_reporting", "reporting"),
    "reporting-relay": Process("campaign_reporting", "reporting-relay"),
    # the audit appender (`campaign consume reporting --projection audit-log`): appends the Merkle log,
    # stores checkpoints (INSERT only on the audit tables)
    "reporting-consumer": Process("campaign_audit", "reporting-consumer"),
    # the coverage projections (`campaign consume reporting --projection coverage`): reporting's own tables
    "reporting-processor": Process("campaign_reporting", "reporting-processor"),
    # the detectors' signals (`campaign consume reporting --projection signals`): reporting's own tables
    "reporting-signals": Process("campaign_reporting", "reporting-signals"),
    # the audit log's signer and its witness: keys and records of their own, no database, no broker
    # (docs/audit.md): whoever holds the database cannot make them sign a rewritten log
    "audit-signer": Process(None, None),
    "audit-witness": Process(None, None),
}

# The long-running workers (relays, consumers): each is named by CAMPAIGN_WORKER_NAME, so that it keeps a
# heartbeat its service's /readyz watches (services/platform_core/workers.py).
WORKER_PROCESSES = frozenset(name for name in PROCESSES
                             if name.rsplit("-", 1)[-1] in ("relay", "consumer", "processor", "signals"))

# Departments' systems writing commands to their own intake topic (docs/intake.md): not processes of the
# platform, a Kafka login and nothing else (`stack.py env --process intake-<department>` prints it).
DEPARTMENT_SYSTEMS = {d.kafka_principal: Process(None, d.kafka_principal) for d in INTAKE_DEPARTMENTS}
LOGINS = {**PROCESSES, **DEPARTMENT_SYSTEMS}

HTTP_APPS = SERVICE_NAMES  # each service's HTTP app is a process named after it


def _token(_folder: Path) -> str:
    return secrets.token_urlsafe(32)


def _ed25519_seed(_folder: Path) -> str:
    """An Ed25519 private key is any 32 random bytes; kept as base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclasses.dataclass(frozen=True)
class AppSecret:
    """An application secret: a file under <run>/secrets, and the processes that may read it."""

    file: str
    variable: str  # the setting: the file's path (…_FILE), or for ``as_value`` the secret itself
    make: Callable[[Path], str]  # the file's text, given the folder it is made in (keys may derive from others)
    processes: FrozenSet[str]
    # Secrets some services still read from the variable's value: exported as values until they read key
    # files (then: a …_FILE variable, and as_value=False).
    as_value: bool = False


# The process -> secret table. Production sets these variables (or files) itself; locally they are
# made once per run folder, mode 600.
APP_SECRETS: Tuple[AppSecret, ...] = (
    # department tokens: the issuer's private key (the operator's `campaign token`, the demo simulator) and the
    # public keys every HTTP app checks them with
    AppSecret(ISSUER_KEY_FILE, "CAMPAIGN_TOKEN_ISSUER_KEY_FILE", new_issuer_key, frozenset({OPERATOR})),
    AppSecret(PUBLIC_KEYS_FILE, "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", public_key_set, frozenset({OPERATOR, *HTTP_APPS})),
    # the registry's master key ring for entity persons (a file, one secret per line): the registry and its intake
    AppSecret("registry-personal-data-key", "CAMPAIGN_REGISTRY_PERSONAL_DATA_KEY_FILE", _token,
              frozenset({OPERATOR, "registry", "registry-consumer"})),
    # seals members' personal data: membership only
    AppSecret("personal-data-key", "CAMPAIGN_PERSONAL_DATA_KEY", _token, frozenset({OPERATOR, "membership", "membership-consumer"}),
              as_value=True),
    # signs audit checkpoints: the signer process alone
    AppSecret("audit-signing-key", "CAMPAIGN_AUDIT_SIGNING_KEY_FILE", _ed25519_seed, frozenset({"audit-signer"})),
    # what reporting presents to the signer: the signer, reporting's app (bulletins, POST /audit/checkpoints), its
    # consumer (the checkpoint schedule) and the operator (`reporting.audit.sign`, tests)
    AppSecret("signer-client-secret", "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE", _token,
              frozenset({OPERATOR, "audit-signer", "reporting", "reporting-consumer"})),
    # the witness's own cosigning key
    AppSecret("witness-key", "CAMPAIGN_WITNESS_KEY_FILE", _ed25519_seed, frozenset({"audit-witness"})),
)


def db_roles() -> Tuple[str, ...]:
    """Every PostgreSQL login role, the owner first."""
    roles = [OWNER_ROLE]
    for process in PROCESSES.values():
        if process.db_role is not None and process.db_role not in roles:
            roles.append(process.db_role)
    return tuple(roles)


def kafka_principals() -> Tuple[str, ...]:
    return tuple(process.kafka_principal for process in LOGINS.values() if process.kafka_principal is not None)
