"""Worker heartbeats: a service's /readyz says when one of its workers (relay, consumers) is dead.

A worker the deployment names (``CAMPAIGN_WORKER_NAME``, set per process by deploy/stack/processes.py for
scripts/services.sh, docker-compose and the fault suite) keeps a row in its schema's ``workers`` table:
``running`` with a beat every few seconds, then ``stopped`` on a clean stop or ``failed`` (with the error)
when it exits on one. A worker is dead when it said it failed, or when it says it runs but has not beaten
for longer than the allowed silence (a SIGKILL, a hung process, a lost machine). A deliberate stop is the
operator's; the scrape's PlatformWorkerDown alert covers it. Workers nobody named (tests' and benchmarks'
own consumers) keep no row.
"""

import logging
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import quoted_schema

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# Six missed beats: a worker busy in one long batch still beats (its own thread), so silence this long
# means the process is gone or frozen.
STALE_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerRow:
    worker: str
    state: str  # running | stopped | failed
    detail: str | None
    beat_at: datetime


def dead_workers(rows: Iterable[WorkerRow], now: datetime, stale_after: float = STALE_AFTER_SECONDS) -> dict[str, str]:
    """Worker name -> why it counts as dead (in the operator's words)."""
    dead = {}
    for row in rows:
        if row.state == "failed":
            dead[row.worker] = f"failed: {row.detail or 'no reason recorded'}"
        elif row.state == "running" and now - row.beat_at > timedelta(seconds=stale_after):
            dead[row.worker] = f"no heartbeat for {int((now - row.beat_at).total_seconds())} s"
    return dead


def read_dead_workers(conn, schema: str, stale_after: float = STALE_AFTER_SECONDS) -> dict[str, str]:
    schema = quoted_schema(schema)
    now = conn.execute(sa.text("SELECT now()")).scalar_one()  # the database's clock: the beats are on it too
    rows = conn.execute(sa.text(f"SELECT worker, state, detail, beat_at FROM {schema}.workers")).all()
    return dead_workers((WorkerRow(*row) for row in rows), now, stale_after)


class WorkerHeartbeat:
    """``with WorkerHeartbeat(engine, schema, name):`` around a worker's run. Beats from its own thread;
    a beat that fails (the database is down) is logged and tried again at the next one."""

    def __init__(self, engine: Engine, schema: str, worker: str, every: float = HEARTBEAT_SECONDS):
        self.engine, self.schema, self.worker, self.every = engine, quoted_schema(schema), worker, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name=f"heartbeat-{worker}", daemon=True)

    def __enter__(self) -> "WorkerHeartbeat":
        self._write("running", None, started=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, _tb) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt) or (
                issubclass(exc_type, SystemExit) and exc.code in (0, None)):
            self._write("stopped", None)
        else:
            self._write("failed", f"{exc_type.__name__}: {exc}"[:500])

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.every):
            self._write("running", None)

    def _write(self, state: str, detail: str | None, started: bool = False) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.text(
                    f"INSERT INTO {self.schema}.workers (worker, state, detail, pid, host, started_at, beat_at) "
                    "VALUES (:worker, :state, :detail, :pid, :host, now(), now()) "
                    "ON CONFLICT (worker) DO UPDATE SET state = EXCLUDED.state, detail = EXCLUDED.detail, "
                    "pid = EXCLUDED.pid, host = EXCLUDED.host, beat_at = EXCLUDED.beat_at"
                    + (", started_at = EXCLUDED.started_at" if started else "")),
                    {"worker": self.worker, "state": state, "detail": detail, "pid": os.getpid(),
                     "host": socket.gethostname()})
        except Exception as exc:  # a missed beat is not the worker's failure; readiness shows a long silence
            log.warning("worker heartbeat not written", extra={"worker": self.worker, "error": str(exc)[:200]})
