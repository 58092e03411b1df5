"""The audit log in PostgreSQL: batch appends with incremental tree maintenance, proofs, search.

Every method works inside the caller's transaction (a SQLAlchemy Connection), so
the processor's appends commit with its consumer offsets. Appends take the log's
advisory lock: there is exactly one writer at a time, and the border of the tree
(at most log2(n) nodes) is all an append reads. Every table is append-only: an
append inserts its leaves, its new nodes and a new head row (``audit_heads``), so
the appender's role needs INSERT and nothing more (docs/security.md).
"""

import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from platform_core.envelope import EventEnvelope, canonical_json
from platform_core.errors import NotFound, PlatformError

from .index_terms import index_terms
from platform_core.merkle import EMPTY_ROOT, CompactRange, Node, ProofPlan, consistency_plan, inclusion_plan, leaf_hash, root_nodes


class LogDamaged(RuntimeError):
    """A node the tree shape requires is missing from storage."""


@dataclass(frozen=True)
class AppendOutcome:
    appended: int
    skipped: int  # already in the log (event_id)
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class LoggedEvent:
    leaf_index: int
    event_id: uuid.UUID
    leaf_hash: bytes
    canonical: bytes


@dataclass(frozen=True)
class SearchQuery:
    entity: str | None = None
    unit: str | None = None
    actor: str | None = None  # a department, or a department kind (matches "kind:territory")
    event_type: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    after_index: int = -1
    limit: int = 100


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    origin: str
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    verifier_key: str
    reason: str
    note: str


@dataclass(frozen=True)
class ProofStart:
    event: LoggedEvent | None  # None: not in the log
    head_size: int
    checkpoint: StoredCheckpoint | None


class AuditLogStore:
    def __init__(self, schema: str):
        self.schema = quoted_schema(schema)

    # -- appending ---------------------------------------------------------------------------
    def head(self, conn: Connection, lock: bool = False) -> tuple[int, bytes]:
        """The log's size and root; ``lock`` holds the append lock until the transaction ends."""
        if lock:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"audit-append:{self.schema}"})
        row = conn.execute(sa.text(f"SELECT tree_size, root_hash FROM {self.schema}.audit_heads"
                                   " ORDER BY tree_size DESC LIMIT 1")).one()
        return row.tree_size, bytes(row.root_hash)

    def append(self, conn: Connection, entries: Sequence[EventEnvelope]) -> AppendOutcome:
        """Append the entries not yet in the log, in the given order, and update the head."""
        size, root = self.head(conn, lock=True)
        fresh = self._not_yet_logged(conn, entries)
        if not fresh:
            return AppendOutcome(0, len(entries), size, root)
        border = self.fetch_nodes(conn, set(root_nodes(size)))
        tree = CompactRange(size, [border[node] for node in root_nodes(size)])
        nodes: list[str] = []
        # COPY (in this same transaction) rather than INSERT: the append rate is the log's bottleneck. The leaf
        # rows are built while they stream, so PostgreSQL parses and indexes a chunk while Python hashes the
        # next: two cores instead of one after the other (docs/performance.md, changes of 2026-12-04).
        with conn.connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {self.schema}.audit_log (leaf_index, event_id, leaf_hash, canonical, event_type,"
                               " stream_id, recorded_at, actor_department, entities, units) FROM STDIN",
                               _Streamed(leaf_lines(fresh, tree, nodes)), size=_COPY_CHUNK)
            cursor.copy_expert(f"COPY {self.schema}.audit_nodes (level, idx, hash) FROM STDIN",
                               io.StringIO("".join(nodes)), size=_COPY_CHUNK)
        root = tree.root()
        conn.execute(sa.text(f"INSERT INTO {self.schema}.audit_heads (tree_size, root_hash) VALUES (:s, :r)"),
                     {"s": tree.size, "r": root})
        return AppendOutcome(len(fresh), len(entries) - len(fresh), tree.size, root)

    def _not_yet_logged(self, conn: Connection, entries: Sequence[EventEnvelope]) -> list[EventEnvelope]:
        ids = [str(e.event_id) for e in entries]
        logged = {str(r[0]) for r in conn.execute(sa.text(
            f"SELECT event_id FROM {self.schema}.audit_log WHERE event_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": ids})}
        fresh, seen = [], set(logged)
        for entry, event_id in zip(entries, ids):
            if event_id not in seen:
                seen.add(event_id)
                fresh.append(entry)
        return fresh

    # -- nodes, roots and proofs -------------------------------------------------------------
    def fetch_nodes(self, conn: Connection, wanted: set[Node]) -> dict[Node, bytes]:
        if not wanted:
            return {}
        leaves = [idx for level, idx in wanted if level == 0]
        inner = [(level, idx) for level, idx in wanted if level > 0]
        rows = conn.execute(sa.text(
            f"SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM {self.schema}.audit_log"
            " WHERE leaf_index = ANY(CAST(:leaves AS bigint[]))"
            f" UNION ALL SELECT n.level, n.idx, n.hash FROM {self.schema}.audit_nodes n"
            " JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx)"
            " ON n.level = w.level AND n.idx = w.idx"),
            {"leaves": leaves, "levels": [l for l, _ in inner], "idxs": [i for _, i in inner]})
        found = {(row.level, row.idx): bytes(row.hash) for row in rows}
        missing = wanted - found.keys()
        if missing:
            raise LogDamaged(f"audit log storage lacks tree nodes {sorted(missing)[:5]}")
        return found

    def resolve(self, conn: Connection, plan: ProofPlan) -> list[bytes]:
        return plan.hashes(self.fetch_nodes(conn, plan.nodes()))

    def _check_size(self, conn: Connection, size: int, field: str) -> None:
        current, _ = self.head(conn)
        if not 0 <= size <= current:
            raise PlatformError(f"{field} {size} is outside the log (size {current})", field=field)

    def root_at(self, conn: Connection, size: int) -> bytes:
        self._check_size(conn, size, "tree_size")
        return self.resolve(conn, ProofPlan([(0, size)]))[0] if size else EMPTY_ROOT

    def leaf(self, conn: Connection, event_id: uuid.UUID) -> LoggedEvent:
        row = conn.execute(sa.text(
            f"SELECT leaf_index, event_id, leaf_hash, canonical FROM {self.schema}.audit_log"
            " WHERE event_id = :e"), {"e": event_id}).first()
        if row is None:
            raise NotFound(f"event {event_id} is not in the audit log (yet)", field="event_id")
        return _logged(row)

    def proof_start(self, conn: Connection, event_id: uuid.UUID, tree_size: int | None) -> "ProofStart":
        """In one statement: the event's leaf, the log's size, and the checkpoint of ``tree_size`` (the latest
        one when None). An inclusion proof is that and one node fetch: each round trip is a good share of
        the request's time (docs/performance.md, changes of 2026-12-04)."""
        row = conn.execute(sa.text(
            "SELECT l.leaf_index, l.event_id, l.leaf_hash, l.canonical,"
            f" (SELECT tree_size FROM {self.schema}.audit_heads ORDER BY tree_size DESC LIMIT 1) AS head_size,"
            " c.id AS c_id, c.origin AS c_origin, c.tree_size AS c_tree_size, c.root_hash AS c_root_hash,"
            " c.signed_at AS c_signed_at, c.verifier_key AS c_verifier_key, c.reason AS c_reason, c.note AS c_note"
            f" FROM (SELECT 1) AS one LEFT JOIN {self.schema}.audit_log l ON l.event_id = :e"
            f" LEFT JOIN LATERAL (SELECT * FROM {self.schema}.audit_checkpoints"
            "  WHERE CAST(:size AS bigint) IS NULL OR tree_size = :size ORDER BY id DESC LIMIT 1) c ON true"),
            {"e": event_id, "size": tree_size}).one()
        checkpoint = None if row.c_id is None else StoredCheckpoint(
            row.c_id, row.c_origin, row.c_tree_size, bytes(row.c_root_hash), row.c_signed_at, row.c_verifier_key,
            row.c_reason, row.c_note)
        return ProofStart(None if row.leaf_index is None else _logged(row), row.head_size, checkpoint)

    def inclusion_proof(self, conn: Connection, leaf_index: int, tree_size: int) -> list[bytes]:
        self._check_size(conn, tree_size, "tree_size")
        if leaf_index >= tree_size:
            raise PlatformError(f"leaf {leaf_index} was appended after size {tree_size}; ask for a later "
                                "checkpoint", field="tree_size")
        return self.resolve(conn, inclusion_plan(leaf_index, tree_size))

    def inclusion_proofs(self, conn: Connection, leaf_indexes: Sequence[int], tree_size: int) -> list[list[bytes]]:
        """Many proofs with one node fetch (entity histories)."""
        plans = [inclusion_plan(i, tree_size) for i in leaf_indexes]
        nodes = self.fetch_nodes(conn, set().union(*(p.nodes() for p in plans)) if plans else set())
        return [p.hashes(nodes) for p in plans]

    def consistency_proof(self, conn: Connection, first: int, second: int) -> list[bytes]:
        if first > second:
            raise PlatformError(f"first size {first} is larger than second size {second}", field="first")
        self._check_size(conn, second, "second")
        return self.resolve(conn, consistency_plan(first, second))

    # -- reading events ----------------------------------------------------------------------
    def search(self, conn: Connection, query: SearchQuery) -> list[LoggedEvent]:
        clauses, params = ["leaf_index > :after"], {"after": query.after_index, "limit": query.limit}
        filters = (  # (the query's value, its parameter, the clause that uses it)
            (query.entity, "entity", "entities @> ARRAY[CAST(:entity AS text)]"),
            (query.unit, "unit", "units @> ARRAY[CAST(:unit AS text)]"),
            (query.actor, "actor", "(actor_department = :actor OR split_part(actor_department, ':', 1) = :actor)"),
            (query.event_type, "type", "event_type = :type"),
            (query.recorded_from, "rfrom", "recorded_at >= :rfrom"),
            (query.recorded_to, "rto", "recorded_at < :rto"))
        for value, parameter, clause in filters:
            if value:
                clauses.append(clause)
                params[parameter] = value
        rows = conn.execute(sa.text(
            f"SELECT leaf_index, event_id, leaf_hash, canonical FROM {self.schema}.audit_log"
            f" WHERE {' AND '.join(clauses)} ORDER BY leaf_index LIMIT :limit"), params)
        return [_logged(row) for row in rows]

    def iter_events(self, conn: Connection, upto: int, batch: int = 5000) -> Iterator[LoggedEvent]:
        """Leaves ``[0, upto)`` in log order (exports)."""
        after = -1
        while after + 1 < upto:
            rows = conn.execute(sa.text(
                f"SELECT leaf_index, event_id, leaf_hash, canonical FROM {self.schema}.audit_log"
                " WHERE leaf_index > :a AND leaf_index < :u ORDER BY leaf_index LIMIT :b"),
                {"a": after, "u": upto, "b": batch}).all()
            if not rows:
                return
            for row in rows:
                yield _logged(row)
            after = rows[-1].leaf_index

    def grew_since(self, conn: Connection, size: int, ignored_type: str) -> bool:
        """True when a leaf at or after ``size`` is of a type other than ``ignored_type``."""
        return conn.execute(sa.text(
            f"SELECT EXISTS (SELECT 1 FROM {self.schema}.audit_log WHERE leaf_index >= :s AND event_type <> :t)"),
            {"s": size, "t": ignored_type}).scalar_one()

    # -- checkpoints -------------------------------------------------------------------------
    def add_checkpoint(self, conn: Connection, checkpoint_id: int, origin: str, tree_size: int, root_hash: bytes,
                       signed_at: datetime, verifier_key: str, reason: str, note: str) -> StoredCheckpoint:
        """Store a signed checkpoint under the id the signer gave it (its number in the signed note)."""
        row = conn.execute(sa.text(
            f"INSERT INTO {self.schema}.audit_checkpoints (id, origin, tree_size, root_hash, signed_at, verifier_key,"
            " reason, note) VALUES (:id, :o, :s, :r, :t, :k, :why, :n) RETURNING *"),
            {"id": checkpoint_id, "o": origin, "s": tree_size, "r": root_hash, "t": signed_at, "k": verifier_key,
             "why": reason, "n": note}).one()
        return _checkpoint(row)

    def latest_checkpoint(self, conn: Connection) -> StoredCheckpoint | None:
        row = conn.execute(sa.text(
            f"SELECT * FROM {self.schema}.audit_checkpoints ORDER BY id DESC LIMIT 1")).first()
        return _checkpoint(row) if row else None

    def checkpoint_at(self, conn: Connection, moment: datetime) -> StoredCheckpoint | None:
        """The checkpoint in force at ``moment``: the last one signed at or before it."""
        row = conn.execute(sa.text(
            f"SELECT * FROM {self.schema}.audit_checkpoints WHERE signed_at <= :t"
            " ORDER BY signed_at DESC, id DESC LIMIT 1"), {"t": moment}).first()
        return _checkpoint(row) if row else None

    def checkpoint_of_size(self, conn: Connection, size: int) -> StoredCheckpoint | None:
        row = conn.execute(sa.text(
            f"SELECT * FROM {self.schema}.audit_checkpoints WHERE tree_size = :s ORDER BY id DESC LIMIT 1"),
            {"s": size}).first()
        return _checkpoint(row) if row else None

    def checkpoints(self, conn: Connection, after_id: int = 0, limit: int = 1000) -> list[StoredCheckpoint]:
        rows = conn.execute(sa.text(
            f"SELECT * FROM {self.schema}.audit_checkpoints WHERE id > :a ORDER BY id LIMIT :l"),
            {"a": after_id, "l": limit})
        return [_checkpoint(row) for row in rows]

    def verifier_keys(self, conn: Connection) -> list[str]:
        """Every public key that ever signed a checkpoint, oldest first (key rotation)."""
        rows = conn.execute(sa.text(
            f"SELECT verifier_key, min(id) AS first FROM {self.schema}.audit_checkpoints"
            " GROUP BY verifier_key ORDER BY first"))
        return [row.verifier_key for row in rows]


def copy_rows(envelopes: Sequence[EventEnvelope], tree: CompactRange) -> tuple[io.StringIO, io.StringIO]:
    """COPY text for the log's leaf rows and the new subtree nodes; appends each leaf to ``tree``."""
    nodes: list[str] = []
    leaves = io.StringIO("".join(leaf_lines(envelopes, tree, nodes)))
    return leaves, io.StringIO("".join(nodes))


def leaf_lines(envelopes: Sequence[EventEnvelope], tree: CompactRange, nodes: list[str]) -> Iterator[str]:
    """COPY text lines of the log's leaf rows, one per envelope as it is appended to ``tree``; the new subtree
    nodes' lines go to ``nodes``."""
    for envelope in envelopes:
        fields = envelope.as_canonical_dict()
        canonical = canonical_json(fields)
        hashed = leaf_hash(canonical)
        terms = index_terms(envelope)
        yield (f"{tree.size}\t{fields['event_id']}\t\\\\x{hashed.hex()}\t\\\\x{canonical.hex()}\t"
               f"{_copy_text(envelope.type)}\t{_copy_text(envelope.stream_id)}\t"
               f"{fields['recorded_at'] if envelope.recorded_at.year >= 1000 else envelope.recorded_at.isoformat()}\t"
               f"{_copy_text(terms.actor_department)}\t"
               f"{_copy_array(terms.entities)}\t{_copy_array(terms.units)}\n")
        for level, index, value in tree.append(hashed):
            nodes.append(f"{level}\t{index}\t\\\\x{value.hex()}\n")


_COPY_CHUNK = 64 * 1024


class _Streamed:
    """A file COPY reads from, filled from lines as it reads (``read(size)`` returns about ``size`` chars)."""

    def __init__(self, lines: Iterator[str]):
        self.lines = lines

    def read(self, size: int = -1) -> str:
        parts, length = [], 0
        for line in self.lines:
            parts.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        return "".join(parts)

    readline = read


def _copy_text(value: str) -> str:
    """A value in COPY's text format (NUL, which text columns cannot hold, dropped: these are
    search columns only, the hashed bytes go in as bytea)."""
    return (value.replace("\x00", "").replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _copy_array(values) -> str:
    """A text[] literal (every element quoted) in COPY's text format."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _copy_text("{" + ",".join(quoted) + "}")


def _logged(row) -> LoggedEvent:
    return LoggedEvent(row.leaf_index, row.event_id, bytes(row.leaf_hash), bytes(row.canonical))


def _checkpoint(row) -> StoredCheckpoint:
    return StoredCheckpoint(row.id, row.origin, row.tree_size, bytes(row.root_hash), row.signed_at,
                            row.verifier_key, row.reason, row.note)
