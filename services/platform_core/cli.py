"""Operator command line: topics, migrations, the outbox relay, projections, tokens.

    campaign topics            create the event and dead-letter topics
    campaign migrate [SVC...]  apply each service's schema migrations and grant its roles (the owner role)
    campaign relay SVC         run a service's outbox relay until SIGTERM
    campaign consume SVC       run a service's projection consumers (and its Kafka intake) until SIGTERM
    campaign intake send FILE.jsonl --department NAME
                               send commands to the Kafka intake as CloudEvents and wait for their outcomes
    campaign token KIND ...    issue a department token (Ed25519, CAMPAIGN_TOKEN_ISSUER_KEY_FILE)
    campaign token-keys rotate|retire KID|list
                               a new issuer key (its public key joins the set), retire an old one
    campaign rotate-personal-data-key SVC   re-wrap SVC's data keys and recompute its keyed hashes
"""

import contextlib
import json
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from .db import create_db_engine, migrate
from .heap import freeze_startup_heap
from .kafka_io import create_producer, ensure_topics, when_reachable
from .logs import configure_logging
from .metrics import serve_worker_metrics
from .outbox_relay import OutboxRelay
from .workers import WorkerHeartbeat
from .service import service_migrations
from .services import SERVICE_NAMES, load_bootstrap
from .settings import get_settings

app = typer.Typer(help="Operate the campaign platform.", no_args_is_help=True)
log = logging.getLogger("campaign")


def _check_service(service: str) -> str:
    if service not in SERVICE_NAMES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICE_NAMES)}")
    return service


@app.command()
def topics() -> None:
    """Create the event topics, the intake's topics (docs/intake.md) and the dead-letter topic when missing."""
    from .intake.departments import INTAKE_RETENTION_MS, intake_topics, load_intake_departments
    from .services import EVENT_TOPICS

    settings = get_settings()
    intake = intake_topics(load_intake_departments(settings.intake_departments_file))
    created = ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, (*EVENT_TOPICS, *intake),
                            {topic: {"retention.ms": str(INTAKE_RETENTION_MS)} for topic in intake},
                            replication_factor=settings.topic_replication_factor)
    typer.echo(f"topics created: {', '.join(created) if created else 'none (all present)'}")


@app.command("migrate")
def migrate_command(services: Annotated[list[str] | None, typer.Argument()] = None,
                    schema: Annotated[str | None, typer.Option(
                        help="a second instance's schema (one service only, e.g. CAMPAIGN_REPORTING_SCHEMA)")] = None
                    ) -> None:
    """Apply the schema migrations of the named services (all when none is named) and grant each
    service's roles their privileges (docs/security.md). Run it with the owner's environment."""
    from .db_roles import create_role_tables, grant_service_roles, missing_roles

    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=1, password_file=settings.database_password_file)
    services = services or list(SERVICE_NAMES)
    if schema is not None and len(services) != 1:
        raise typer.BadParameter("--schema names the schema of one service")
    with engine.connect() as conn:
        missing = missing_roles(conn)
    if missing:
        raise typer.BadParameter(f"the database lacks the roles {', '.join(missing)}: create them with "
                                 "deploy/postgres/roles.sh (docs/security.md)")
    for service in services:
        target = schema or _check_service(service)
        applied = migrate(engine, target, service_migrations(service))
        with engine.begin() as conn:
            grant_service_roles(conn, service, target)
            create_role_tables(conn, service, target)
        typer.echo(f"{service}: {len(applied)} migration(s) applied to {target}, roles granted")


def named_worker(engine, schema: str):
    """The worker's heartbeat when the deployment named it (platform_core.workers), else nothing."""
    settings = get_settings()
    if not settings.worker_name:
        return contextlib.nullcontext()
    return WorkerHeartbeat(engine, schema, settings.worker_name, every=settings.worker_heartbeat_s)


@app.command()
def relay(service: Annotated[str, typer.Argument(callback=_check_service)],
          schema: Annotated[str | None, typer.Option(
              help="the outbox of a second instance over another schema (e.g. CAMPAIGN_REPORTING_SCHEMA)")] = None
          ) -> None:
    """Publish SERVICE's outbox to Kafka until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    configure_logging(f"{service}-relay", settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url, pool_size=2, password_file=settings.database_password_file)
    schema = schema or service
    # The relay may start before the service's app: make sure the outbox it reads exists.
    migrate(engine, schema, service_migrations(service))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve_worker_metrics(settings.metrics_port, settings.metrics_host)
    producer = when_reachable(lambda: create_producer(settings.kafka_bootstrap, client_id=f"{service}-outbox-relay"),
                              stop, f"{service}'s relay")
    if producer is None:
        return
    freeze_startup_heap()
    try:
        with named_worker(engine, schema):
            OutboxRelay(engine, schema, producer).run(stop)
    finally:
        producer.close(timeout=10)
        engine.dispose()


@app.command()
def consume(service: Annotated[str, typer.Argument(callback=_check_service)],
            projection: Annotated[list[str] | None, typer.Option(
                help="run only this projection (repeatable); default: every projection of SERVICE")] = None) -> None:
    """Run SERVICE's projection consumers (its bootstrap's ``build_projections``) until stopped."""
    from .projection_consumer import ProjectionFailed, run_projections

    settings = get_settings()
    configure_logging(f"{service}-consumer", settings.log_level, settings.log_format)
    bootstrap = load_bootstrap(service)
    context = bootstrap.build_context()
    context.migrate()
    specs = bootstrap.build_projections(context) if hasattr(bootstrap, "build_projections") else []
    if not specs:
        typer.echo(f"{service} has no projections to run")
        return
    if projection:
        unknown = sorted(set(projection) - {spec.name for spec in specs})
        if unknown:
            raise typer.BadParameter(f"{service} has no projection {', '.join(unknown)}; its projections: "
                                     f"{', '.join(spec.name for spec in specs)}", param_hint="--projection")
        specs = [spec for spec in specs if spec.name in projection]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve_worker_metrics(settings.metrics_port, settings.metrics_host)
    freeze_startup_heap()
    # the context's schema: a second instance (CAMPAIGN_REPORTING_SCHEMA) keeps its offsets in its own
    try:
        with named_worker(context.engine, context.schema):
            run_projections(context.engine, settings.kafka_bootstrap, context.schema, specs, stop)
    except ProjectionFailed as exc:
        typer.echo(f"{service}: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("rotate-personal-data-key")
def rotate_personal_data_key(service: Annotated[str, typer.Argument(callback=_check_service)]) -> None:
    """After a new master key was put first in SERVICE's key ring: re-wrap every data key with it and recompute
    the keyed hashes SERVICE keeps; then the old key can leave the ring (docs/security.md, "Key rotation")."""
    bootstrap = load_bootstrap(service)
    if not hasattr(bootstrap, "rotate_personal_data_key"):
        raise typer.BadParameter(f"{service} holds no personal data under a master key")
    context = bootstrap.build_context()
    context.migrate()
    for what, count in bootstrap.rotate_personal_data_key(context).items():
        typer.echo(f"{service}: {count} {what}")


@app.command()
def token(kind: Annotated[str, typer.Argument(help="department kind, e.g. district_org, inspector")],
          user: Annotated[str, typer.Option(help="the person the token is for")] = "operator",
          territory: Annotated[str | None, typer.Option(
              help="GB/T 2260 code the department covers: required for district_org (a district) and "
                   "street_office (a street, township or park)")] = None,
          sector: Annotated[list[str] | None, typer.Option(help="sector(s) the department verifies")] = None,
          days: Annotated[int, typer.Option(min=1, max=366)] = 180) -> None:
    """Print a token for a department, signed with the issuer's key (give it to that department's system)."""
    from datetime import timedelta

    from .auth import PERMISSIONS, Principal, territory_level_problem
    from .reference import load_territory
    from .tokens import issuer_from_settings

    if kind not in PERMISSIONS:
        raise typer.BadParameter(f"unknown department kind {kind!r}; one of {', '.join(PERMISSIONS)}",
                                 param_hint="KIND")
    if problem := territory_level_problem(kind, territory, load_territory()):
        raise typer.BadParameter(problem, param_hint="--territory")
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department=department, kind=kind, user=user, territory=territory,
                          sectors=tuple(sector or ()))
    typer.echo(_issuer(issuer_from_settings).issue(principal, timedelta(days=days)))


def _issuer(load):
    try:
        return load()
    except RuntimeError as exc:
        typer.echo(f"campaign: {exc}", err=True)
        raise typer.Exit(2) from None


intake_app = typer.Typer(help="The Kafka intake (docs/intake.md): send commands as a department's system.",
                         no_args_is_help=True)
app.add_typer(intake_app, name="intake")


@intake_app.command("send")
def intake_send(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, one command a line")],
                department: Annotated[str, typer.Option(help="the intake department, e.g. district-420102")],
                outcomes: Annotated[Path | None, typer.Option(help="write every outcome here (JSON Lines)")] = None,
                timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for the outcomes")] = 120.0) -> None:
    """Send FILE's commands to intake.DEPARTMENT and wait for each one's outcome on intake.<department>.results. Run it with
    the department's Kafka login (locally: eval "$(python3 deploy/stack.py env --process intake-DEPARTMENT)")."""
    from rich.progress import Progress

    from .intake.client import CommandFileError, read_commands, send_and_wait
    from .intake.departments import load_intake_departments

    known = {d.name: d for d in load_intake_departments(get_settings().intake_departments_file)}
    if department not in known:
        raise typer.BadParameter(f"unknown intake department {department!r}; one of {', '.join(known)}",
                                 param_hint="--department")
    try:
        commands = read_commands(file, known[department])
    except CommandFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    with Progress() as bar:
        tasks = {"sent": bar.add_task("sent", total=len(commands)),
                 "answered": bar.add_task("answered", total=len(commands))}
        sent = send_and_wait(known[department], commands, timeout, lambda stage, n: bar.update(tasks[stage], completed=n))
    if outcomes is not None:
        with outcomes.open("w", encoding="utf-8") as handle:
            for command in commands:
                if command.id in sent.outcomes:
                    handle.write(json.dumps(sent.outcomes[command.id], ensure_ascii=False) + "\n")
    summary = ", ".join(f"{status} {n}" for status, n in sorted(sent.counts().items())) or "none"
    typer.echo(f"{len(commands)} commands sent to intake.{department}; outcomes: {summary}")
    for command in commands:
        outcome = sent.outcomes.get(command.id)
        if outcome is not None and outcome["status"] != "accepted":
            typer.echo(f"  {command.id}: {outcome['status']}: "
                       f"{outcome.get('error', {}).get('message') or outcome.get('reason')}")
    if sent.waiting:
        typer.echo(f"{len(sent.waiting)} commands got no outcome within {timeout:.0f} s (is `campaign consume` "
                   "running?); send the same file again: the ce_ids make it safe", err=True)
        raise typer.Exit(1)


keys_app = typer.Typer(help="The issuer's Ed25519 token keys: rotate, retire, list.", no_args_is_help=True)
app.add_typer(keys_app, name="token-keys")


def _key_files() -> tuple[Path, Path]:
    settings = get_settings()
    if settings.token_issuer_key_file is None or settings.token_public_keys_file is None:
        typer.echo("campaign: set CAMPAIGN_TOKEN_ISSUER_KEY_FILE and CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE", err=True)
        raise typer.Exit(2)
    return settings.token_issuer_key_file, settings.token_public_keys_file


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a key file)."""
    partial = path.with_name(f".{path.name}.new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


@keys_app.command("rotate")
def rotate_keys() -> None:
    """A new issuer key: its public key joins the set first, then it replaces the private key file.
    Restart the services so they read the new set; tokens signed with older keys stay valid until retired."""
    from .tokens import key_set_with, new_issuer_key, public_jwk

    issuer_file, public_file = _key_files()
    key, pem = new_issuer_key()
    current = public_file.read_text() if public_file.exists() else None
    _replace(public_file, key_set_with(current, key.public_key()).encode(), 0o644)
    _replace(issuer_file, pem, 0o600)
    typer.echo(f"new issuer key {public_jwk(key.public_key())['kid']}; restart the services to accept it")


@keys_app.command("retire")
def retire_key(kid: Annotated[str, typer.Argument(help="the key id to remove from the public key set")]) -> None:
    """Remove a public key from the set: tokens it signed are refused once the services restart."""
    from .tokens import TokenIssuer, key_set_without

    issuer_file, public_file = _key_files()
    if issuer_file.exists() and TokenIssuer.from_pem(issuer_file.read_bytes(), "").kid == kid:
        typer.echo(f"campaign: {kid} is the issuer's current key; rotate first", err=True)
        raise typer.Exit(2)
    try:
        text = key_set_without(public_file.read_text(), kid)
    except ValueError as exc:
        typer.echo(f"campaign: {exc}", err=True)
        raise typer.Exit(2) from None
    _replace(public_file, text.encode(), 0o644)
    typer.echo(f"retired {kid}; restart the services")


@keys_app.command("list")
def list_keys() -> None:
    """The key ids services accept, the issuer's current one marked."""
    from .tokens import TokenIssuer, parse_key_set

    issuer_file, public_file = _key_files()
    current = TokenIssuer.from_pem(issuer_file.read_bytes(), "").kid if issuer_file.exists() else None
    for kid in parse_key_set(public_file.read_text()):
        typer.echo(f"{kid}{'  (issuer)' if kid == current else ''}")


def main() -> None:
    app()
