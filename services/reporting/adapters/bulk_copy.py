"""COPY many tables in one transaction, building each table's text while PostgreSQL ingests the previous one.

A replay writes every projection table once, at the end. Building COPY's text is Python (one core);
ingesting it is PostgreSQL (the other core). A builder thread turns the rows of table n+1 into text
while the connection's COPY of table n (and its index builds) runs, and psycopg2 releases the GIL while
PostgreSQL works, so the two overlap instead of adding up.
"""

import io
import queue
import re
import threading
from collections.abc import Iterable, Mapping

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

CopyTable = tuple[str, tuple[str, ...], Iterable]  # (qualified table, columns, rows of column values)

_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _escape(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_text(value) -> str:
    """A value in COPY's text format (arrays as {…}, NULL as \\N, special characters escaped)."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is list:
        value = "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value) + "}"
    return _escape(str(value))


class PlainText:
    """Rows whose values are strings that need no escaping (ids, codes): joined as they are, which
    is several times faster than ``copy_text`` per value for a million processed event ids.
    Wraps the rows without reading them: they are generated in the builder thread."""

    def __init__(self, rows: Iterable):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)


def copy_bytes(rows: Iterable) -> bytes:
    if isinstance(rows, PlainText):
        return "".join("\t".join(row) + "\n" for row in rows).encode("utf-8")
    return "".join("\t".join(map(copy_text, row)) + "\n" for row in rows).encode("utf-8")


def copy_tables(conn: Connection, tables: Iterable[CopyTable], after: Mapping[str, list[str]] | None = None) -> None:
    """COPY each table's rows, in order, on ``conn`` (inside the caller's transaction); then run the
    statements ``after`` names for that table (its index builds), while the next table's text is built."""
    built: queue.Queue = queue.Queue(maxsize=2)  # at most two tables' text waiting: bounded memory
    abandoned = threading.Event()

    def hand_over(item) -> bool:
        while not abandoned.is_set():
            try:
                built.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def build() -> None:
        try:
            for table, columns, rows in tables:
                if not hand_over((table, columns, copy_bytes(rows))):
                    return
        except BaseException as exc:  # handed to the COPY side, which raises it in the caller's thread
            hand_over(exc)
            return
        hand_over(None)

    builder = threading.Thread(target=build, name="copy-builder", daemon=True)
    builder.start()
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        while (item := built.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            table, columns, data = item
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            try:
                # One read of the whole text: PostgreSQL then works while this thread waits without the GIL.
                cursor.copy_expert(statement, io.BytesIO(data), size=max(len(data), 8192))
                for statement in (after or {}).get(table, ()):
                    cursor.execute(statement)
            except psycopg2.Error as exc:  # as SQLAlchemy's own errors, so callers' handlers (503 etc.) apply
                raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg2.Error) from exc
    finally:
        abandoned.set()
        cursor.close()
        builder.join(timeout=30)
