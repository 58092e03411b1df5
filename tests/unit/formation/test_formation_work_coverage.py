"""R6 work coverage (pure): the four ways, the end of an assignment, new organizations without guidance."""

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formation.domain import work_coverage as wc
from formation.domain.model import EntityFacts, Organization
from platform_core.contracts import event_types_for
from platform_core.errors import RuleViolation

CONTRACT = event_types_for("formation")
TODAY = date(2016, 11, 10)
CAMPAIGN_STARTS = date(2016, 8, 14)


def ids(n: int) -> list[str]:
    return [f"entity-{uuid.uuid4()}" for _ in range(n)]


def org(entity_ids, formed_on=date(2016, 10, 1), dissolved_on=None) -> Organization:
    return Organization(f"organization-{uuid.uuid4()}", "联合支部", "joint", "420102", None, tuple(entity_ids),
                        {"kind": "territorial", "unit": "420102", "name": "x"}, formed_on, dissolved_on)


def valid(event):
    CONTRACT.validate_payload(event.type, event.payload)
    return event


def assign(entity_ids=(), organizations=(), on=date(2016, 10, 20), role="instructor"):
    return valid(wc.decide_assignment(f"assignment-{uuid.uuid4()}", f"instructor-{uuid.uuid4()}", role,
                                      list(entity_ids), list(organizations), on, TODAY, "district_org"))


def as_assignment(event) -> wc.Assignment:
    p = event.payload
    return wc.Assignment(p["assignment_id"], p["instructor_id"], p["role"], event.stream_id, tuple(p["entity_ids"]),
                         tuple(p["organization_ids"]), date.fromisoformat(p["assigned_on"]))


def test_an_assignment_covers_its_entities_and_the_entities_of_the_organizations_it_guides():
    loose, joint_members = ids(2), ids(3)
    guided = org(joint_members)
    event = assign(loose, [guided])
    assert event.payload["entity_ids"] == loose + joint_members  # projections need no look-up
    assert event.payload["organization_ids"] == [guided.organization_id]
    assert event.stream_id == "workcoverage-" + loose[0].removeprefix("entity-")
    with pytest.raises(RuleViolation, match="name the entities or the organizations"):
        assign()
    with pytest.raises(RuleViolation, match="dissolved"):
        assign(organizations=[org(ids(2), dissolved_on=date(2016, 10, 5))])
    with pytest.raises(RuleViolation, match="before"):
        assign(organizations=[org(ids(2), formed_on=date(2016, 10, 21))])
    with pytest.raises(RuleViolation, match="future"):
        assign(loose, on=TODAY + timedelta(days=1))


@given(st.integers(min_value=-5, max_value=40))
def test_an_assignment_ends_between_its_start_and_today_once(offset):
    started = assign(ids(2))
    assignment = as_assignment(started)
    ended_on = assignment.assigned_on + timedelta(days=offset)
    if offset < 0 or ended_on > TODAY:
        with pytest.raises(RuleViolation) as refused:
            wc.decide_end_assignment(assignment, ended_on, "调离", TODAY)
        assert refused.value.field == "ended_on"
        return
    ended = valid(wc.decide_end_assignment(assignment, ended_on, "调离", TODAY))
    assert ended.stream_id == started.stream_id  # the same stream: an end never overtakes its start
    assert ended.payload["entity_ids"] == started.payload["entity_ids"]
    with pytest.raises(RuleViolation, match="ended on"):
        wc.decide_end_assignment(replace(assignment, ended_on=ended_on), ended_on, "again", TODAY)


def test_investor_education_is_for_enterprises_and_social_organizations():
    company, society, farm = (EntityFacts(e, k) for e, k in zip(ids(3), ("non_public_enterprise",
                                                                          "social_organization", "rural_entity")))
    facts = {f.entity_id: f for f in (company, society, farm)}
    event = valid(wc.decide_investor_education(f"education-{uuid.uuid4()}", [company.entity_id, society.entity_id],
                                               facts, date(2016, 10, 9), "出资人座谈会", TODAY, "united_front"))
    assert event.type == "InvestorEducationHeld" and event.payload["recorded_by"] == "united_front"
    with pytest.raises(RuleViolation) as refused:
        wc.decide_investor_education(f"education-{uuid.uuid4()}", [farm.entity_id], facts, date(2016, 10, 9), "x",
                                     TODAY, "federation_commerce")
    assert refused.value.rule == "R6"


def test_joint_member_development_names_one_developing_organization():
    entities, developer = ids(2), org(ids(2))
    by_org = valid(wc.decide_joint_development(f"jointdev-{uuid.uuid4()}", entities, date(2016, 10, 1), developer,
                                               None, TODAY, "district_org"))
    assert by_org.payload["organization_id"] == developer.organization_id
    assert by_org.payload["organization_name"] == developer.name
    outside = valid(wc.decide_joint_development(f"jointdev-{uuid.uuid4()}", entities, date(2016, 10, 1), None,
                                                "关山街道综合党委", TODAY, "district_org"))
    assert outside.payload["organization_id"] is None
    for organization, name in ((None, None), (developer, "两个都给")):
        with pytest.raises(RuleViolation, match="name the developing"):
            wc.decide_joint_development(f"jointdev-{uuid.uuid4()}", entities, date(2016, 10, 1), organization, name,
                                        TODAY, "district_org")


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 80)), min_size=1, max_size=8))
def test_a_new_organization_is_unguided_exactly_when_no_active_assignment_names_it(specs):
    """specs: per organization (has an assignment, the assignment ended, days after the campaign start formed)."""
    organizations, assignments = [], []
    for guided, ended, day in specs:
        organization = org(ids(2), formed_on=CAMPAIGN_STARTS + timedelta(days=day - 10))
        organizations.append(organization)
        if guided:
            assignment = as_assignment(assign(organizations=[organization], on=max(organization.formed_on,
                                                                                   date(2016, 8, 1))))
            assignments.append(replace(assignment, ended_on=TODAY) if ended else assignment)
    listed = {o["organization_id"] for o in wc.unguided(organizations, assignments, CAMPAIGN_STARTS, TODAY)}
    for organization, (guided, ended, _) in zip(organizations, specs):
        new = organization.formed_on >= CAMPAIGN_STARTS
        assert (organization.organization_id in listed) == (new and (not guided or ended))


def test_one_instructor_may_guide_several_new_organizations():
    first, second = org(ids(2)), org(ids(2))
    assignment = as_assignment(assign(organizations=[first, second]))
    assert wc.unguided([first, second], [assignment], CAMPAIGN_STARTS, TODAY) == []
    dissolved = org(ids(2), dissolved_on=date(2016, 10, 30))
    assert wc.unguided([dissolved], [], CAMPAIGN_STARTS, TODAY) == []
