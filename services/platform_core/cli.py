"""Operator command line: topics, migrations, the outbox relay, projections, tokens.

    campaign topics            create the event and dead-letter topics
    campaign migrate [SVC...]  apply each service's schema migrations
    campaign relay SVC         run a service's outbox relay until SIGTERM
    campaign consume SVC       run a service's projection consumers until SIGTERM
    campaign token KIND ...    issue a department token (signed with CAMPAIGN_AUTH_SECRET)
    campaign rotate-personal-data-key SVC   re-wrap SVC's data keys and recompute its keyed hashes
"""

import logging
import signal
import threading
from typing import Annotated

import typer

from .db import create_db_engine, migrate
from .heap import freeze_startup_heap
from .kafka_io import SERVICES, create_producer, ensure_topics
from .logs import configure_logging
from .outbox_relay import OutboxRelay
from .service import service_migrations
from .settings import get_settings

app = typer.Typer(help="Operate the campaign platform.", no_args_is_help=True)
log = logging.getLogger("campaign")


def _check_service(service: str) -> str:
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return service


@app.command()
def topics() -> None:
    """Create the event topics and the dead-letter topic when missing."""
    settings = get_settings()
    created = ensure_topics(settings.kafka_bootstrap, settings.topic_partitions)
    typer.echo(f"topics created: {', '.join(created) if created else 'none (all present)'}")


@app.command("migrate")
def migrate_command(services: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Apply the schema migrations of the named services (all when none is named)."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=1)
    for service in services or list(SERVICES):
        applied = migrate(engine, _check_service(service), service_migrations(service))
        typer.echo(f"{service}: {len(applied)} migration(s) applied")


@app.command()
def relay(service: Annotated[str, typer.Argument(callback=_check_service)],
          schema: Annotated[str | None, typer.Option(
              help="the outbox of a second instance over another schema (e.g. CAMPAIGN_REPORTING_SCHEMA)")] = None
          ) -> None:
    """Publish SERVICE's outbox to Kafka until stopped (SIGTERM or Ctrl-C)."""
    settings = get_settings()
    configure_logging(f"{service}-relay", settings.log_level, settings.log_format)
    engine = create_db_engine(settings.database_url, pool_size=2)
    schema = schema or service
    # The relay may start before the service's app: make sure the outbox it reads exists.
    migrate(engine, schema, service_migrations(service))
    producer = create_producer(settings.kafka_bootstrap, client_id=f"{service}-outbox-relay")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    freeze_startup_heap()
    try:
        OutboxRelay(engine, schema, producer).run(stop)
    finally:
        producer.close(timeout=10)
        engine.dispose()


@app.command()
def consume(service: Annotated[str, typer.Argument(callback=_check_service)]) -> None:
    """Run SERVICE's projection consumers (its bootstrap's ``build_projections``) until stopped."""
    import importlib

    from .projection_consumer import run_projections

    settings = get_settings()
    configure_logging(f"{service}-consumer", settings.log_level, settings.log_format)
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    context = bootstrap.build_context()
    context.migrate()
    specs = bootstrap.build_projections(context) if hasattr(bootstrap, "build_projections") else []
    if not specs:
        typer.echo(f"{service} has no projections to run")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    freeze_startup_heap()
    # the context's schema: a second instance (CAMPAIGN_REPORTING_SCHEMA) keeps its offsets in its own
    run_projections(context.engine, settings.kafka_bootstrap, context.name, specs, stop)


@app.command("rotate-personal-data-key")
def rotate_personal_data_key(service: Annotated[str, typer.Argument(callback=_check_service)]) -> None:
    """After a new master key was put first in SERVICE's key ring: re-wrap every data key with it and recompute
    the keyed hashes SERVICE keeps; then the old key can leave the ring (docs/security.md, "Key rotation")."""
    import importlib

    bootstrap = importlib.import_module(f"{service}.bootstrap")
    if not hasattr(bootstrap, "rotate_personal_data_key"):
        raise typer.BadParameter(f"{service} holds no personal data under a master key")
    context = bootstrap.build_context()
    context.migrate()
    for what, count in bootstrap.rotate_personal_data_key(context).items():
        typer.echo(f"{service}: {count} {what}")


@app.command()
def token(kind: Annotated[str, typer.Argument(help="department kind, e.g. district_org, inspector")],
          user: Annotated[str, typer.Option(help="the person the token is for")] = "operator",
          territory: Annotated[str | None, typer.Option(help="GB/T 2260 code the department covers")] = None,
          sector: Annotated[list[str] | None, typer.Option(help="sector(s) the department verifies")] = None,
          days: Annotated[int, typer.Option(min=1, max=366)] = 180) -> None:
    """Print a signed token for a department (give it to that department's system)."""
    from datetime import timedelta

    from .auth import PERMISSIONS, Principal, issue_token

    if kind not in PERMISSIONS:
        raise typer.BadParameter(f"unknown department kind {kind!r}; one of {', '.join(PERMISSIONS)}")
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department=department, kind=kind, user=user, territory=territory,
                          sectors=tuple(sector or ()))
    typer.echo(issue_token(get_settings().require_auth_secret(), principal, timedelta(days=days)))


def main() -> None:
    app()
