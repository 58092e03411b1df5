"""Transfers in one step or two, changes of workplace, registrations outside the campaign, and the organizations
a command names (pure; R5, R13). Dates are arguments: a release's expiry is tested on its boundary day."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membership.domain.access import access_event
from membership.domain.decisions import decide_add, decide_add_functional, decide_leave, decide_reveal
from membership.domain.model import (Accept, AddMember, ChangeWorkplace, Leave, Member, Registration, Release, Reveal,
                                     Transfer, Withdraw, evolve)
from membership.domain.organizations import KnownOrganization, check_primary
from membership.domain.transfers import (decide_accept, decide_change_workplace, decide_release, decide_transfer,
                                         decide_withdraw)
from platform_core.errors import ConcurrencyConflict, NotFound, NotYetProjected, RuleViolation

M, E1, E2, E3 = "member-1", "entity-1", "entity-2", "entity-3"
O1, O2, J, F, GONE = "organization-1", "organization-2", "organization-j", "organization-f", "organization-gone"
R1, R2 = "release-1", "release-2"
TODAY = date(2016, 10, 10)
COMMUNITY = "江岸区某社区党委"
ORGANIZATIONS = {
    O1: KnownOrganization(O1, "standalone", True, frozenset({E1}), "420102"),
    O2: KnownOrganization(O2, "standalone", True, frozenset({E2}), "420103"),
    J: KnownOrganization(J, "joint", True, frozenset({E2, E3}), "420103"),
    F: KnownOrganization(F, "functional", True, frozenset({E3}), "420103"),
    GONE: KnownOrganization(GONE, "standalone", False, frozenset({E2}), "420103"),
}
find = ORGANIZATIONS.get


def member(registration=Registration(O1), entity=E1, **changes) -> Member:
    return Member(M, "formal", date(2000, 1, 1), entity, registration, "found", **changes)


def replay(events, state):
    for event in events:
        state = evolve(state, event.type, event.payload)
    return state


def release(state, to=Registration(O2), to_entity=E2, release_id=R1, on=TODAY, days=30):
    command = Release(release_id, to_entity, "420103", to, state.organization_id, days)
    events = decide_release(state, M, command, on, find)
    return replay(events, state), events


# -- the organizations a command names ------------------------------------------------------------------------
def test_an_unknown_organization_is_not_yet_projected_and_retried_not_a_rule():
    with pytest.raises(NotYetProjected) as caught:
        check_primary(Registration("organization-new"), E1, find, "organization_id")
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (409, "not_yet_projected", 2)
    assert caught.value.rule is None


@pytest.mark.parametrize("organization, entity, rule, words", [
    (GONE, E2, "R13", "dissolved"),
    (F, E3, "R5", "functional"),
    (O2, E1, "R13", "does not cover entity"),
    (J, E1, "R13", "does not cover entity"),
])
def test_a_registration_names_an_active_organization_covering_the_entity(organization, entity, rule, words):
    with pytest.raises(RuleViolation, match=words) as caught:
        check_primary(Registration(organization), entity, find, "organization_id")
    assert caught.value.rule == rule and caught.value.field == "organization_id"


def test_joint_organizations_cover_each_of_their_entities_and_outside_ones_need_no_lookup():
    check_primary(Registration(J), E2, find, "f")
    check_primary(Registration(J), E3, find, "f")
    check_primary(Registration(outside_organization=COMMUNITY), E1, lambda _: pytest.fail("looked up"), "f")


def test_made_up_organizations_are_refused_everywhere():
    made_up = "organization-made-up"
    for attempt in (
            lambda: decide_add(AddMember("found", M, "formal", date(2000, 1, 1), E1, Registration(made_up)), TODAY, find),
            lambda: decide_reveal(member(Registration()), M, Reveal(Registration(made_up)), TODAY, find),
            lambda: decide_transfer(member(), M, Transfer(O1, Registration(made_up), E2), TODAY, find),
            lambda: release(member(), to=Registration(made_up)),
            lambda: decide_add_functional(member(), M, made_up, find)):
        with pytest.raises(NotYetProjected):
            attempt()
    with pytest.raises(RuleViolation, match="not a functional organization") as caught:
        decide_add_functional(member(), M, J, find)
    assert caught.value.rule == "R5"


# -- outside the campaign -----------------------------------------------------------------------------------
def test_a_member_registered_outside_the_campaign_is_not_hidden_and_transfers_in():
    outside = Registration(outside_organization=COMMUNITY)
    events = decide_add(AddMember("found", M, "formal", date(2000, 1, 1), E1, outside), TODAY, find)
    assert events[0].payload["outside_organization"] == COMMUNITY and events[0].payload["organization_id"] is None
    state = replay(events, None)
    assert not state.hidden and state.registration == outside
    with pytest.raises(RuleViolation, match="already registered"):
        decide_reveal(state, M, Reveal(Registration(O1)), TODAY, find)
    with pytest.raises(ConcurrencyConflict):
        decide_transfer(state, M, Transfer(O1, Registration(O1), E1), TODAY, find)
    moved = decide_transfer(state, M, Transfer(None, Registration(O1), E1), TODAY, find)
    assert moved[0].payload["from_outside_organization"] == COMMUNITY
    assert replay(moved, state).registration == Registration(O1)
    back_out = decide_transfer(member(), M, Transfer(O1, outside, E1), TODAY, find)
    assert replay(back_out, member()).registration == outside


def test_a_developed_member_is_registered_with_a_campaign_organization():
    with pytest.raises(RuleViolation, match="campaign organization"):
        decide_add(AddMember("developed", M, "probationary", TODAY, E1, Registration(outside_organization=COMMUNITY)),
                   TODAY, find)


# -- change of workplace ----------------------------------------------------------------------------------
def test_a_change_of_workplace_keeps_the_registration():
    events = decide_change_workplace(member(), M, ChangeWorkplace(E3), TODAY)
    assert events[0].type == "MemberWorkplaceChanged"
    assert events[0].payload == {"member_id": M, "from_entity_id": E1, "to_entity_id": E3}
    after = replay(events, member())
    assert (after.entity_id, after.registration) == (E3, Registration(O1))
    with pytest.raises(RuleViolation, match="already"):
        decide_change_workplace(after, M, ChangeWorkplace(E3), TODAY)


# -- release and acceptance ----------------------------------------------------------------------------------
def test_a_release_moves_nothing_until_the_target_accepts():
    released, events = release(member())
    assert events[0].type == "MemberReleased" and events[0].payload["expires_on"] == "2016-11-09"
    assert (released.entity_id, released.registration) == (E1, Registration(O1))  # still counted at the source
    accepted = decide_accept(released, M, Accept(R1), TODAY + timedelta(days=3), find)
    assert accepted[0].type == "MemberTransferred" and accepted[0].payload["release_id"] == R1
    after = replay(accepted, released)
    assert (after.entity_id, after.registration, after.release) == (E2, Registration(O2), None)


def test_a_workplace_release_is_accepted_as_a_change_of_workplace():
    released, events = release(member(), to=Registration(), to_entity=E3)
    assert events[0].payload["moves"] == "workplace"
    accepted = decide_accept(released, M, Accept(R1), TODAY, find)
    assert accepted[0].type == "MemberWorkplaceChanged"
    assert replay(accepted, released).registration == Registration(O1)


def test_a_release_expires_after_its_last_day():
    released, _ = release(member(), days=10)
    last_day = TODAY + timedelta(days=10)
    assert decide_accept(released, M, Accept(R1), last_day, find)
    with pytest.raises(RuleViolation, match="expired") as caught:
        decide_accept(released, M, Accept(R1), last_day + timedelta(days=1), find)
    assert caught.value.rule == "R13"
    again, _ = release(released, release_id=R2, on=last_day + timedelta(days=1))  # a lapsed release is replaced
    assert again.release.release_id == R2


def test_a_pending_release_holds_the_member_until_answered():
    released, _ = release(member())
    for attempt in (lambda: decide_transfer(released, M, Transfer(O1, Registration(J), E3), TODAY, find),
                    lambda: decide_change_workplace(released, M, ChangeWorkplace(E3), TODAY),
                    lambda: release(released, release_id=R2)):
        with pytest.raises(RuleViolation, match="withdraws it first"):
            attempt()
    with pytest.raises(NotFound):
        decide_accept(released, M, Accept(R2), TODAY, find)
    withdrawn = replay(decide_withdraw(released, M, Withdraw(R1, "对方单位未接收")), released)
    assert withdrawn.release is None
    with pytest.raises(NotFound):
        decide_accept(withdrawn, M, Accept(R1), TODAY, find)
    assert decide_transfer(withdrawn, M, Transfer(O1, Registration(J), E3), TODAY, find)


def test_acceptance_checks_the_target_organization_again():
    released, _ = release(member())
    dissolved = {**ORGANIZATIONS, O2: KnownOrganization(O2, "standalone", False, frozenset({E2}), "420103")}
    with pytest.raises(RuleViolation, match="dissolved"):
        decide_accept(released, M, Accept(R1), TODAY, dissolved.get)


def test_leaving_ends_a_pending_release():
    released, _ = release(member())
    gone = replay(decide_leave(released, M, Leave("death")), released)
    assert gone.release is None and not gone.active


# -- invariant: one registration, counted where the member works, moved only by an answered command -----------
steps = st.lists(st.tuples(
    st.sampled_from(["transfer", "workplace", "release", "release-workplace", "accept", "withdraw", "wait"]),
    st.sampled_from([Registration(O1), Registration(O2), Registration(J), Registration(outside_organization=COMMUNITY)]),
    st.sampled_from([E1, E2, E3]), st.integers(min_value=0, max_value=40)), max_size=30)


@given(steps)
def test_any_sequence_keeps_one_registration_and_moves_only_on_transfer_or_workplace_events(sequence):
    state, today, made = member(), TODAY, 0
    for operation, to, entity, days in sequence:
        try:
            if operation == "transfer":
                events = decide_transfer(state, M, Transfer(state.organization_id, to, entity), today, find)
            elif operation == "workplace":
                events = decide_change_workplace(state, M, ChangeWorkplace(entity), today)
            elif operation.startswith("release"):
                made += 1
                target = Registration() if operation == "release-workplace" else to
                events = decide_release(state, M, Release(f"release-{made}", entity, "420103", target,
                                                          state.organization_id, 30), today, find)
            elif operation == "accept":
                events = decide_accept(state, M, Accept(f"release-{made}"), today, find)
            elif operation == "withdraw":
                events = decide_withdraw(state, M, Withdraw(f"release-{made}", "撤回"))
            else:
                today += timedelta(days=days)
                continue
        except (RuleViolation, NotFound, ConcurrencyConflict):
            continue
        before = state
        state = replay(events, state)
        assert not (state.registration.organization_id and state.registration.outside_organization)
        if all(e.type not in ("MemberTransferred", "MemberWorkplaceChanged") for e in events):
            assert (state.entity_id, state.registration) == (before.entity_id, before.registration)
        if any(e.type == "MemberTransferred" for e in events) and state.organization_id is not None:
            assert state.entity_id in ORGANIZATIONS[state.organization_id].entity_ids  # where it may register


# -- personal data access -------------------------------------------------------------------------------------
def test_an_access_event_names_the_member_where_they_work_and_why():
    event = access_event("access-1", M, E1, "420102", "  组织关系转接 核对身份 ")
    assert event.type == "PersonalDataAccessed"
    assert event.payload == {"access_id": "access-1", "member_id": M, "entity_id": E1, "district_code": "420102",
                             "reason": "组织关系转接 核对身份", "fields": ["id_number", "name"]}
    assert access_event("access-2", M, E1, None, "核查党员信息").payload["district_code"] == "unknown"


@pytest.mark.parametrize("reason, words", [("", "give the reason"), ("看看", "give the reason"), ("x" * 201, "give"),
                                           ("核对 420102199001011234 是否一致", "identity or telephone"),
                                           ("联系 13800138000", "identity or telephone"),
                                           ("核对４２０１０２１９９００１０１１２３４", "identity or telephone")])
def test_a_reason_is_given_and_carries_no_personal_number(reason, words):
    with pytest.raises(RuleViolation, match=words) as caught:
        access_event("access-1", M, E1, "420102", reason)
    assert caught.value.field == "reason"


def test_free_text_going_into_events_carries_no_personal_number():
    with pytest.raises(RuleViolation, match="identity or telephone") as caught:
        check_primary(Registration(outside_organization="420102199001011234的党支部"), E1, find, "to_organization_id")
    assert caught.value.field == "to_outside_organization"
    released, _ = release(member())
    with pytest.raises(RuleViolation, match="identity or telephone"):
        decide_withdraw(released, M, Withdraw(R1, "联系人电话13800138000"))
