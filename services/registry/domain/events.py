"""What decisions return: an event type and its payload (the store gives ids and versions)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Decided:
    type: str
    payload: dict[str, Any]
    occurred_at: datetime | None = field(default=None)
