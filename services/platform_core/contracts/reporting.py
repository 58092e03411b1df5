"""Events the reporting service publishes (``reporting.events``).

For now only the audit log's CheckpointSigned; the reporting projections'
events (ReportSubmitted, BulletinPublished, AccountabilityRecorded) come later.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..event_types import EventTypeRegistry


class CheckpointSigned(BaseModel):
    """The audit log signed a checkpoint (C2SP signed note) of its state."""

    model_config = ConfigDict(extra="forbid")

    checkpoint_id: int = Field(ge=1)
    origin: str = Field(min_length=1, max_length=200)
    tree_size: int = Field(ge=0)
    root_hash: str = Field(min_length=44, max_length=44, description="base64 of the 32-byte root hash")
    signed_at: str = Field(description="UTC timestamp, the checkpoint's time extension line")
    verifier_key: str = Field(min_length=1, max_length=300, description="<name>+<key id>+<base64 public key>")
    reason: Literal["schedule", "bulletin", "manual"]
    note: str = Field(min_length=1, max_length=4000, description="the signed checkpoint text, verbatim")


def register(registry: EventTypeRegistry) -> None:
    registry.register("CheckpointSigned", 1, CheckpointSigned)
