"""An entity's persons: 出资人（负责人）, whether that person is a Party member, 法定代表人, and the address.

Personal data, kept out of events (docs/security.md, "Personal data"): the registry seals them in its
own table and events carry a reference and keyed hashes. Pure: which facts are persons, whether a
change changes them, and what each keyed hash is taken of (normalized, so that 张三 and 张 三 match).
"""

from collections.abc import Mapping
from typing import Any

from platform_core.contracts.registry import PERSONAL_FIELDS

from .shadow import address_key, person_key

EMPTY = {"person_in_charge": None, "person_in_charge_is_member": False, "legal_representative": None, "address": None}
# Each hash of the sealed record: (label, the normalized text it is taken of). One label for both roles, so
# that one person in charge of an entity and legal representative of another can be found.
HASHED = {"person_in_charge_hash": ("person", "person_in_charge", person_key),
          "legal_representative_hash": ("person", "legal_representative", person_key),
          "address_hash": ("address", "address", address_key)}


def split(facts: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the facts events may carry, the persons among them)."""
    return ({k: v for k, v in facts.items() if k not in PERSONAL_FIELDS},
            {k: v for k, v in facts.items() if k in PERSONAL_FIELDS})


def after_change(current: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The persons after ``changes``, or None when the changes leave them as they are. ``current`` is None
    when the entity has no readable record (erased): then any change makes a new one."""
    if not changes or (current is not None and all(current.get(k) == v for k, v in changes.items())):
        return None
    return {**EMPTY, **(current or {}), **changes}


def hash_inputs(persons: Mapping[str, Any]) -> dict[str, tuple[str, str] | None]:
    """For each hash of the record, (label, normalized text), or None when the person or address is not given."""
    found: dict[str, tuple[str, str] | None] = {}
    for name, (label, field, normalize) in HASHED.items():
        text = normalize(persons.get(field))
        found[name] = (label, text) if text else None
    return found
