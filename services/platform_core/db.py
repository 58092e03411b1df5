"""Database engine and schema migrations.

Each service owns one PostgreSQL schema. Migrations are plain SQL files run
in name order with ``search_path`` set to that schema; the shared event-store
migration comes first. An applied migration must never change: its checksum
is checked on every start.
"""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

CORE_MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def create_db_engine(database_url: str, pool_size: int = 10, password_file: Path | None = None,
                     connect_timeout_s: int | None = None) -> Engine:
    """Optimistic disconnect handling: no ping per checkout (a round trip on every command);
    a connection that fails as disconnected invalidates the pool, and the caller gets a 503.

    The password comes from the URL's libpq ``passfile`` (the local stack) or from ``password_file``
    (CAMPAIGN_DATABASE_PASSWORD_FILE: containers, where a mounted file cannot be made private to the
    process's user, which libpq requires of a passfile); never from the environment. ``connect_timeout_s``: a
    server that may be away (a standby) fails a connection that fast instead of waiting for the OS."""
    connect_args = {} if connect_timeout_s is None else {"connect_timeout": connect_timeout_s}
    if password_file is not None:
        try:
            connect_args["password"] = password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RuntimeError(f"CAMPAIGN_DATABASE_PASSWORD_FILE={password_file} cannot be read: {exc}") from exc
    return sa.create_engine(database_url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                            connect_args=connect_args)


def quoted_schema(schema: str) -> str:
    if not schema.isidentifier() or schema.lower() != schema:
        raise ValueError(f"schema name {schema!r} must be a lower-case identifier")
    return schema


@dataclass(frozen=True)
class Migration:
    source: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


class MigrationChanged(RuntimeError):
    """An applied migration file was edited; that would silently fork the schema."""


class MigrationsPending(RuntimeError):
    """The schema lacks migrations and this role may not apply them (only the owner role may)."""


def load_migrations(*folders: tuple[str, Path]) -> list[Migration]:
    found = []
    for source, folder in folders:
        for path in sorted(folder.glob("*.sql")):
            found.append(Migration(source, path.name, path.read_text(encoding="utf-8")))
    return found


def all_applied(engine: Engine, schema: str, migrations: list[Migration]) -> bool:
    """True when every migration is applied already: read-only, so a process's role (which may not
    create anything in the schema) can start without taking the migration lock."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{schema}.schema_migrations"}).scalar() is None:
            return False
        done = {(row.source, row.name): row.checksum for row in conn.execute(
            sa.text(f"SELECT source, name, checksum FROM {schema}.schema_migrations"))}
    for migration in migrations:
        checksum = done.get((migration.source, migration.name))
        if checksum is None:
            return False
        if checksum != migration.checksum:
            raise MigrationChanged(f"{schema}: applied migration {migration.source}/{migration.name} was edited")
    return True


def migrate(engine: Engine, schema: str, service_migrations: Path | None = None) -> list[str]:
    """Create the schema and apply pending migrations; return the names applied.

    Every process calls it at start; only the owner role may change a service's schema
    (docs/security.md), so a process's role gets ``MigrationsPending`` naming what to run instead."""
    schema = quoted_schema(schema)
    folders = [("core", CORE_MIGRATIONS)]
    if service_migrations is not None and service_migrations.is_dir():
        folders.append((schema, service_migrations))
    if all_applied(engine, schema, load_migrations(*folders)):
        return []
    try:
        return _apply(engine, schema, folders)
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "pgcode", None) != "42501":  # insufficient_privilege
            raise
        raise MigrationsPending(
            f"schema {schema} has migrations to apply and this database role may not apply them: run "
            f"`campaign migrate` with the owner's environment (`eval \"$(python3 deploy/stack.py env)\"`)"
        ) from exc


def _apply(engine: Engine, schema: str, folders: list[tuple[str, Path]]) -> list[str]:
    applied_now = []
    with engine.begin() as conn:
        # One migrator at a time across processes; the lock ends with the transaction.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migrate:{schema}"})
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        conn.execute(sa.text(f"SET LOCAL search_path TO {schema}"))
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " source TEXT NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (source, name))"
        ))
        done = {
            (row.source, row.name): row.checksum
            for row in conn.execute(sa.text("SELECT source, name, checksum FROM schema_migrations"))
        }
        for migration in load_migrations(*folders):
            key = (migration.source, migration.name)
            if key in done:
                if done[key] != migration.checksum:
                    raise MigrationChanged(f"{schema}: applied migration {migration.source}/{migration.name} was edited")
                continue
            # Raw cursor without parameters: psycopg2 then leaves '%' in the SQL alone.
            with conn.connection.cursor() as cursor:
                cursor.execute(migration.sql)
            conn.execute(
                sa.text("INSERT INTO schema_migrations (source, name, checksum) VALUES (:s, :n, :c)"),
                {"s": migration.source, "n": migration.name, "c": migration.checksum},
            )
            applied_now.append(f"{migration.source}/{migration.name}")
    if applied_now:
        log.info("migrations applied", extra={"schema": schema, "migrations": applied_now})
    return applied_now
