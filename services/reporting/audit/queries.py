"""What the inspector API answers, assembled from the store (read-only, one connection each)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from platform_core.errors import NotFound, PlatformError
from platform_core.merkle import inclusion_plan, root_plan

from .store import AuditLogStore, LoggedEvent, SearchQuery, StoredCheckpoint

MAX_PAGE = 500


class NotYetCheckpointed(PlatformError):
    status = 409
    code = "not_yet_checkpointed"


@dataclass(frozen=True)
class InclusionProof:
    event: LoggedEvent
    tree_size: int
    proof: list[bytes]
    root_hash: bytes
    checkpoint: StoredCheckpoint | None  # the signed checkpoint of that size, when there is one


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: list[bytes]
    first_root: bytes
    second_root: bytes


@dataclass(frozen=True)
class ProvenEvent:
    event: LoggedEvent
    proof: list[bytes] | None  # None: appended after the checkpoint


@dataclass(frozen=True)
class EntityHistory:
    entity: str
    checkpoint: StoredCheckpoint | None
    events: list[ProvenEvent]


def latest_checkpoint(conn: Connection, store: AuditLogStore) -> StoredCheckpoint:
    found = store.latest_checkpoint(conn)
    if found is None:
        raise NotFound("no checkpoint has been signed yet", field="checkpoint")
    return found


def checkpoint_in_force(conn: Connection, store: AuditLogStore, moment: datetime) -> StoredCheckpoint:
    found = store.checkpoint_at(conn, moment)
    if found is None:
        raise NotFound(f"no checkpoint was signed at or before {moment.isoformat()}", field="at")
    return found


def inclusion_proof(conn: Connection, store: AuditLogStore, event_id: uuid.UUID,
                    tree_size: int | None = None) -> InclusionProof:
    """Against ``tree_size``, by default the latest signed checkpoint. Two statements: the leaf, the log's
    size and the checkpoint together, then every node of the proof and of the root together."""
    start = store.proof_start(conn, event_id, tree_size)
    event, checkpoint = start.event, start.checkpoint
    if event is None:
        raise NotFound(f"event {event_id} is not in the audit log (yet)", field="event_id")
    if tree_size is None:
        if checkpoint is None:
            raise NotFound("no checkpoint has been signed yet", field="checkpoint")
        tree_size = checkpoint.tree_size
        if event.leaf_index >= tree_size:
            raise NotYetCheckpointed(
                f"event {event_id} is leaf {event.leaf_index}, after the latest checkpoint (size {tree_size}); "
                "ask again after the next checkpoint", field="event_id")
    elif not 0 <= tree_size <= start.head_size:
        raise PlatformError(f"tree_size {tree_size} is outside the log (size {start.head_size})",
                            field="tree_size")
    elif event.leaf_index >= tree_size:
        raise PlatformError(f"leaf {event.leaf_index} was appended after size {tree_size}; ask for a later "
                            "checkpoint", field="tree_size")
    proof_plan, root = inclusion_plan(event.leaf_index, tree_size), root_plan(tree_size)
    nodes = store.fetch_nodes(conn, proof_plan.nodes() | root.nodes())
    return InclusionProof(event, tree_size, proof_plan.hashes(nodes), root.hashes(nodes)[0], checkpoint)


def consistency_proof(conn: Connection, store: AuditLogStore, first: int, second: int) -> ConsistencyProof:
    if first < 0:
        raise PlatformError("first must be >= 0", field="first")
    proof = store.consistency_proof(conn, first, second)
    return ConsistencyProof(first, second, proof, store.root_at(conn, first), store.root_at(conn, second))


def entity_history(conn: Connection, store: AuditLogStore, entity: str, after_index: int = -1,
                   limit: int = MAX_PAGE) -> EntityHistory:
    """The entity's events, each with its inclusion proof in the latest signed checkpoint."""
    events = store.search(conn, SearchQuery(entity=entity, after_index=after_index, limit=min(limit, MAX_PAGE)))
    if not events and after_index < 0:
        raise NotFound(f"the audit log holds no event of entity {entity!r}", field="entity_id")
    checkpoint = store.latest_checkpoint(conn)
    size = checkpoint.tree_size if checkpoint else 0
    covered = [e for e in events if e.leaf_index < size]
    proofs = dict(zip((e.leaf_index for e in covered), store.inclusion_proofs(conn, [e.leaf_index for e in covered], size)))
    return EntityHistory(entity, checkpoint, [ProvenEvent(e, proofs.get(e.leaf_index)) for e in events])
