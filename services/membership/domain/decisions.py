"""Pure decisions: ``decide_*(state, command, today) -> [DomainEvent]`` (R5, R13).

``today`` is the city's local date, an argument so that rules at a date
boundary (confirmation after one year) are tested exactly.
"""

from datetime import date

from platform_core.errors import AlreadyExists, ConcurrencyConflict, NotFound, RuleViolation

from .calendar import anniversary
from .model import AddMember, DomainEvent, ErasePersonalData, Leave, Member, Reveal, Transfer

EARLIEST_ADMISSION = date(1921, 7, 1)
ADD_EVENT = {"found": "MemberRegistered", "developed": "MemberDeveloped", "recruited": "MemberRecruited"}


def decide_add(command: AddMember, today: date) -> list[DomainEvent]:
    """A new member: found in the survey, developed (always probationary) or recruited."""
    if not EARLIEST_ADMISSION <= command.admitted_on <= today:
        raise RuleViolation(f"admitted_on must lie between {EARLIEST_ADMISSION} and today ({today})",
                            field="admitted_on", rule="R13")
    if command.way == "developed":
        if command.standing != "probationary":
            raise RuleViolation("a newly developed member is probationary (预备党员); confirm after one year",
                                field="standing", rule="R13")
        if command.organization_id is None:
            raise RuleViolation("a member is developed by an organization: organization_id is required",
                                field="organization_id", rule="R13")
    if command.standing == "formal" and today < anniversary(command.admitted_on):
        raise RuleViolation(f"a formal member was admitted at least one year ago; admitted_on "
                            f"{command.admitted_on} makes them probationary until {anniversary(command.admitted_on)}",
                            field="standing", rule="R13")
    payload = {"member_id": command.member_id, "standing": command.standing,
               "admitted_on": command.admitted_on.isoformat(), "entity_id": command.entity_id,
               "organization_id": command.organization_id}
    return [DomainEvent(ADD_EVENT[command.way], payload)]


def _active(member: Member | None, member_id: str) -> Member:
    if member is None:
        raise NotFound(f"member {member_id} does not exist", field="member_id")
    if not member.active:
        raise RuleViolation(f"member {member_id} has left (MemberLeft); no further changes", field="member_id",
                            rule="R13")
    return member


def decide_reveal(member: Member | None, member_id: str, command: Reveal) -> list[DomainEvent]:
    """A hidden or pocket member (隐形/口袋党员) registers with an organization (亮出)."""
    member = _active(member, member_id)
    if not member.hidden:
        raise RuleViolation(f"member {member_id} is already registered with {member.organization_id}; "
                            "use a transfer (组织关系转接) to move the registration",
                            field="organization_id", rule="R13")
    return [DomainEvent("MemberRevealed", {"member_id": member_id, "organization_id": command.organization_id,
                                           "entity_id": command.entity_id or member.entity_id})]


def decide_confirm(member: Member | None, member_id: str, today: date) -> list[DomainEvent]:
    """Probationary -> formal (转正), no earlier than one year after admission."""
    member = _active(member, member_id)
    if member.standing != "probationary":
        raise RuleViolation(f"member {member_id} is already a formal member", field="member_id", rule="R13")
    earliest = anniversary(member.admitted_on)
    if today < earliest:
        raise RuleViolation(f"a probationary member admitted on {member.admitted_on} may be confirmed on "
                            f"{earliest} at the earliest (one year); today is {today}",
                            field="confirmed_on", rule="R13")
    return [DomainEvent("MemberConfirmed", {"member_id": member_id, "admitted_on": member.admitted_on.isoformat(),
                                            "confirmed_on": today.isoformat()})]


def decide_transfer(member: Member | None, member_id: str, command: Transfer) -> list[DomainEvent]:
    """Move the one primary registration (组织关系转接) from one organization and entity to another."""
    member = _active(member, member_id)
    if member.hidden:
        raise RuleViolation(f"member {member_id} has no registration to transfer; reveal (亮出) them first",
                            field="from_organization_id", rule="R13")
    if command.from_organization_id != member.organization_id:
        raise ConcurrencyConflict(f"member {member_id} is registered with {member.organization_id}, not "
                                  f"{command.from_organization_id} (transferred meanwhile?)",
                                  field="from_organization_id")
    if (command.to_organization_id, command.to_entity_id) == (member.organization_id, member.entity_id):
        raise RuleViolation("a transfer must change the organization or the entity", field="to_organization_id",
                            rule="R13")
    if command.to_organization_id in member.functional:
        raise RuleViolation(f"member {member_id} belongs to {command.to_organization_id} as a functional member; "
                            "remove that membership before making it the primary registration",
                            field="to_organization_id", rule="R5")
    return [DomainEvent("MemberTransferred", {
        "member_id": member_id, "from_organization_id": member.organization_id,
        "from_entity_id": member.entity_id, "to_organization_id": command.to_organization_id,
        "to_entity_id": command.to_entity_id})]


def decide_add_functional(member: Member | None, member_id: str, organization_id: str) -> list[DomainEvent]:
    """R5: also belong to a functional organization, keeping the primary registration."""
    member = _active(member, member_id)
    if member.hidden:
        raise RuleViolation(f"member {member_id} has no primary registration; a functional membership comes in "
                            "addition to one (R5): reveal them first", field="member_id", rule="R5")
    if organization_id == member.organization_id:
        raise RuleViolation(f"{organization_id} is the member's primary registration already",
                            field="organization_id", rule="R5")
    if organization_id in member.functional:
        raise RuleViolation(f"member {member_id} already belongs to {organization_id} as a functional member",
                            field="organization_id", rule="R5")
    return [DomainEvent("FunctionalMembershipAdded", {"member_id": member_id, "organization_id": organization_id})]


def decide_remove_functional(member: Member | None, member_id: str, organization_id: str) -> list[DomainEvent]:
    member = _active(member, member_id)
    if organization_id not in member.functional:
        raise NotFound(f"member {member_id} has no functional membership in {organization_id}",
                       field="organization_id")
    return [DomainEvent("FunctionalMembershipRemoved", {"member_id": member_id, "organization_id": organization_id})]


def decide_leave(member: Member | None, member_id: str, command: Leave) -> list[DomainEvent]:
    """Death, expulsion or leaving: the member is no longer counted anywhere."""
    member = _active(member, member_id)
    return [DomainEvent("MemberLeft", {"member_id": member_id, "reason": command.reason,
                                       "standing": member.standing, "entity_id": member.entity_id,
                                       "organization_id": member.organization_id,
                                       "functional_organization_ids": sorted(member.functional)})]


def decide_erase(member: Member | None, member_id: str, command: ErasePersonalData) -> list[DomainEvent]:
    """PIPL art. 47: the member's identity is erased (also after leaving); the member's record stays."""
    if member is None:
        raise NotFound(f"member {member_id} does not exist", field="member_id")
    if member.personal_data_erased:
        raise AlreadyExists(f"the personal data of member {member_id} was erased already", field="member_id")
    return [DomainEvent("MemberPersonalDataErased", {"member_id": member_id, "reason": command.reason})]
