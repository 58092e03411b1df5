"""Transfers of the registration (组织关系转接) and changes of workplace, in one step or two (pure; R13).

Within one department's territory a transfer is one command. Across two, the
source releases (转出) and the target accepts (转入), each with its own token; the
member keeps the one primary registration, and is counted at the source, until
the acceptance's MemberTransferred (or MemberWorkplaceChanged) moves them.
"""

from datetime import date, timedelta

from platform_core.errors import ConcurrencyConflict, NotFound, RuleViolation
from platform_core.events import NewEvent

from .access import no_personal_number
from .decisions import active, settled
from .model import Accept, ChangeWorkplace, Member, PendingRelease, Registration, Release, Transfer, Withdraw
from .organizations import Lookup, check_primary


def _from(member: Member, seen: str | None) -> None:
    """The registration the caller decided on is still the member's (two transfers at once: one wins)."""
    if member.hidden:
        raise RuleViolation(f"member {member.member_id} has no registration to transfer; reveal (亮出) them first",
                            field="from_organization_id", rule="R13")
    if seen != member.organization_id:
        raise ConcurrencyConflict(f"member {member.member_id} is registered with {member.registration}, not "
                                  f"{seen or 'outside the campaign'} (transferred meanwhile?)",
                                  field="from_organization_id")


def _check_target(member: Member, to: Registration, to_entity_id: str, find: Lookup, field: str) -> None:
    if (to, to_entity_id) == (member.registration, member.entity_id):
        raise RuleViolation("a transfer must change the organization or the entity", field=field, rule="R13")
    if to.organization_id in member.functional:
        raise RuleViolation(f"member {member.member_id} belongs to {to.organization_id} as a functional member; "
                            "remove that membership before making it the primary registration", field=field,
                            rule="R5")
    check_primary(to, to_entity_id, find, field)


def _transferred(member: Member, to: Registration, to_entity_id: str, release_id: str | None = None) -> NewEvent:
    payload = {"member_id": member.member_id, **member.registration.payload("from_"),
               "from_entity_id": member.entity_id, **to.payload("to_"), "to_entity_id": to_entity_id}
    if release_id is not None:
        payload["release_id"] = release_id
    return NewEvent("MemberTransferred", payload)


def _workplace_changed(member: Member, to_entity_id: str, release_id: str | None = None) -> NewEvent:
    payload = {"member_id": member.member_id, "from_entity_id": member.entity_id, "to_entity_id": to_entity_id}
    if release_id is not None:
        payload["release_id"] = release_id
    return NewEvent("MemberWorkplaceChanged", payload)


def decide_transfer(member: Member | None, member_id: str, command: Transfer, today: date,
                    find: Lookup) -> list[NewEvent]:
    """Move the one primary registration (组织关系转接) to another organization and entity, in one event."""
    member = settled(active(member, member_id), today)
    _from(member, command.from_organization_id)
    if command.to.none:
        raise RuleViolation("a transfer names where to: to_organization_id or to_outside_organization",
                            field="to_organization_id", rule="R13")
    _check_target(member, command.to, command.to_entity_id, find, "to_organization_id")
    return [_transferred(member, command.to, command.to_entity_id)]


def decide_change_workplace(member: Member | None, member_id: str, command: ChangeWorkplace,
                            today: date) -> list[NewEvent]:
    """The member works at another entity now; the registration stays (no transfer of the relation)."""
    member = settled(active(member, member_id), today)
    if command.entity_id == member.entity_id:
        raise RuleViolation(f"member {member_id} works at {command.entity_id} already", field="entity_id",
                            rule="R13")
    return [_workplace_changed(member, command.entity_id)]


def decide_release(member: Member | None, member_id: str, command: Release, today: date,
                   find: Lookup) -> list[NewEvent]:
    """转出: the source lets the member go to another territory; the member stays counted here until accepted."""
    member = settled(active(member, member_id), today)
    if command.to.none:
        moves = "workplace"
        if command.to_entity_id == member.entity_id:
            raise RuleViolation(f"member {member_id} works at {command.to_entity_id} already", field="to_entity_id",
                                rule="R13")
    else:
        moves = "registration"
        _from(member, command.from_organization_id)
        _check_target(member, command.to, command.to_entity_id, find, "to_organization_id")
    return [NewEvent("MemberReleased", {
        "member_id": member_id, "release_id": command.release_id, "moves": moves,
        "from_entity_id": member.entity_id, **member.registration.payload("from_"),
        "to_entity_id": command.to_entity_id, "to_district_code": command.to_district_code,
        **command.to.payload("to_"), "released_on": today.isoformat(),
        "expires_on": (today + timedelta(days=command.valid_days)).isoformat()})]


def _pending(member: Member, release_id: str) -> PendingRelease:
    if member.release is None or member.release.release_id != release_id:
        raise NotFound(f"release {release_id} is not pending for member {member.member_id} (withdrawn, accepted, "
                       "or never made)", field="release_id")
    return member.release


def decide_accept(member: Member | None, member_id: str, command: Accept, today: date,
                  find: Lookup) -> list[NewEvent]:
    """转入: the target accepts the release; only now do the registration and the count move (R13)."""
    member = active(member, member_id)
    pending = _pending(member, command.release_id)
    if pending.lapsed(today):
        raise RuleViolation(f"release {pending.release_id} expired on {pending.expires_on}; the source releases "
                            "the member again", field="release_id", rule="R13")
    if pending.moves == "workplace":
        return [_workplace_changed(member, pending.to_entity_id, pending.release_id)]
    check_primary(pending.to, pending.to_entity_id, find, "release_id")
    return [_transferred(member, pending.to, pending.to_entity_id, pending.release_id)]


def decide_withdraw(member: Member | None, member_id: str, command: Withdraw) -> list[NewEvent]:
    """The source withdraws its release before the target accepts it (a lapsed one too)."""
    member = active(member, member_id)
    pending = _pending(member, command.release_id)
    no_personal_number(command.reason, "reason")
    return [NewEvent("MemberReleaseWithdrawn", {"member_id": member_id, "release_id": pending.release_id,
                                                   "reason": command.reason})]
