"""The membership rules as pure decisions (R5, R13); the clock is an argument."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membership.domain.calendar import anniversary
from membership.domain.decisions import (decide_add, decide_add_functional, decide_confirm, decide_leave,
                                         decide_remove_functional, decide_reveal)
from membership.domain.model import AddMember, Leave, Member, Registration, Reveal, Transfer, evolve
from membership.domain.organizations import KnownOrganization
from membership.domain.transfers import decide_transfer
from platform_core.errors import ConcurrencyConflict, NotFound, RuleViolation

M, E1, E2 = "member-1", "entity-1", "entity-2"
O1, O2, F1 = "organization-1", "organization-2", "organization-f"
TODAY = date(2016, 9, 20)
admissions = st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31))
ORGANIZATIONS = {  # O1 and O2 cover both entities, so the rules below are tested apart from coverage
    O1: KnownOrganization(O1, "joint", True, frozenset({E1, E2}), "420102"),
    O2: KnownOrganization(O2, "joint", True, frozenset({E1, E2}), "420102"),
    F1: KnownOrganization(F1, "functional", True, frozenset({E2}), "420102"),
    "organization-3": KnownOrganization("organization-3", "standalone", True, frozenset({E2}), "420102"),
}
find = ORGANIZATIONS.get


def at(organization_id: str | None) -> Registration:
    return Registration(organization_id)


def member(**changes) -> Member:
    organization = changes.pop("organization_id", O1)
    base = Member(member_id=M, standing="formal", admitted_on=date(2000, 1, 1), entity_id=E1,
                  registration=Registration(organization), way="found")
    return Member(**(base.__dict__ | changes))


def replay(events, state=None):
    for event in events:
        state = evolve(state, event.type, event.payload)
    return state


# -- adding members ------------------------------------------------------------
def test_found_hidden_member_has_no_registration():
    events = decide_add(AddMember("found", M, "formal", date(2000, 1, 1), E1, at(None)), TODAY, find)
    assert [e.type for e in events] == ["MemberRegistered"]
    assert replay(events).hidden


def test_developed_member_is_probationary_with_an_organization():
    with pytest.raises(RuleViolation, match="probationary"):
        decide_add(AddMember("developed", M, "formal", TODAY, E1, at(O1)), TODAY, find)
    with pytest.raises(RuleViolation, match="organization_id"):
        decide_add(AddMember("developed", M, "probationary", TODAY, E1, at(None)), TODAY, find)
    events = decide_add(AddMember("developed", M, "probationary", TODAY, E1, at(O1)), TODAY, find)
    assert events[0].type == "MemberDeveloped" and replay(events).standing == "probationary"


def test_recruited_member_event():
    events = decide_add(AddMember("recruited", M, "formal", date(2001, 5, 1), E2, at(None)), TODAY, find)
    assert events[0].type == "MemberRecruited" and replay(events).way == "recruited"


def test_admission_in_the_future_is_refused():
    with pytest.raises(RuleViolation, match="admitted_on") as caught:
        decide_add(AddMember("found", M, "probationary", TODAY + timedelta(days=1), E1, at(O1)), TODAY, find)
    assert caught.value.rule == "R13"


@given(admissions)
def test_formal_standing_needs_a_full_year_exactly(admitted):
    command = AddMember("found", M, "formal", admitted, E1, at(O1))
    due = anniversary(admitted)
    with pytest.raises(RuleViolation, match="probationary until"):
        decide_add(command, due - timedelta(days=1), find)
    assert decide_add(command, due, find)[0].payload["standing"] == "formal"


# -- confirmation: the boundary day -------------------------------------------------
@given(admissions)
def test_confirm_no_earlier_than_one_year_after_admission(admitted):
    probationary = member(standing="probationary", admitted_on=admitted)
    due = anniversary(admitted)
    with pytest.raises(RuleViolation, match=f"may be confirmed on {due} at the earliest") as caught:
        decide_confirm(probationary, M, due - timedelta(days=1))
    assert caught.value.rule == "R13"
    events = decide_confirm(probationary, M, due)
    assert events[0].payload["confirmed_on"] == due.isoformat()
    assert replay(events, probationary).standing == "formal"


def test_leap_day_admission_is_confirmed_on_1_march():
    probationary = member(standing="probationary", admitted_on=date(2016, 2, 29))
    with pytest.raises(RuleViolation):
        decide_confirm(probationary, M, date(2017, 2, 28))
    assert decide_confirm(probationary, M, date(2017, 3, 1))


def test_formal_member_cannot_be_confirmed_again():
    with pytest.raises(RuleViolation, match="already a formal member"):
        decide_confirm(member(), M, TODAY)


# -- reveal and transfer ---------------------------------------------------------------
def test_reveal_registers_a_hidden_member_only():
    hidden = member(organization_id=None)
    events = decide_reveal(hidden, M, Reveal(at(O2)), TODAY, find)
    assert replay(events, hidden).organization_id == O2 and events[0].payload["entity_id"] == E1
    with pytest.raises(RuleViolation, match="transfer"):
        decide_reveal(member(), M, Reveal(at(O2)), TODAY, find)


def test_transfer_moves_both_organization_and_entity():
    events = decide_transfer(member(), M, Transfer(O1, at(O2), E2), TODAY, find)
    assert events[0].payload == {"member_id": M, "from_organization_id": O1, "from_entity_id": E1,
                                 "to_organization_id": O2, "to_entity_id": E2}
    after = replay(events, member())
    assert (after.organization_id, after.entity_id) == (O2, E2)


def test_transfer_from_the_wrong_organization_is_a_conflict():
    with pytest.raises(ConcurrencyConflict, match="transferred meanwhile"):
        decide_transfer(member(), M, Transfer(O2, at(F1), E2), TODAY, find)


def test_transfer_of_a_hidden_member_or_to_the_same_place_is_refused():
    with pytest.raises(RuleViolation, match="reveal"):
        decide_transfer(member(organization_id=None), M, Transfer(O1, at(O2), E2), TODAY, find)
    with pytest.raises(RuleViolation, match="must change"):
        decide_transfer(member(), M, Transfer(O1, at(O1), E1), TODAY, find)


def test_transfer_into_a_functional_organization_is_refused():
    for state in (member(functional=frozenset({F1})), member()):
        with pytest.raises(RuleViolation) as caught:
            decide_transfer(state, M, Transfer(O1, at(F1), E2), TODAY, find)
        assert caught.value.rule == "R5"


# -- functional membership (R5) -------------------------------------------------------
def test_functional_membership_keeps_the_primary_registration():
    events = decide_add_functional(member(), M, F1, find)
    after = replay(events, member())
    assert after.organization_id == O1 and after.functional == {F1}
    assert replay(decide_remove_functional(after, M, F1), after).functional == frozenset()


@pytest.mark.parametrize("state, organization, match", [
    (member(organization_id=None), F1, "no primary registration"),
    (member(), O1, "primary registration already"),
    (member(functional=frozenset({F1})), F1, "already belongs"),
])
def test_functional_membership_refusals(state, organization, match):
    with pytest.raises(RuleViolation, match=match) as caught:
        decide_add_functional(state, M, organization, find)
    assert caught.value.rule == "R5"


def test_removing_an_absent_functional_membership_is_not_found():
    with pytest.raises(NotFound):
        decide_remove_functional(member(), M, F1)


# -- leaving, and members that do not exist ------------------------------------------
def test_a_member_who_left_cannot_change():
    events = decide_leave(member(functional=frozenset({F1})), M, Leave("death"))
    assert events[0].payload["functional_organization_ids"] == [F1]
    gone = replay(events, member(functional=frozenset({F1})))
    assert not gone.active and gone.functional == frozenset()
    for attempt in (lambda: decide_leave(gone, M, Leave("left")), lambda: decide_confirm(gone, M, TODAY),
                    lambda: decide_transfer(gone, M, Transfer(O1, at(O2), E2), TODAY, find)):
        with pytest.raises(RuleViolation, match="has left"):
            attempt()


def test_unknown_member_is_not_found():
    with pytest.raises(NotFound):
        decide_confirm(None, M, TODAY)


# -- invariant: exactly one primary registration, functional ones apart ------------------
operations = st.lists(st.tuples(st.sampled_from(["transfer", "functional+", "functional-", "reveal"]),
                                st.sampled_from([O1, O2, F1, "organization-3"]),
                                st.sampled_from([E1, E2])), max_size=25)


@given(operations)
def test_any_sequence_keeps_one_primary_registration_outside_the_functional_set(steps):
    state = member()
    for operation, organization, entity in steps:
        try:
            if operation == "transfer":
                events = decide_transfer(state, M, Transfer(state.organization_id, at(organization), entity), TODAY,
                                         find)
            elif operation == "functional+":
                events = decide_add_functional(state, M, organization, find)
            elif operation == "functional-":
                events = decide_remove_functional(state, M, organization)
            else:
                events = decide_reveal(state, M, Reveal(at(organization), entity), TODAY, find)
        except (RuleViolation, NotFound, ConcurrencyConflict):
            continue
        state = replay(events, state)
        assert state.organization_id is not None
        assert state.organization_id not in state.functional
