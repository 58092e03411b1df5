"""What every decision returns, and how a command's lost race reads: pure, no database.

The domains of every service return ``NewEvent``s; the event store (platform_core.event_store) gives
them ids, versions and the recorded time, and ``EventStore.execute`` runs a whole command around them.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .envelope import Actor
from .errors import ConcurrencyConflict

# The event store's own constraints (core migrations): a stream version taken, an idempotency key taken.
STREAM_VERSION_TAKEN = "events_stream_version_unique"
IDEMPOTENCY_KEY_TAKEN = "idempotency_keys_pkey"
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


@dataclass(frozen=True)
class NewEvent:
    """An event a decision produced, before the store gives it an id, a version and its recorded time."""

    type: str
    payload: dict[str, Any]
    occurred_at: datetime | None = None  # business time; imports may back-date it
    # The stream it belongs to, when a decision writes to several (formation's organization and tasks);
    # None: the stream of the command.
    stream_id: str | None = None
    event_id: uuid.UUID | None = None  # None: the store draws one


def by_stream(events: Sequence[NewEvent], stream_id: str | None) -> list[tuple[str, list[NewEvent]]]:
    """The events in runs of one stream, in order (an event naming no stream goes to ``stream_id``)."""
    runs: list[tuple[str, list[NewEvent]]] = []
    for event in events:
        stream = event.stream_id or stream_id
        if stream is None:
            raise ValueError(f"{event.type} names no stream and the command has none")
        if runs and runs[-1][0] == stream:
            runs[-1][1].append(event)
        else:
            runs.append((stream, [event]))
    return runs


@dataclass(frozen=True)
class Decision:
    """What a command decided: its events, and the stream and version it decided on.

    ``expected_version`` is the version of ``stream_id`` the decision read (optimistic concurrency); None
    appends at the stream's current version, for commands that serialize on locks of their own instead.
    Other streams a decision's events name are appended at their current versions. ``new_streams``: every
    stream is new (bulk imports: versions 1..n, written in a few batched statements)."""

    events: Sequence[NewEvent]
    stream_id: str | None = None
    expected_version: int | None = None
    new_streams: bool = False

    def expected(self, stream_id: str) -> int | None:
        return self.expected_version if stream_id == self.stream_id else None


@dataclass(frozen=True)
class Command:
    """Who runs a command, how its retries are recognised, and how a race it loses reads (a 409)."""

    actor: Actor
    fingerprint: str  # request_fingerprint of the command's arguments: a retry, or a key reused?
    idempotency_key: str | None = None
    conflict: str = "the stream changed concurrently; reload and retry"
    conflict_field: str = "expected_version"

    def conflict_error(self) -> ConcurrencyConflict:
        return ConcurrencyConflict(self.conflict, field=self.conflict_field)


LostRace = Literal["twin", "version", "unique", "other"]


def lost_race(constraint: str, sqlstate: str, has_key: bool) -> LostRace:
    """What a constraint violation at commit means for a command.

    ``twin``: a concurrent command with the same idempotency key committed first (answer with its result,
    if the key's row is there); ``version``: another command took the stream version (409); ``unique``:
    another command took a unique value of the read model (409, the service may say whose); ``other``: not
    a race (a bug: it propagates)."""
    if has_key and constraint in (IDEMPOTENCY_KEY_TAKEN, STREAM_VERSION_TAKEN):
        return "twin"
    if constraint == STREAM_VERSION_TAKEN:
        return "version"
    if sqlstate == UNIQUE_VIOLATION:
        return "unique"
    return "other"
