"""Payload schemas per version and upcasting of old events (pure)."""

import uuid
from datetime import datetime, timezone

import pytest
from pydantic import BaseModel, Field

from platform_core.envelope import Actor, EventEnvelope
from platform_core.errors import SchemaViolation, UnknownEventType
from platform_core.event_types import EventTypeRegistry


class EmployeesV1(BaseModel):
    employees: int = Field(ge=0)


class EmployeesV2(BaseModel):
    employees: int = Field(ge=0)
    source: str


def registry() -> EventTypeRegistry:
    reg = EventTypeRegistry()
    reg.register("EntityProfileUpdated", 1, EmployeesV1)
    reg.register("EntityProfileUpdated", 2, EmployeesV2)

    @reg.upcaster("EntityProfileUpdated", 1)
    def add_source(payload):
        return {**payload, "source": "survey"}

    return reg


def old_event(payload) -> EventEnvelope:
    now = datetime.now(timezone.utc)
    return EventEnvelope(event_id=uuid.uuid4(), type="EntityProfileUpdated", schema_version=1, stream_id="e",
                         stream_version=1, occurred_at=now, recorded_at=now,
                         actor=Actor(department="d", user="u"), payload=payload)


def test_new_events_use_the_newest_version():
    assert registry().validate_payload("EntityProfileUpdated", {"employees": 3, "source": "x"})[0] == 2


def test_old_events_are_upcast_when_read_and_the_original_is_untouched():
    event = old_event({"employees": 120})
    upcast = registry().upcast(event)
    assert (upcast.schema_version, upcast.payload) == (2, {"employees": 120, "source": "survey"})
    assert event.payload == {"employees": 120}


def test_unknown_type_is_named():
    with pytest.raises(UnknownEventType, match="EntityVanished"):
        registry().validate_payload("EntityVanished", {})


def test_schema_violation_names_the_field():
    with pytest.raises(SchemaViolation) as caught:
        registry().validate_payload("EntityProfileUpdated", {"employees": -1, "source": "x"})
    assert caught.value.field == "payload.employees"


def test_a_missing_upcaster_is_an_error_not_a_silent_pass():
    reg = EventTypeRegistry()
    reg.register("T", 1, EmployeesV1)
    reg.register("T", 2, EmployeesV2)
    with pytest.raises(SchemaViolation, match="no upcaster"):
        reg.upcast(old_event({"employees": 1}).model_copy(update={"type": "T"}))


def test_registering_a_version_twice_is_refused():
    reg = registry()
    with pytest.raises(ValueError):
        reg.register("EntityProfileUpdated", 1, EmployeesV1)
