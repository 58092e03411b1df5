"""The published bulletins (``bulletins``: the data file, the rendered files and the checkpoint they carry)."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema

FILE_COLUMNS = ("html", "pdf", "xlsx", "figures_json")


def insert(conn: Connection, schema: str, bulletin_id: str, cutoff: date, figures_json: bytes, figures_sha256: str,
           files: dict[str, bytes], checkpoint_note: str, checkpoint_tree_size: int, event_id: str,
           number: tuple[int, int, str]) -> None:
    """``number``: the 文号's year, its number in that year and its text (``next_number``)."""
    year, in_year, text = number
    conn.execute(sa.text(
        f"INSERT INTO {quoted_schema(schema)}.bulletins (bulletin_id, cutoff_date, figures_json,"
        " figures_sha256, html, pdf, xlsx, checkpoint_note, checkpoint_tree_size, event_id, number_year,"
        " number_in_year, document_number)"
        " VALUES (:b, :c, :f, :h, :html, :pdf, :xlsx, :n, :t, :e, :y, :i, :d)"),
        {"b": bulletin_id, "c": cutoff, "f": figures_json, "h": figures_sha256, "html": files["html"],
         "pdf": files["pdf"], "xlsx": files["xlsx"], "n": checkpoint_note, "t": checkpoint_tree_size, "e": event_id,
         "y": year, "i": in_year, "d": text})


def next_number(conn: Connection, schema: str, year: int) -> int:
    """The next 文号 number of ``year``: one more than the highest given, without gaps. Publications take it one at
    a time (a transaction-scoped lock), so two bulletins published at once cannot draw the same number."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{schema}.bulletin-number"})
    return int(conn.execute(sa.text(
        f"SELECT COALESCE(MAX(number_in_year), 0) + 1 FROM {quoted_schema(schema)}.bulletins WHERE number_year = :y"),
        {"y": year}).scalar())


def published(conn: Connection, schema: str, cutoff: date) -> dict | None:
    row = conn.execute(sa.text(
        f"SELECT bulletin_id, cutoff_date, published_at, figures_sha256, checkpoint_tree_size, checkpoint_note,"
        f" event_id, document_number FROM {quoted_schema(schema)}.bulletins WHERE cutoff_date = :c"), {"c": cutoff}).mappings().first()
    return dict(row) if row else None


def file_bytes(conn: Connection, schema: str, cutoff: date, column: str) -> bytes | None:
    """One of a bulletin's files (a column of FILE_COLUMNS); None when no bulletin has that cutoff."""
    if column not in FILE_COLUMNS:
        raise ValueError(f"column must be one of {', '.join(FILE_COLUMNS)}")
    found = conn.execute(sa.text(f"SELECT {column} FROM {quoted_schema(schema)}.bulletins WHERE cutoff_date = :c"),
                         {"c": cutoff}).scalar()
    return None if found is None else bytes(found)
