"""Rebuild membership's read tables from its own event store.

``members``, ``functional_memberships``, ``member_growth`` and ``member_releases``
are derived from the events alone (``known_entities`` and ``known_organizations``
come from registry.events and formation.events and are rebuilt by resetting those
consumer groups). ``member_identities`` is not a projection: personal data is
deliberately kept out of the events.
"""


from platform_core.event_store import EventStore

from ..adapters.read_models import apply_member_event
from ..adapters.tables import Tables


def rebuild_read_tables(store: EventStore, t: Tables, batch: int = 1000) -> int:
    """Replace the read tables with a replay of every event, in one transaction; return events applied."""
    applied, position = 0, 0
    with store.engine.begin() as conn:
        conn.execute(t.functional.delete())
        conn.execute(t.releases.delete())
        conn.execute(t.growth.delete())
        conn.execute(t.members.delete())
        while rows := store.read_all(conn, position, batch):
            for position, envelope in rows:
                apply_member_event(conn, t, store.registry.upcast(envelope))
                applied += 1
    return applied
