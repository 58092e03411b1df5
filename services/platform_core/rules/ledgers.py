"""Which ledger (台帐) holds an entity, and the survey deadline judged per ledger unit (二(三), R1, R10).

Units: ``street-<code>`` (enterprises and rural entities of a street, township or park),
``district-<code>-enterprise`` (the district's aggregate of its street ledgers),
``district-<code>-social`` (district-level social organizations), ``civil-affairs`` (city-level social
organizations without a supervising unit), ``supervisor-<code>`` (those a unit supervises) and
``city-organs`` (the city organs' working committee's aggregate of the supervised ones).
"""

from collections.abc import Iterable, Mapping
from typing import Any

ENTERPRISE_KINDS = ("non_public_enterprise", "rural_entity")


def ledgers_holding(facts: Mapping[str, Any]) -> tuple[str, ...]:
    """Every ledger unit that lists the entity: its own unit first, then the aggregate over it (if any)."""
    kind, district = facts.get("kind"), facts.get("district_code")
    if kind in ENTERPRISE_KINDS:
        return f"street-{facts.get('street_code')}", f"district-{district}-enterprise"
    if kind == "social_organization" and facts.get("level") == "city":
        supervisor = facts.get("supervising_department")
        return (f"supervisor-{supervisor}", "city-organs") if supervisor else ("civil-affairs",)
    return (f"district-{district}-social",)


def reporting_unit_of(facts: Mapping[str, Any]) -> str:
    """The unit that reports the entity (R11): its district, civil affairs, or the city organs' committee."""
    if facts.get("kind") == "social_organization" and facts.get("level") == "city":
        return "city-organs" if facts.get("supervising_department") else "civil-affairs"
    return f"district-{facts.get('district_code')}"


def survey_misses(entities: Iterable[tuple[str, Mapping[str, Any]]], submitted: set[str]) -> dict[str, list[str]]:
    """R10 per ledger unit: the entities (registered by the deadline) that no ledger submitted by the deadline
    lists, by their own ledger unit. A street's ledger covers only its street; the district's aggregate
    covers all its streets; a supervising unit's ledger or the committee's aggregate covers its organizations."""
    missed: dict[str, list[str]] = {}
    for entity_id, facts in entities:
        holding = ledgers_holding(facts)
        if not any(unit in submitted for unit in holding):
            missed.setdefault(holding[0], []).append(entity_id)
    return {unit: sorted(ids) for unit, ids in sorted(missed.items())}
