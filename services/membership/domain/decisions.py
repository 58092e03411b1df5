"""Pure decisions: ``decide_*(state, command, today, find) -> [NewEvent]`` (R5, R13); transfers in transfers.py.

``today`` is the city's local date, an argument so that rules at a date
boundary (confirmation after one year, a release's expiry) are tested exactly;
``find`` looks an organization up in membership's projection of formation.events.
"""

from datetime import date

from platform_core.errors import AlreadyExists, NotFound, RuleViolation
from platform_core.events import NewEvent

from .calendar import anniversary
from .model import AddMember, ErasePersonalData, Leave, Member, Reveal
from .organizations import Lookup, check_functional, check_primary

EARLIEST_ADMISSION = date(1921, 7, 1)
ADD_EVENT = {"found": "MemberRegistered", "developed": "MemberDeveloped", "recruited": "MemberRecruited"}


def decide_add(command: AddMember, today: date, find: Lookup) -> list[NewEvent]:
    """A new member: found in the survey, developed (always probationary) or recruited."""
    if not EARLIEST_ADMISSION <= command.admitted_on <= today:
        raise RuleViolation(f"admitted_on must lie between {EARLIEST_ADMISSION} and today ({today})",
                            field="admitted_on", rule="R13")
    if command.way == "developed":
        if command.standing != "probationary":
            raise RuleViolation("a newly developed member is probationary (预备党员); confirm after one year",
                                field="standing", rule="R13")
        if command.registration.organization_id is None:
            raise RuleViolation("a member is developed by a campaign organization: organization_id is required",
                                field="organization_id", rule="R13")
    if command.standing == "formal" and today < anniversary(command.admitted_on):
        raise RuleViolation(f"a formal member was admitted at least one year ago; admitted_on "
                            f"{command.admitted_on} makes them probationary until {anniversary(command.admitted_on)}",
                            field="standing", rule="R13")
    check_primary(command.registration, command.entity_id, find, "organization_id")
    payload = {"member_id": command.member_id, "standing": command.standing,
               "admitted_on": command.admitted_on.isoformat(), "entity_id": command.entity_id,
               **command.registration.payload()}
    return [NewEvent(ADD_EVENT[command.way], payload)]


def active(member: Member | None, member_id: str) -> Member:
    if member is None:
        raise NotFound(f"member {member_id} does not exist", field="member_id")
    if not member.active:
        raise RuleViolation(f"member {member_id} has left (MemberLeft); no further changes", field="member_id",
                            rule="R13")
    return member


def settled(member: Member, today: date) -> Member:
    """No release pending: while one is, the registration and the workplace wait for the target's answer."""
    pending = member.release
    if pending is not None and not pending.lapsed(today):
        raise RuleViolation(f"member {member.member_id} is released ({pending.release_id}) to entity "
                            f"{pending.to_entity_id} until {pending.expires_on}: the target accepts it, or the "
                            "source withdraws it first", field="release_id", rule="R13")
    return member


def decide_reveal(member: Member | None, member_id: str, command: Reveal, today: date,
                  find: Lookup) -> list[NewEvent]:
    """A hidden or pocket member (隐形/口袋党员) registers with an organization (亮出)."""
    member = settled(active(member, member_id), today)
    if not member.hidden:
        raise RuleViolation(f"member {member_id} is already registered ({member.registration}); "
                            "use a transfer (组织关系转接) to move the registration",
                            field="organization_id", rule="R13")
    if command.registration.none:
        raise RuleViolation("a reveal names the organization: organization_id or outside_organization",
                            field="organization_id", rule="R13")
    entity_id = command.entity_id or member.entity_id
    check_primary(command.registration, entity_id, find, "organization_id")
    return [NewEvent("MemberRevealed", {"member_id": member_id, **command.registration.payload(),
                                           "entity_id": entity_id})]


def decide_confirm(member: Member | None, member_id: str, today: date) -> list[NewEvent]:
    """Probationary -> formal (转正), no earlier than one year after admission."""
    member = active(member, member_id)
    if member.standing != "probationary":
        raise RuleViolation(f"member {member_id} is already a formal member", field="member_id", rule="R13")
    earliest = anniversary(member.admitted_on)
    if today < earliest:
        raise RuleViolation(f"a probationary member admitted on {member.admitted_on} may be confirmed on "
                            f"{earliest} at the earliest (one year); today is {today}",
                            field="confirmed_on", rule="R13")
    return [NewEvent("MemberConfirmed", {"member_id": member_id, "admitted_on": member.admitted_on.isoformat(),
                                            "confirmed_on": today.isoformat()})]


def decide_add_functional(member: Member | None, member_id: str, organization_id: str,
                          find: Lookup) -> list[NewEvent]:
    """R5: also belong to a functional organization, keeping the primary registration."""
    member = active(member, member_id)
    if member.hidden:
        raise RuleViolation(f"member {member_id} has no primary registration; a functional membership comes in "
                            "addition to one (R5): reveal them first", field="member_id", rule="R5")
    if organization_id == member.organization_id:
        raise RuleViolation(f"{organization_id} is the member's primary registration already",
                            field="organization_id", rule="R5")
    if organization_id in member.functional:
        raise RuleViolation(f"member {member_id} already belongs to {organization_id} as a functional member",
                            field="organization_id", rule="R5")
    check_functional(organization_id, find)
    return [NewEvent("FunctionalMembershipAdded", {"member_id": member_id, "organization_id": organization_id})]


def decide_remove_functional(member: Member | None, member_id: str, organization_id: str) -> list[NewEvent]:
    member = active(member, member_id)
    if organization_id not in member.functional:
        raise NotFound(f"member {member_id} has no functional membership in {organization_id}",
                       field="organization_id")
    return [NewEvent("FunctionalMembershipRemoved", {"member_id": member_id, "organization_id": organization_id})]


def decide_leave(member: Member | None, member_id: str, command: Leave) -> list[NewEvent]:
    """Death, expulsion or leaving: the member is no longer counted anywhere."""
    member = active(member, member_id)
    return [NewEvent("MemberLeft", {"member_id": member_id, "reason": command.reason,
                                       "standing": member.standing, "entity_id": member.entity_id,
                                       **member.registration.payload(),
                                       "functional_organization_ids": sorted(member.functional)})]


def decide_erase(member: Member | None, member_id: str, command: ErasePersonalData) -> list[NewEvent]:
    """PIPL art. 47: the member's identity is erased (also after leaving); the member's record stays."""
    if member is None:
        raise NotFound(f"member {member_id} does not exist", field="member_id")
    if member.personal_data_erased:
        raise AlreadyExists(f"the personal data of member {member_id} was erased already", field="member_id")
    return [NewEvent("MemberPersonalDataErased", {"member_id": member_id, "reason": command.reason})]
