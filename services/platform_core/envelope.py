"""The event envelope and its canonical JSON bytes.

Canonical bytes (sorted keys, no spaces, UTF-8, UTC timestamps with
microseconds) make hashes reproducible: the audit log, Kafka and the event
store all carry exactly these bytes.
"""

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SchemaViolation

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_timestamp(moment: datetime) -> str:
    """Render an aware datetime as canonical UTC text."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    moment = moment.astimezone(timezone.utc)
    if moment.year >= 1000:  # isoformat is the same text for these, and cheaper than strftime
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    return moment.strftime(_TIMESTAMP_FORMAT)  # keeps the canonical text of early years (no zero padding)


def canonical_json(value: Any) -> bytes:
    """JSON bytes that are the same for equal values: sorted keys, compact, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


class Actor(BaseModel):
    """Who caused the event: a department and a user within it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str = Field(min_length=1, max_length=64)
    user: str = Field(min_length=1, max_length=128)


class EventEnvelope(BaseModel):
    """One event as stored, published and audited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str = Field(min_length=1, max_length=64)
    schema_version: int = Field(ge=1)
    stream_id: str = Field(min_length=1, max_length=200)
    stream_version: int = Field(ge=1)
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    payload: dict[str, Any]

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("timestamps must carry a time zone")
        # Canonical bytes say "Z": those parse as UTC already, and skipping the conversion is a tenth
        # of a replay's parse. Only other offsets are converted.
        return value if not offset else value.astimezone(timezone.utc)

    def as_canonical_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "schema_version": self.schema_version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "occurred_at": utc_timestamp(self.occurred_at),
            "recorded_at": utc_timestamp(self.recorded_at),
            "actor": {"department": self.actor.department, "user": self.actor.user},
            "payload": self.payload,
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.as_canonical_dict())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> "EventEnvelope":
        """Parse published bytes; a malformed message raises SchemaViolation."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "envelope"
            raise SchemaViolation(f"malformed event envelope: {first['msg']}", field=field) from exc
