"""What the registry's handlers need: the event store, the engine and the reference data."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from platform_core import clock
from platform_core.event_store import EventStore, NewEvent
from platform_core.reference import Territory, load_departments, load_industries, load_territory
from registry.adapters.persons import EntityPersons
from registry.domain.events import Decided
from registry.domain.facts import Vocabulary


@dataclass(frozen=True)
class RegistryContext:
    engine: Engine
    store: EventStore
    vocabulary: Vocabulary
    persons: EntityPersons  # the entities' persons, sealed (registry's own master key)

    @property
    def territory(self) -> Territory:
        return self.vocabulary.territory

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction whose unqualified table names are the registry's own schema."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self._search_path)
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection on the registry's schema (rolled back on exit)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql(self._search_path)
            yield conn

    @property
    def _search_path(self) -> str:
        # Plain driver SQL: a text() clause built per command cost more Python than the statement.
        return f"SET LOCAL search_path TO {self.store.schema}, public"

    def read(self, conn: Connection, stream_id: str) -> list[tuple[str, dict]]:
        return [(e.type, e.payload) for e in self.store.read_stream(stream_id, conn)]


def default_vocabulary(territory_file: str | None = None) -> Vocabulary:
    return Vocabulary(load_territory(territory_file), load_departments(), load_industries())


def to_new_events(decided: list[Decided]) -> list[NewEvent]:
    return [NewEvent(d.type, d.payload, d.occurred_at) for d in decided]


def now() -> datetime:
    return clock.now()
