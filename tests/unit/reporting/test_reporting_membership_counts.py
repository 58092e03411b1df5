"""Membership's count is authoritative from the first membership event naming an entity, 0 included
(docs/rules.md, R13), and a survey-declared organization counts until formation records one (R7).
The fold and the derived status, at the edges: transfer out to 0, leave to 0, reveal then transfer back."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.fold import CampaignState
from reporting.domain.rates import aggregate
from reporting.domain.status import derive_status

A, B = "entity-a", "entity-b"


def register(state: CampaignState, entity: str, employees=60, formal=1, probationary=0, organization="none"):
    state.apply("EntityRegistered", {
        "entity_id": entity, "name": entity, "kind": "non_public_enterprise", "subtype": "private",
        "district_code": "420102", "street_code": "420102001", "industry": "other", "employees": employees,
        "formal_members": formal, "probationary_members": probationary, "party_organization": organization})
    state.apply("LedgerApproved", {"unit": "street-420102001", "entity_ids": [entity]})


def member(state: CampaignState, entity: str, standing="formal", organization="organization-x") -> str:
    member_id = f"member-{uuid.uuid4()}"
    state.apply("MemberRegistered", {"member_id": member_id, "standing": standing, "entity_id": entity,
                                     "organization_id": organization})
    return member_id


def transfer(state: CampaignState, member_id: str, source: str, target: str) -> None:
    state.apply("MemberTransferred", {"member_id": member_id, "from_entity_id": source, "to_entity_id": target,
                                      "from_organization_id": "organization-x", "to_organization_id": "organization-y"})


def statuses(state: CampaignState):
    return {e: derive_status(e, inputs) for e, inputs in state.all_inputs().items()}


def test_a_member_transferred_out_to_zero_no_longer_counts_at_the_source():
    state = CampaignState()
    register(state, A, formal=1)  # the survey said 1 formal member
    register(state, B, formal=0)
    moved = member(state, A)
    transfer(state, moved, A, B)
    s = statuses(state)
    assert (s[A].formal_members, s[B].formal_members) == (0, 1)  # not the survey's 1 at A: no double count
    assert not s[A].member_requirement_met and s[B].member_requirement_met  # R2b: 60 employees, no member left
    city = aggregate(s.values(), lambda _: "city")["city"]
    assert city.formal_members == 1


def test_a_member_who_left_leaves_zero_not_the_survey_figure():
    state = CampaignState()
    register(state, A, formal=2)
    gone = member(state, A)
    state.apply("MemberLeft", {"member_id": gone, "reason": "left", "standing": "formal", "entity_id": A})
    assert statuses(state)[A].formal_members == 0


def test_reveal_at_another_entity_then_transfer_back():
    state = CampaignState()
    register(state, A, formal=0)
    register(state, B, formal=3)  # the survey's 3 formal members at B: R2 and R3 by the survey
    hidden = member(state, A, organization=None)
    assert statuses(state)[B].formal_members == 3 and statuses(state)[B].r3_violation
    state.apply("MemberRevealed", {"member_id": hidden, "organization_id": "organization-y", "entity_id": B})
    s = statuses(state)
    assert (s[A].formal_members, s[B].formal_members) == (0, 1)  # membership now speaks for both
    assert not s[B].r3_violation and s[B].required_reason is None
    transfer(state, hidden, B, A)
    s = statuses(state)
    assert (s[A].formal_members, s[B].formal_members) == (1, 0)


@given(st.lists(st.tuples(st.sampled_from(["add", "move", "leave"]), st.booleans()), max_size=25),
       st.integers(0, 5), st.integers(0, 5))
def test_each_active_member_is_counted_once_whatever_the_survey_said(steps, survey_a, survey_b):
    state = CampaignState()
    register(state, A, formal=survey_a)
    register(state, B, formal=survey_b)
    where: dict[str, str] = {}
    for action, flag in steps:
        if action == "add" or not where:
            entity = A if flag else B
            where[member(state, entity)] = entity
        elif action == "move":
            member_id = sorted(where)[0]
            target = B if where[member_id] == A else A
            transfer(state, member_id, where[member_id], target)
            where[member_id] = target
        else:
            member_id = sorted(where)[-1]
            state.apply("MemberLeft", {"member_id": member_id, "reason": "left", "standing": "formal",
                                       "entity_id": where.pop(member_id)})
    s = statuses(state)
    named = set(state.member_named)
    for entity, survey in ((A, survey_a), (B, survey_b)):
        expected = sum(1 for e in where.values() if e == entity) if entity in named else survey
        assert s[entity].formal_members == expected


def test_a_survey_declared_organization_counts_until_formation_records_one():
    state = CampaignState()
    register(state, A, formal=3, organization="standalone")
    s = statuses(state)[A]
    assert s.organization_covered and s.standalone_covered and s.declared_organization == "standalone"
    assert s.task_state == "declared" and not s.r3_violation
    state.apply("OrganizationFormed", {"organization_id": "organization-1", "mode": "joint", "entity_ids": [A]})
    s = statuses(state)[A]
    assert s.declared_organization is None and s.modes == ("joint",) and s.r3_violation
    state.apply("OrganizationDissolved", {"organization_id": "organization-1", "mode": "joint", "entity_ids": [A]})
    s = statuses(state)[A]  # formation's record stays authoritative: dissolved means uncovered
    assert not s.organization_covered and s.task_state == "open"


@given(st.sampled_from(["none", "standalone", "joint", "functional"]), st.integers(0, 5), st.booleans())
def test_declared_organizations_count_like_recorded_ones(declared, formal, recorded):
    state = CampaignState()
    register(state, A, formal=formal, organization=declared)
    if recorded:
        state.apply("OrganizationFormed", {"organization_id": "organization-1", "mode": "standalone",
                                           "entity_ids": [A]})
    s = statuses(state)[A]
    mode = "standalone" if recorded else (None if declared == "none" else declared)
    assert s.organization_covered == (mode is not None)
    assert s.standalone_covered == (mode == "standalone")
    assert s.r3_violation == (formal >= 3 and mode != "standalone")
    assert (s.declared_organization is not None) == (not recorded and declared != "none")
