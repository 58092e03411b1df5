"""Organizations a command names must exist (pure): what membership knows of formation's organizations.

Membership learns organizations from its own projection of ``formation.events``
(``handlers/organization_projection.py``). A command naming an organization it
does not know yet is not refused by a rule: the projection may lag behind, so the
caller retries (``NotYetProjected``, 409 with Retry-After).
"""

from collections.abc import Callable
from dataclasses import dataclass

from platform_core.errors import NotYetProjected, RuleViolation

from .access import no_personal_number
from .model import Registration


@dataclass(frozen=True)
class KnownOrganization:
    organization_id: str
    mode: str  # standalone / joint / functional
    active: bool  # False once dissolved
    entity_ids: frozenset[str]  # the entities it covers now (a restructuring removes some)
    district_code: str


Lookup = Callable[[str], KnownOrganization | None]


def _known(organization_id: str, find: Lookup, field: str) -> KnownOrganization:
    found = find(organization_id)
    if found is None:
        raise NotYetProjected(f"organization {organization_id} is not known to membership (yet): formation's "
                              "OrganizationFormed may not have arrived; retry shortly, or check the id",
                              field=field)
    if not found.active:
        raise RuleViolation(f"organization {organization_id} was dissolved; a member cannot be registered with it",
                            field=field, rule="R13")
    return found


def check_primary(registration: Registration, entity_id: str, find: Lookup, field: str) -> None:
    """A primary registration names an active campaign organization that covers the member's entity, or a
    body outside the campaign by name (R13; R5: never a functional organization)."""
    if registration.outside_organization is not None:
        no_personal_number(registration.outside_organization, field.replace("organization_id", "outside_organization"))
    if registration.organization_id is None:
        return
    found = _known(registration.organization_id, find, field)
    if found.mode == "functional":
        raise RuleViolation(f"{found.organization_id} is a functional organization: its members keep their primary "
                            "registration elsewhere (R5)", field=field, rule="R5")
    if entity_id not in found.entity_ids:
        raise RuleViolation(f"organization {found.organization_id} does not cover entity {entity_id}; name the "
                            "organization of the entity where the member works, or one outside the campaign",
                            field=field, rule="R13")


def check_functional(organization_id: str, find: Lookup, field: str = "organization_id") -> None:
    """R5: a functional membership is in an active functional organization."""
    if _known(organization_id, find, field).mode != "functional":
        raise RuleViolation(f"{organization_id} is not a functional organization (功能型党组织); a membership "
                            "besides the primary registration is only in one (R5)", field=field, rule="R5")
