"""The ``personal_data_keys`` table of a service's schema: its subjects' data keys, wrapped.

Every write joins the caller's transaction, so a subject's key, its sealed values and the event
that records them commit together. ``shred`` is the only DELETE a service needs (crypto-shredding).
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .db import quoted_schema
from .vault import DataKey, PersonalDataVault, WrappedKey


def key_table(schema: str) -> sa.Table:
    return sa.Table("personal_data_keys", sa.MetaData(schema=quoted_schema(schema)),
                    sa.Column("subject_id", sa.Text, primary_key=True), sa.Column("master_key_id", sa.Text),
                    sa.Column("wrapped_key", sa.LargeBinary), sa.Column("created_at", sa.DateTime(timezone=True)),
                    sa.Column("rewrapped_at", sa.DateTime(timezone=True)))


class DataKeys:
    """Make, load and shred the data keys of one service's subjects."""

    def __init__(self, schema: str, vault: PersonalDataVault):
        self.table = key_table(schema)
        self.vault = vault
        self._insert = self.table.insert()

    def create(self, conn: Connection, subject_id: str) -> DataKey:
        return self.create_many(conn, [subject_id])[subject_id]

    def create_many(self, conn: Connection, subject_ids: Iterable[str]) -> dict[str, DataKey]:
        """A new data key per subject, stored wrapped (one batched insert)."""
        keys, rows = {}, []
        for subject_id in subject_ids:
            keys[subject_id], wrapped = self.vault.new_data_key(subject_id)
            rows.append({"subject_id": subject_id, "master_key_id": wrapped.master_key_id,
                         "wrapped_key": wrapped.wrapped})
        if rows:
            conn.execute(self._insert, rows)
        return keys

    def unwrap(self, subject_id: str, master_key_id: str | None, wrapped_key: bytes | None) -> DataKey | None:
        """The subject's key from a row that joined this table; None when it was shredded (erased)."""
        if master_key_id is None or wrapped_key is None:
            return None
        return self.vault.unwrap(subject_id, WrappedKey(master_key_id, bytes(wrapped_key)))

    def load(self, conn: Connection, subject_ids: Iterable[str]) -> dict[str, DataKey]:
        """The subjects' keys; a subject whose key was shredded is missing."""
        t = self.table
        rows = conn.execute(sa.select(t.c.subject_id, t.c.master_key_id, t.c.wrapped_key)
                            .where(t.c.subject_id.in_(list(subject_ids))))
        return {row.subject_id: self.unwrap(row.subject_id, row.master_key_id, row.wrapped_key) for row in rows}

    def shred(self, conn: Connection, subject_id: str) -> bool:
        """Crypto-shredding: delete the subject's key; False when there was none (erased before)."""
        t = self.table
        return conn.execute(t.delete().where(t.c.subject_id == subject_id)).rowcount == 1

    def rewrap_batch(self, conn: Connection, limit: int = 1000) -> int:
        """Re-wrap up to ``limit`` keys that an older master key wrapped with the newest one; how many."""
        t, current = self.table, self.vault.ring.current.key_id
        rows = conn.execute(sa.select(t.c.subject_id, t.c.master_key_id, t.c.wrapped_key)
                            .where(t.c.master_key_id != current).order_by(t.c.subject_id).limit(limit)
                            .with_for_update(skip_locked=True)).all()
        now = datetime.now(timezone.utc)
        for row in rows:
            fresh = self.vault.rewrap(row.subject_id, WrappedKey(row.master_key_id, bytes(row.wrapped_key)))
            conn.execute(t.update().where(t.c.subject_id == row.subject_id).values(
                master_key_id=fresh.master_key_id, wrapped_key=fresh.wrapped, rewrapped_at=now))
        return len(rows)



def rewrap_all(engine: Engine, keys: DataKeys) -> int:
    """Rotation: every data key an older master key wrapped, re-wrapped by the newest; one transaction per
    batch, so a stop half-way leaves every key usable with the ring. How many."""
    total = 0
    while True:
        with engine.begin() as conn:
            done = keys.rewrap_batch(conn)
        if done == 0:
            return total
        total += done


def in_key_order(engine: Engine, step: Callable[[Connection, str], list[str]]) -> int:
    """Run ``step(conn, after)`` over a table in key order, one transaction per batch; ``step`` handles rows
    whose key follows ``after`` and returns their keys (none: the end). How many rows in all."""
    total, after = 0, ""
    while True:
        with engine.begin() as conn:
            done = step(conn, after)
        if not done:
            return total
        total, after = total + len(done), done[-1]
