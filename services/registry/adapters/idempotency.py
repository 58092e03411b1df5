"""Finding the earlier result of a repeated command before deciding again.

The event store checks keys inside ``append_in`` too; looking first lets a
retry return its first result even when deciding again would now refuse it
(for example "already registered" or "already flagged").
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.errors import IdempotencyKeyReused
from platform_core.event_store import EventStore


def earlier_stream(conn: Connection, store: EventStore, key: str | None, fingerprint: str) -> str | None:
    """The stream the first command with this key wrote to, or None when the key is new."""
    if key is None:
        return None
    table = store.tables.idempotency_keys
    row = conn.execute(sa.select(table.c.stream_id, table.c.request_hash)
                       .where(table.c.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} 已用于另一个不同的请求", field="Idempotency-Key")
    return row.stream_id
