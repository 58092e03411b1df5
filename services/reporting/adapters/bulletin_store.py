"""The published bulletins (``bulletins``: the data file, the rendered files and the checkpoint they carry)."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema

FILE_COLUMNS = ("html", "pdf", "xlsx", "figures_json")


def insert(conn: Connection, schema: str, bulletin_id: str, cutoff: date, figures_json: bytes, figures_sha256: str,
           files: dict[str, bytes], checkpoint_note: str, checkpoint_tree_size: int, event_id: str) -> None:
    conn.execute(sa.text(
        f"INSERT INTO {quoted_schema(schema)}.bulletins (bulletin_id, cutoff_date, figures_json,"
        " figures_sha256, html, pdf, xlsx, checkpoint_note, checkpoint_tree_size, event_id)"
        " VALUES (:b, :c, :f, :h, :html, :pdf, :xlsx, :n, :t, :e)"),
        {"b": bulletin_id, "c": cutoff, "f": figures_json, "h": figures_sha256, "html": files["html"],
         "pdf": files["pdf"], "xlsx": files["xlsx"], "n": checkpoint_note, "t": checkpoint_tree_size, "e": event_id})


def published(conn: Connection, schema: str, cutoff: date) -> dict | None:
    row = conn.execute(sa.text(
        f"SELECT bulletin_id, cutoff_date, published_at, figures_sha256, checkpoint_tree_size, checkpoint_note,"
        f" event_id FROM {quoted_schema(schema)}.bulletins WHERE cutoff_date = :c"), {"c": cutoff}).mappings().first()
    return dict(row) if row else None


def file_bytes(conn: Connection, schema: str, cutoff: date, column: str) -> bytes | None:
    """One of a bulletin's files (a column of FILE_COLUMNS); None when no bulletin has that cutoff."""
    if column not in FILE_COLUMNS:
        raise ValueError(f"column must be one of {', '.join(FILE_COLUMNS)}")
    found = conn.execute(sa.text(f"SELECT {column} FROM {quoted_schema(schema)}.bulletins WHERE cutoff_date = :c"),
                         {"c": cutoff}).scalar()
    return None if found is None else bytes(found)
