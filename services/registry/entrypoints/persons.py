"""An entity as the caller may see it: the persons in clear only when the caller's scope covers the entity
(registry.domain.policy.may_read_persons); to anyone else the sealed record's reference and hashes."""

from typing import Any

from platform_core.auth import Principal
from platform_core.contracts.registry import PERSONAL_FIELDS
from registry.domain import policy
from registry.handlers.context import RegistryContext

HASHES = ("hash_key", "person_in_charge_hash", "legal_representative_hash", "address_hash")


def public_entity(entity: dict[str, Any], caller: Principal, registry: RegistryContext) -> dict[str, Any]:
    record, sealed = entity.pop("persons", None), entity.pop("personal_data", None) or {}
    erased = record is not None and record.erased_at is not None
    values = None
    if record is not None and not erased and policy.may_read_persons(caller, entity):
        values = registry.persons.open(record)
    entity.update({name: (values or {}).get(name) for name in PERSONAL_FIELDS})
    entity["personal_data"] = {
        "ref": record.ref if record is not None else None,
        "status": "erased" if erased else "shown" if values is not None else "withheld",
        "erased_at": record.erased_at if erased else None,
        **({} if erased else {name: sealed.get(name) for name in HASHES})}
    return entity
