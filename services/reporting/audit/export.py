"""Export what the offline verifier needs, from the database, into a folder.

    python -m reporting.audit.export --out audit-export/ [--source event-stores|log]

Writes ``events.jsonl`` (canonical events, one per line, in log order),
``checkpoints/`` (every signed checkpoint, one note per file),
``bulletins/<cutoff date>/`` (each published bulletin's figures.json, the signed
checkpoint printed on it and a manifest: the verifier re-derives them by default) and
``audit-keys.vkey`` (every public key that signed one). With
``--source event-stores`` (the default) each event's bytes are read from the
event store of the service that owns it, so a row edited, removed or swapped
there after a checkpoint was signed fails verification; ``--source log``
exports the audit log's own copy.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from platform_core.db import create_db_engine, quoted_schema
from platform_core.services import SERVICE_NAMES
from platform_core.settings import get_settings

from .store import AuditLogStore


@dataclass(frozen=True)
class ExportSummary:
    events: int
    missing: list[str]
    checkpoints: int
    keys: int
    bulletins: int = 0


def bulletin_manifest(record: dict) -> dict:
    """What a bulletin folder says about its bulletin (``cli export-bulletin`` writes the same)."""
    return {"bulletin_id": record["bulletin_id"], "cutoff_date": str(record["cutoff_date"]),
            "figures_sha256": record["figures_sha256"], "checkpoint_tree_size": record["checkpoint_tree_size"],
            "event_id": str(record["event_id"])}


def export_bulletins(conn, schema: str, out: Path, upto: int | None = None) -> int:
    """Each published bulletin covered by the export into ``out/<cutoff date>/``: figures.json, the signed
    checkpoint.txt printed on it, manifest.json."""
    table = f"{quoted_schema(schema)}.bulletins"
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        return 0
    rows = conn.execute(sa.text(
        f"SELECT bulletin_id, cutoff_date, figures_json, figures_sha256, checkpoint_note, checkpoint_tree_size,"
        f" event_id FROM {table} WHERE :upto IS NULL OR checkpoint_tree_size <= :upto ORDER BY cutoff_date"),
        {"upto": upto}).mappings().all()
    for row in rows:
        folder = out / str(row["cutoff_date"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "figures.json").write_bytes(bytes(row["figures_json"]))
        (folder / "checkpoint.txt").write_text(row["checkpoint_note"], encoding="utf-8")
        (folder / "manifest.json").write_text(json.dumps(bulletin_manifest(row), indent=2), encoding="utf-8")
    return len(rows)


def _from_stores(conn, stores: Sequence[str], event_ids: list[str]) -> dict[str, bytes]:
    union = " UNION ALL ".join(
        f"SELECT CAST(event_id AS text) AS event_id, canonical FROM {quoted_schema(s)}.events"
        " WHERE event_id = ANY(CAST(:ids AS uuid[]))" for s in stores)
    return {row.event_id: bytes(row.canonical) for row in conn.execute(sa.text(union), {"ids": event_ids})}


def export_bundle(engine: Engine, schema: str, out: Path, source: str = "event-stores",
                  stores: Sequence[str] = SERVICE_NAMES, upto: int | None = None, batch: int = 5000) -> ExportSummary:
    log = AuditLogStore(schema)
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    missing: list[str] = []
    written = 0
    with engine.connect() as conn, (out / "events.jsonl").open("wb") as events:
        size = log.head(conn)[0] if upto is None else upto
        stores = [s for s in stores if conn.execute(sa.text("SELECT to_regclass(:t)"),
                                                    {"t": f"{quoted_schema(s)}.events"}).scalar()]
        chunk = []

        def flush():
            nonlocal written
            found = (_from_stores(conn, stores, [str(e.event_id) for e in chunk]) if source == "event-stores"
                     else {str(e.event_id): e.canonical for e in chunk})
            for entry in chunk:
                data = found.get(str(entry.event_id))
                if data is None:
                    missing.append(f"leaf {entry.leaf_index}: event {entry.event_id} is not in the event stores")
                    continue
                events.write(data + b"\n")
                written += 1
            chunk.clear()

        for entry in log.iter_events(conn, size, batch):
            chunk.append(entry)
            if len(chunk) >= batch:
                flush()
        flush()
        checkpoints = [c for c in log.checkpoints(conn, limit=1_000_000) if upto is None or c.tree_size <= upto]
        for checkpoint in checkpoints:
            (out / "checkpoints" / f"{checkpoint.id:08d}-size-{checkpoint.tree_size}.txt").write_text(
                checkpoint.note, encoding="utf-8")
        keys = log.verifier_keys(conn)
        bulletins = export_bulletins(conn, schema, out / "bulletins", upto)
    (out / "audit-keys.vkey").write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    return ExportSummary(written, missing, len(checkpoints), len(keys), bulletins)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.audit.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if missing)")
    parser.add_argument("--source", choices=("event-stores", "log"), default="event-stores")
    parser.add_argument("--schema", default="reporting", help="schema holding the audit log")
    parser.add_argument("--stores", default=",".join(SERVICE_NAMES), help="schemas of the event stores, comma-separated")
    parser.add_argument("--upto", type=int, help="export leaves [0, UPTO) only (default: the whole log)")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=1, password_file=settings.database_password_file)
    stores = [s for s in args.stores.split(",") if s]
    try:
        summary = export_bundle(engine, args.schema, args.out, args.source, stores, args.upto)
    finally:
        engine.dispose()
    for line in summary.missing:
        print(f"warning: {line}", file=sys.stderr)
    print(f"exported {summary.events} events, {summary.checkpoints} checkpoints, {summary.bulletins} bulletin(s), "
          f"{summary.keys} key(s) to {args.out}")
    return 1 if summary.missing else 0


if __name__ == "__main__":
    sys.exit(main())
