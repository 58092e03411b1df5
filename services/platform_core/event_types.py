"""Registry of event types: payload schemas per version, and upcasters.

An old event is upcast when read, never rewritten: each upcaster turns the
payload of version N into version N+1.
"""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from .envelope import EventEnvelope
from .errors import SchemaViolation, UnknownEventType

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventTypeRegistry:
    """Known event types; the newest version of each is what new events use."""

    def __init__(self) -> None:
        self._schemas: dict[tuple[str, int], type[BaseModel]] = {}
        self._latest: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, version: int, payload_model: type[BaseModel]) -> None:
        if (event_type, version) in self._schemas:
            raise ValueError(f"{event_type} v{version} is registered twice")
        self._schemas[(event_type, version)] = payload_model
        self._latest[event_type] = max(version, self._latest.get(event_type, 0))

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def decorate(function: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = function
            return function

        return decorate

    def knows(self, event_type: str) -> bool:
        return event_type in self._latest

    def latest_version(self, event_type: str) -> int:
        if event_type not in self._latest:
            raise UnknownEventType(f"unknown event type {event_type!r}", field="type")
        return self._latest[event_type]

    def validate_payload(self, event_type: str, payload: dict[str, Any], version: int | None = None) -> tuple[int, dict[str, Any]]:
        """Check a payload against its schema; return (version, JSON-ready payload)."""
        version = version if version is not None else self.latest_version(event_type)
        return version, self._checked(event_type, payload, version).model_dump(mode="json")

    def _checked(self, event_type: str, payload: dict[str, Any], version: int) -> BaseModel:
        model = self._schemas.get((event_type, version))
        if model is None:
            raise UnknownEventType(f"unknown event type {event_type!r} version {version}", field="type")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = "payload." + ".".join(str(part) for part in first["loc"])
            raise SchemaViolation(f"{event_type}: {field}: {first['msg']}", field=field) from exc

    def readable(self, envelope: EventEnvelope) -> EventEnvelope:
        """What every projection reads: the envelope upcast to its type's newest version, its payload checked
        against that version's contract (UnknownEventType, SchemaViolation otherwise). The live projections,
        replays and the inspectors' re-derivation apply this one rule, so they all skip the same events."""
        envelope = self.upcast(envelope)
        # checked only: the projections read the payload as published, so its JSON dump is not made
        self._checked(envelope.type, envelope.payload, envelope.schema_version)
        return envelope

    def upcast(self, envelope: EventEnvelope) -> EventEnvelope:
        """Bring an envelope's payload to the newest schema version of its type."""
        latest = self.latest_version(envelope.type)
        payload, version = envelope.payload, envelope.schema_version
        while version < latest:
            step = self._upcasters.get((envelope.type, version))
            if step is None:
                raise SchemaViolation(
                    f"no upcaster for {envelope.type} from version {version}", field="schema_version"
                )
            payload, version = step(dict(payload)), version + 1
        if version == envelope.schema_version:
            return envelope
        return envelope.model_copy(update={"payload": payload, "schema_version": version})
