"""Reporting's fold counts R6's four ways of work coverage, and an ended assignment no more (pure)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.fold import CampaignState


def _entity() -> str:
    return f"entity-{uuid.uuid4()}"


def test_each_way_is_a_source_and_an_ended_assignment_is_removed():
    a, b = _entity(), _entity()
    state = CampaignState()
    state.apply("InstructorAssigned", {"assignment_id": "assignment-1", "entity_ids": [a, b]})
    state.apply("InvestorEducationHeld", {"education_id": "education-1", "entity_ids": [a]})
    state.apply("JointMemberDevelopmentStarted", {"arrangement_id": "jointdev-1", "entity_ids": [b]})
    assert state.work == {a: {"assignment-1", "education-1"}, b: {"assignment-1", "jointdev-1"}}
    state.apply("InstructorAssignmentEnded", {"assignment_id": "assignment-1", "entity_ids": [a, b]})
    assert state.work == {a: {"education-1"}, b: {"jointdev-1"}}
    assert {a, b} <= state.dirty["work"] and {a, b} <= state.touched


@given(st.lists(st.tuples(st.sampled_from(["assign", "educate", "develop", "end"]), st.integers(0, 3)), max_size=30))
def test_an_entity_is_work_covered_exactly_while_some_source_is_open(steps):
    entity, state, open_sources = _entity(), CampaignState(), set()
    for n, (way, index) in enumerate(steps):
        assignment = f"assignment-{index}"
        if way == "assign" and assignment not in open_sources:
            state.apply("InstructorAssigned", {"assignment_id": assignment, "entity_ids": [entity]})
            open_sources.add(assignment)
        elif way == "end" and assignment in open_sources:
            state.apply("InstructorAssignmentEnded", {"assignment_id": assignment, "entity_ids": [entity]})
            open_sources.discard(assignment)
        elif way == "educate":
            state.apply("InvestorEducationHeld", {"education_id": f"education-{n}", "entity_ids": [entity]})
            open_sources.add(f"education-{n}")
        elif way == "develop":
            state.apply("JointMemberDevelopmentStarted", {"arrangement_id": f"jointdev-{n}", "entity_ids": [entity]})
            open_sources.add(f"jointdev-{n}")
    assert state.work.get(entity, set()) == open_sources
