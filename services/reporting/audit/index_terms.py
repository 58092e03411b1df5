"""What an inspector searches the log by, taken from an event (pure).

Entities: the stream id (``entity-<uuid>`` and its bare ``<uuid>``) and every
payload value under a key named ``*_id`` / ``*_ids`` (e.g. ``entity_id``,
``entity_ids``, ``organization_id``), at any depth. Units: payload values under
division/district/unit keys (GB/T 2260 codes, ledger units) and the unit of a
``ledger-<unit>`` stream. These are index columns only: the leaf hashes the
canonical bytes, never these.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from platform_core.envelope import EventEnvelope

UNIT_KEYS = frozenset({"unit", "unit_code", "units", "ledger_unit", "division_code", "district_code",
                       "street_code", "district", "territory", "zone_code"})
_MAX_DEPTH = 4


@dataclass(frozen=True)
class IndexTerms:
    entities: tuple[str, ...]
    units: tuple[str, ...]
    actor_department: str


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value:
        yield value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                yield from _values(item)


def _walk(payload: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield key, value
            yield from _walk(value, depth + 1)
    elif isinstance(payload, list):
        for item in payload:
            yield from _walk(item, depth + 1)


def stream_terms(stream_id: str) -> list[str]:
    """``entity-3f2a…`` is searchable as itself and as ``3f2a…``."""
    kind, sep, rest = stream_id.partition("-")
    return [stream_id, rest] if sep and rest and kind.isalpha() else [stream_id]


def index_terms(envelope: EventEnvelope) -> IndexTerms:
    entities = dict.fromkeys(stream_terms(envelope.stream_id))
    units: dict[str, None] = {}
    if envelope.stream_id.startswith("ledger-"):
        units[envelope.stream_id.removeprefix("ledger-")] = None
    for key, value in _walk(envelope.payload):
        if key.endswith("_id") or key.endswith("_ids"):
            for term in _values(value):
                entities.update(dict.fromkeys(stream_terms(term)))
        if key in UNIT_KEYS:
            units.update(dict.fromkeys(_values(value)))
    return IndexTerms(tuple(entities), tuple(units), envelope.actor.department)
