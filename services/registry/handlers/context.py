"""What the registry's handlers need: the event store, the engine and the reference data."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from platform_core.event_store import AppendResult, EventStore, Executed
from platform_core.events import Command, Decision
from platform_core.reference import Territory, load_departments, load_industries, load_territory
from registry.adapters.persons import EntityPersons
from registry.domain.facts import Vocabulary

Answer = TypeVar("Answer")


@dataclass(frozen=True)
class RegistryContext:
    engine: Engine
    store: EventStore
    vocabulary: Vocabulary
    persons: EntityPersons  # the entities' persons, sealed (registry's own master key)
    import_max_rows: int = 100_000  # data rows an imported sheet may have (CAMPAIGN_IMPORT_MAX_ROWS)

    @property
    def territory(self) -> Territory:
        return self.vocabulary.territory

    def begin(self) -> AbstractContextManager[Connection]:
        """A transaction whose unqualified table names are the registry's own schema."""
        return self.store.begin()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection on the registry's schema (rolled back on exit)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql(self.store.search_path)
            yield conn

    def read(self, conn: Connection, stream_id: str) -> list[tuple[str, dict]]:
        return [(e.type, e.payload) for e in self.store.read_stream(stream_id, conn)]

    def execute(self, command: Command, decide: Callable[[Connection], Decision],
                project: Callable[[Connection, AppendResult], Answer],
                replay: Callable[[Connection, AppendResult], Answer] | None = None,
                explain_unique: Callable[[Connection], None] | None = None) -> Executed[Answer]:
        """The event store's command pipeline, in transactions on the registry's schema."""
        return self.store.execute(command, decide, project, replay, explain_unique, transaction=self.store.begin)


def default_vocabulary(territory_file: Path | str | None = None) -> Vocabulary:
    return Vocabulary(load_territory(territory_file), load_departments(), load_industries())
