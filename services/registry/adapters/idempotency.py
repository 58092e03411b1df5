"""Finding the earlier result of a repeated command before deciding again.

The event store checks keys inside ``append_in`` too; looking first lets a
retry return its first result even when deciding again would now refuse it
(for example "already registered" or "already flagged").
"""

from sqlalchemy.engine import Connection

from platform_core.event_store import EventStore


def earlier_stream(conn: Connection, store: EventStore, key: str | None, fingerprint: str) -> str | None:
    """The stream the first command with this key wrote to, or None when the key is new."""
    earlier = store.earlier_result(conn, key, fingerprint)
    return earlier.events[0].stream_id if earlier is not None else None
