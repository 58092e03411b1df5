"""Kafka authentication in the local broker: SASL/SCRAM-SHA-512 principals (docs/security.md, "Kafka").

- Clients (and the broker's own inter-broker connections, as ``broker``) log in with SCRAM-SHA-512 on
  the SASL_PLAINTEXT listener; the controller listener takes SASL/PLAIN with one static user,
  ``controller`` (KRaft keeps SCRAM users in its metadata log, which the controller must read before
  anyone could log in with them). Both listen on 127.0.0.1 only, without TLS (production: SASL_SSL).
- Every principal of deploy/stack/processes.py gets its SCRAM credential when the storage is
  formatted (StorageTool --add-scram); a principal added or a password changed later is set with
  ConfigCommand over the admin's connection (the credential in a file, never on a command line).
  ``<run>/kafka/principals.json`` remembers what was set (a hash of each password) per cluster id.
  The admin's and the broker's own credentials are set only when the storage is formatted.
"""

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Dict, List

from .kafka_probe import Login
from .local_secrets import kafka_password, write_private
from .processes import KAFKA_ADMIN, kafka_principals
from .settings import REPO_ROOT, Settings, StackError
from .system import say, tail_text

BROKER = "broker"  # the broker's own inter-broker login
CONTROLLER = "controller"  # the broker's login to its controller listener (SASL/PLAIN)
SUPER_USERS = (KAFKA_ADMIN, BROKER, CONTROLLER)
MECHANISM = "SCRAM-SHA-512"
TOOLS_LOG4J = REPO_ROOT / "deploy" / "kafka" / "tools-log4j.properties"


def scram_principals() -> List[str]:
    return [BROKER, *(p for p in kafka_principals() if p != BROKER)]


def admin_login(settings: Settings) -> Login:
    return Login(KAFKA_ADMIN, kafka_password(settings, KAFKA_ADMIN), MECHANISM)


def _jaas(module: str, username: str, password: str, extra: str = "") -> str:
    return f'{module} required username="{username}" password="{password}"{extra};'


def auth_properties(settings: Settings) -> Dict[str, str]:
    """The SASL and authorizer part of server.properties (which therefore is written mode 600)."""
    return sasl_properties(kafka_password(settings, BROKER), kafka_password(settings, CONTROLLER))


def sasl_properties(broker: str, controller: str) -> Dict[str, str]:
    return {
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            _jaas("org.apache.kafka.common.security.scram.ScramLoginModule", BROKER, broker),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            _jaas("org.apache.kafka.common.security.plain.PlainLoginModule", CONTROLLER, controller,
                  f' user_{CONTROLLER}="{controller}"'),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": ";".join(f"User:{name}" for name in SUPER_USERS),
    }


def client_properties(settings: Settings, name: str) -> Path:
    """A client config for Kafka's Java tools as the admin (written mode 600)."""
    path = settings.run_dir / "secrets" / "kafka" / f"{name}.client.properties"
    write_private(path, admin_client_properties(kafka_password(settings, name)))
    return path


def admin_client_properties(password: str) -> str:
    lines = ["security.protocol=SASL_PLAINTEXT", f"sasl.mechanism={MECHANISM}",
             "sasl.jaas.config=" + _jaas("org.apache.kafka.common.security.scram.ScramLoginModule", KAFKA_ADMIN,
                                         password)]
    return "\n".join(lines) + "\n"


def _fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def scram_format_arguments(settings: Settings) -> List[str]:
    """StorageTool format arguments that bootstrap every principal's SCRAM credential.

    They carry the passwords on the command line of that one short run (on the first `up` of a
    run folder); docs/security.md says so."""
    arguments = []
    for principal in scram_principals():
        arguments += ["--add-scram", f"{MECHANISM}=[name={principal},password={kafka_password(settings, principal)}]"]
    return arguments


def _principals_file(settings: Settings) -> Path:
    return settings.kafka_dir / "principals.json"


def remember_principals(settings: Settings, cluster_id: str, principals: Dict[str, str]) -> None:
    _principals_file(settings).write_text(json.dumps({"cluster_id": cluster_id, "principals": principals},
                                                     indent=1, sort_keys=True) + "\n")


def formatted_principals(settings: Settings) -> Dict[str, str]:
    """principal -> password fingerprint, for what format bootstrapped."""
    return {p: _fingerprint(kafka_password(settings, p)) for p in scram_principals()}


def principals_set(settings: Settings, cluster_id: str) -> Dict[str, str]:
    """What was set on this cluster (empty for a storage formatted before authentication)."""
    try:
        known = json.loads(_principals_file(settings).read_text())
    except (OSError, ValueError):
        return {}
    return known.get("principals", {}) if known.get("cluster_id") == cluster_id else {}


def ensure_principals(settings: Settings, java_tool, cluster_id: str) -> None:
    """Set the SCRAM credential of every principal not set yet (or whose password file changed)."""
    done = principals_set(settings, cluster_id)
    wanted = formatted_principals(settings)
    missing = [p for p, fingerprint in wanted.items() if done.get(p) != fingerprint]
    if not missing:
        return
    bootstrapped = [p for p in missing if p in (KAFKA_ADMIN, BROKER)]
    if bootstrapped:
        raise StackError(f"kafka: the password of {', '.join(bootstrapped)} changed, but it is set only when the "
                         "storage is formatted: put the old password file back, or start from a fresh storage "
                         "(docs/security.md, \"Rotation\")")
    config = client_properties(settings, KAFKA_ADMIN)
    for principal in missing:
        credential = settings.run_dir / "secrets" / "kafka" / f"{principal}.scram.properties"
        write_private(credential, f"{MECHANISM}=password={kafka_password(settings, principal)}\n")
        try:
            result = java_tool("kafka.admin.ConfigCommand", "--bootstrap-server", settings.kafka_bootstrap,
                               "--command-config", str(config), "--alter", "--add-config-file", str(credential),
                               "--entity-type", "users", "--entity-name", principal)
        finally:
            credential.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"kafka: setting the SCRAM credential of {principal} failed:\n"
                             f"{tail_text(result.stdout + result.stderr)}")
        done[principal] = wanted[principal]
        remember_principals(settings, cluster_id, done)
    say(f"kafka: SCRAM credentials set for {', '.join(missing)}")


def formatted_before_authentication(settings: Settings, cluster_id: str) -> bool:
    """A storage formatted by a stack from before authentication: no SCRAM user at all."""
    return (settings.kafka_data / "meta.properties").is_file() and not principals_set(settings, cluster_id)


LEGACY_STORAGE = (
    "kafka: {data} was formatted before the broker required authentication (it has no SCRAM users), "
    "and a broker cannot be given its first users in place. Start from a fresh stack: stop everything "
    "(`make down`), remove the broker's storage AND the database (the event stores' outbox marks and the "
    "projections' stored offsets refer to the old topics): `rm -rf {data} {cluster_id} {pg}`, then "
    "`make up` (or scripts/run.sh, scripts/test.sh).")


def run_java_tool(settings: Settings, java: str):
    """A function that runs one of Kafka's Java tools (class name, arguments) to completion."""
    def run(main_class: str, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([java, "-Xmx256m", f"-Dlog4j.configuration=file:{TOOLS_LOG4J}",
                               "-cp", f"{settings.kafka_libs}/*", main_class, *arguments],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return run
