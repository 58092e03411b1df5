"""The query endpoints' reads from a PostgreSQL standby, within a stated lag bound (docs/operations.md, "Reads
from the standby").

With CAMPAIGN_READ_DATABASE_URL set (the local stack's `up --pg-standby` sets it for the HTTP apps), a read
first asks the standby, on the connection it will read with, how far its replay is behind the primary's last
commit (``LAG_SQL``). Within CAMPAIGN_READ_MAX_LAG_S it reads there; behind more, unreachable, or not
streaming from the primary (its lag unknown), it reads from the primary. Every answer that went through here
names where it was read in ``X-Read-Source`` (``standby; lag=0.120s``, or ``primary`` with the reason).
Writes, commands and the projection workers always use the primary (CAMPAIGN_DATABASE_URL).

The bound holds for the data read: the lag is measured inside the read's own connection, just before its
query, so what it reads is at most the bound (plus the query's own duration) behind the primary.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import Request, Response
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

READ_SOURCE_HEADER = "X-Read-Source"
# After the standby failed to answer, reads go to the primary for this long before asking it again (a
# standby that is down must not cost every request a failed connection).
STANDBY_RETRY_AFTER_S = 5.0

# Nothing received is left to replay -> 0 (an idle primary commits nothing: the last replayed commit's age
# says nothing then); else the age of the last replayed commit. Without a WAL receiver the standby hears
# nothing from the primary: unknown (NULL). A promoted standby (no longer in recovery) is a primary: 0.
# (A role without pg_read_all_stats sees the receiver's pid only, not its status: its presence is the test.
# A receiver notices a vanished primary after wal_receiver_timeout, 10 s on the local stack's standby.)
LAG_SQL = sa.text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL) THEN NULL "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END")


# A read's connection (``Reads.connection``, ``Reader.connect``): called with an optional isolation level.
ReadConnection = Callable[..., AbstractContextManager[Connection]]


@dataclass(frozen=True)
class ReadSource:
    """Where one read went, and why."""

    server: str  # "standby" or "primary"
    standby_lag_s: float | None = None  # as the standby reported it (None: not asked, unreachable or unknown)
    reason: str = ""  # why the primary: "no standby", "standby behind", "standby lag unknown", "standby unreachable"

    def header(self) -> str:
        if self.server == "standby":
            return f"standby; lag={self.standby_lag_s:.3f}s"
        lag = "" if self.standby_lag_s is None else f"; standby-lag={self.standby_lag_s:.3f}s"
        return f"primary; {self.reason}{lag}" if self.reason else "primary"


@contextmanager
def primary_connection(engine: Engine, isolation_level: str | None = None) -> Iterator[Connection]:
    """A read from the primary, always (what was just written there: an as-of replay; a command's own checks)."""
    with engine.connect() as conn:
        yield conn if isolation_level is None else conn.execution_options(isolation_level=isolation_level)


def standby_is_fresh(lag_s: float | None, max_lag_s: float) -> bool:
    """The standby may answer: its lag is known and within the bound."""
    return lag_s is not None and lag_s <= max_lag_s


class Reads:
    """The query endpoints' connections: the standby's while fresh enough, else the primary's."""

    def __init__(self, primary: Engine, standby: Engine | None, max_lag_s: float):
        self.primary, self.standby, self.max_lag_s = primary, standby, max_lag_s
        self._lock = threading.Lock()
        self._standby_failed_at = float("-inf")

    @contextmanager
    def connect(self, isolation_level: str | None = None) -> Iterator[tuple[Connection, ReadSource]]:
        conn, source = self._standby_connection()
        if conn is None:
            with primary_connection(self.primary, isolation_level) as conn:
                yield conn, source
            return
        try:
            yield (conn if isolation_level is None else conn.execution_options(isolation_level=isolation_level)), source
        finally:
            conn.close()

    def _standby_connection(self) -> tuple[Connection | None, ReadSource]:
        if self.standby is None:
            return None, ReadSource("primary")
        with self._lock:
            if time.monotonic() - self._standby_failed_at < STANDBY_RETRY_AFTER_S:
                return None, ReadSource("primary", reason="standby unreachable")
        try:
            conn = self.standby.connect()
        except sa.exc.DBAPIError as exc:
            self._standby_failed(exc)
            return None, ReadSource("primary", reason="standby unreachable")
        try:
            lag = conn.execute(LAG_SQL).scalar()
            conn.rollback()  # the read's own transaction (and isolation level) starts after the check
        except sa.exc.DBAPIError as exc:
            conn.invalidate()
            conn.close()
            self._standby_failed(exc)
            return None, ReadSource("primary", reason="standby unreachable")
        lag = None if lag is None else float(lag)
        if standby_is_fresh(lag, self.max_lag_s):
            return conn, ReadSource("standby", lag)
        conn.close()
        return None, ReadSource("primary", lag, "standby lag unknown" if lag is None else "standby behind")

    def _standby_failed(self, exc: Exception) -> None:
        with self._lock:
            self._standby_failed_at = time.monotonic()
        log.warning("standby unreachable: reading from the primary", extra={"error": str(exc).splitlines()[0]})


class Reader:
    """One request's reads (a FastAPI dependency, ``reader``): each ``connect()`` names its server in the
    response's X-Read-Source header. A handler given ``reader.connect`` reads the live projections through it
    and keeps ``context.engine`` for whatever must be the primary (as-of replays, writes)."""

    def __init__(self, reads: Reads, response: Response):
        self.reads, self.response = reads, response
        response.headers[READ_SOURCE_HEADER] = "primary"

    @contextmanager
    def connect(self, isolation_level: str | None = None) -> Iterator[Connection]:
        with self.reads.connect(isolation_level) as (conn, source):
            self.response.headers[READ_SOURCE_HEADER] = source.header()
            yield conn


async def reader(request: Request, response: Response) -> Reader:
    """FastAPI dependency: the request's reads over its service's ``context.reads``."""
    return Reader(request.app.state.context.reads, response)
