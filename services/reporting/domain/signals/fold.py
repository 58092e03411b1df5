"""Fold events into the detectors' inputs (pure: envelopes in, ``SignalInputs`` out).

Takes envelopes whose payloads are at their latest schema version (the projections' readable-event rule
upcasts them first). Events of other types are ignored. Business dates come from the payloads where they
carry one (``formed_on``, ``checked_on``...); a member's move carries none, so its day is the city date of the
envelope's ``occurred_at``.
"""

from collections.abc import Iterable
from datetime import date

from platform_core.envelope import EventEnvelope
from platform_core.reference.city_time import local_date

from ..figures_memory import MemoryFigures
from ..fold import CampaignState
from ..reports import end_of_day, unit_counters
from .records import Check, Formation, Move, Place, Report, SignalInputs, Undoing

MEMBER_ARRIVALS = {"MemberRegistered": "found", "MemberDeveloped": "developed", "MemberRecruited": "recruited"}


def fold(events: Iterable[EventEnvelope]) -> SignalInputs:
    events = sorted(events, key=lambda e: (e.recorded_at, str(e.event_id)))
    inputs = SignalInputs()
    for event in events:
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(inputs, event, event.payload)
    inputs.moves.sort(key=lambda m: (m.at, m.event_id))
    inputs.checks.sort(key=lambda c: (c.recorded_at, c.event_id))
    inputs.reports.sort(key=lambda r: (r.unit, r.deadline, r.event_id))
    inputs.derived = derived_coverage(events, inputs.reports)
    return inputs


def derived_coverage(events: list[EventEnvelope], reports: list[Report]) -> dict[tuple[str, date], int]:
    """Each reporting unit's organization coverage as of the end of each deadline it reported for, from the
    reporting projection's own fold (the figure its discrepancies are judged against). ``events`` in recorded
    order; each deadline's state is the prefix recorded by the end of that day."""
    wanted: dict[date, set[str]] = {}
    for report in reports:
        wanted.setdefault(report.deadline, set()).add(report.unit)
    state, derived, applied = CampaignState(), {}, 0
    for deadline in sorted(wanted):
        cutoff = end_of_day(deadline)
        while applied < len(events) and events[applied].recorded_at <= cutoff:
            event = events[applied]
            state.apply(event.type, event.payload, str(event.event_id), event.recorded_at)
            applied += 1
        by_department = MemoryFigures(state, []).counters_by_department()
        for unit in wanted[deadline]:
            derived[(unit, deadline)] = unit_counters(unit, by_department).organization_covered
    return derived


def _entity_registered(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    persons = p.get("personal_data") or {}
    inputs.places[p["entity_id"]] = Place(p["entity_id"], p["name"], p["district_code"], p["street_code"],
                                          persons.get("hash_key"), persons.get("legal_representative_hash"),
                                          persons.get("address_hash"), str(event.event_id))


def _profile_updated(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    place = inputs.places.get(p["entity_id"])
    if place is None or "personal_data" not in p.get("changed", ()):
        return
    persons = p.get("personal_data") or {}
    inputs.places[place.entity_id] = Place(place.entity_id, place.name, place.district_code, place.street_code,
                                           persons.get("hash_key"), persons.get("legal_representative_hash"),
                                           persons.get("address_hash"), str(event.event_id))


def _personal_data_erased(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    place = inputs.places.get(p["entity_id"])
    if place is not None:  # the registry keeps none of the hashes after an erasure: neither do the detectors
        inputs.places[place.entity_id] = Place(place.entity_id, place.name, place.district_code, place.street_code,
                                               event_id=place.event_id)


def _move(how: str, from_field: str | None, to_field: str | None):
    def handle(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
        inputs.moves.append(Move(p["member_id"], local_date(event.occurred_at), event.occurred_at, how,
                                 str(event.event_id), p.get(from_field) if from_field else None,
                                 p.get(to_field) if to_field else None))
    return handle


def _formed(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    inputs.formations[p["organization_id"]] = Formation(
        p["organization_id"], p["mode"], tuple(p["entity_ids"]), p["district_code"], p.get("street_code"),
        _date(p["formed_on"]), tuple(sorted(p.get("formal_members", {}).items())), str(event.event_id),
        p.get("grouping_basis"))


def _undone(how: str, day_field: str):
    def handle(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
        inputs.undoings.append(Undoing(p["organization_id"], how, _date(p[day_field]), str(event.event_id)))
    return handle


def _checked(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    inputs.checks.append(Check(p["organization_id"], p.get("check_kind", "acceptance"), p["passed"],
                               _date(p["checked_on"]), event.recorded_at,
                               f"{event.actor.department}/{event.actor.user}", tuple(p["entity_ids"]),
                               str(event.event_id)))


def _reported(inputs: SignalInputs, event: EventEnvelope, p: dict) -> None:
    inputs.reports.append(Report(p["unit"], _date(p["deadline"]), tuple(sorted(p["figures"].items())),
                                 str(event.event_id)))


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


_HANDLERS = {
    "EntityRegistered": _entity_registered, "EntityProfileUpdated": _profile_updated,
    "EntityPersonalDataErased": _personal_data_erased,
    **{t: _move(how, None, "entity_id") for t, how in MEMBER_ARRIVALS.items()},
    "MemberTransferred": _move("transferred", "from_entity_id", "to_entity_id"),
    "MemberWorkplaceChanged": _move("workplace", "from_entity_id", "to_entity_id"),
    "MemberLeft": _move("left", "entity_id", None),
    "OrganizationFormed": _formed,
    "OrganizationDissolved": _undone("dissolved", "dissolved_on"),
    "OrganizationRestructured": _undone("restructured", "restructured_on"),
    "OrganizationChecked": _checked,
    "ReportSubmitted": _reported,
}


# the event types the detectors read: their own, and those the reporting fold derives the reported figures from
READ_TYPES = frozenset(_HANDLERS) | frozenset(name[len("_on_"):] for name in dir(CampaignState) if name.startswith("_on_"))
