"""The audit inspector API's bodies (hashes base64, as in checkpoints); the dashboard serves the same
inclusion proof body."""

import base64
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from reporting.audit.queries import InclusionProof
from reporting.audit.store import LoggedEvent, StoredCheckpoint


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class CheckpointPublic(BaseModel):
    id: int
    origin: str
    tree_size: int
    root_hash: str
    signed_at: datetime
    reason: str
    verifier_key: str
    note: str

    @classmethod
    def of(cls, c: StoredCheckpoint) -> "CheckpointPublic":
        return cls(id=c.id, origin=c.origin, tree_size=c.tree_size, root_hash=b64(c.root_hash),
                   signed_at=c.signed_at, reason=c.reason, verifier_key=c.verifier_key, note=c.note)


class LoggedEventPublic(BaseModel):
    leaf_index: int
    event_id: uuid.UUID
    leaf_hash: str
    event: str  # the canonical bytes that were hashed, as text

    @classmethod
    def of(cls, e: LoggedEvent) -> "LoggedEventPublic":
        return cls(leaf_index=e.leaf_index, event_id=e.event_id, leaf_hash=b64(e.leaf_hash),
                   event=e.canonical.decode("utf-8"))


class InclusionProofPublic(BaseModel):
    kind: Literal["inclusion"] = "inclusion"
    leaf_index: int
    tree_size: int
    event: str
    leaf_hash: str
    proof: list[str]
    root_hash: str
    checkpoint: CheckpointPublic | None

    @classmethod
    def of(cls, found: InclusionProof) -> "InclusionProofPublic":
        return cls(leaf_index=found.event.leaf_index, tree_size=found.tree_size,
                   event=found.event.canonical.decode("utf-8"), leaf_hash=b64(found.event.leaf_hash),
                   proof=[b64(p) for p in found.proof], root_hash=b64(found.root_hash),
                   checkpoint=CheckpointPublic.of(found.checkpoint) if found.checkpoint else None)


class ConsistencyProofPublic(BaseModel):
    kind: Literal["consistency"] = "consistency"
    first: int
    second: int
    proof: list[str]
    first_root: str
    second_root: str


class ProvenEventPublic(LoggedEventPublic):
    proof: list[str] | None  # null: appended after the checkpoint; ask again later


class EntityHistoryPublic(BaseModel):
    entity_id: str
    checkpoint: CheckpointPublic | None
    events: list[ProvenEventPublic]


class EventsPage(BaseModel):
    events: list[LoggedEventPublic]
    next_after_index: int | None
