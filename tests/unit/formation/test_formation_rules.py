"""Formation's pure rules at their boundaries: R3 standalone, R4 joint, R5 functional, R8, R9."""

import uuid
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formation.domain import checks, rules
from formation.domain.model import (Coverage, EntityFacts, FormOrganization, Organization, ProjectedFactRefusal,
                                    RecordCheck, TaskStatus)
from platform_core.contracts import event_types_for
from platform_core.errors import RuleViolation

TODAY = date(2016, 11, 1)
CONTRACT = event_types_for("formation")
ACCEPTANCE = checks.CheckWindow("acceptance", date(2016, 11, 21), date(2016, 12, 5))


def entity(formal: int, **extra) -> EntityFacts:
    return EntityFacts(f"entity-{uuid.uuid4()}", extra.pop("kind", "non_public_enterprise"), district_code="420102",
                       street_code="420102001", formal_members=formal, in_baseline=True, **extra)


def command(mode: str, entities: list[EntityFacts], basis: str | None = "region") -> FormOrganization:
    return FormOrganization(f"organization-{uuid.uuid4()}", mode, "支部", tuple(e.entity_id for e in entities),
                            date(2016, 9, 1), grouping_basis=basis)


def form(mode, entities, coverage=None, basis="region"):
    facts = {e.entity_id: e for e in entities}
    affiliation = rules.derive_affiliation(entities)
    events = rules.decide_form(command(mode, entities, basis), facts, coverage or {}, affiliation, TODAY)
    for event in events:  # every decided event satisfies the published contract
        CONTRACT.validate_payload(event.type, event.payload)
    return events


@given(st.integers(min_value=0, max_value=50))
def test_standalone_boundary_is_three_formal_members(formal):
    one = entity(formal)
    if formal >= 3:
        assert form("standalone", [one])[0].payload["formal_members"] == {one.entity_id: formal}
    else:
        with pytest.raises(RuleViolation) as refused:
            form("standalone", [one])
        assert refused.value.rule == "R3"


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=2, max_size=8))
def test_joint_needs_each_below_three_and_together_three(counts):
    entities = [entity(n) for n in counts]
    if any(n >= 3 for n in counts):
        with pytest.raises(RuleViolation) as refused:
            form("joint", entities)
        first = next(e for e in entities if e.formal_members >= 3)
        assert refused.value.message == (f"R3: entity {first.entity_id} has {first.formal_members} formal members "
                                         "and must form its own organization")
    elif sum(counts) < 3:
        with pytest.raises(RuleViolation) as refused:
            form("joint", entities)
        assert refused.value.rule == "R4"
    else:
        payload = form("joint", entities)[0].payload
        assert payload["mode"] == "joint" and payload["grouping_basis"] == "region"


def test_joint_needs_a_basis_and_two_entities():
    with pytest.raises(RuleViolation, match="grouping basis"):
        form("joint", [entity(2), entity(1)], basis=None)
    with pytest.raises(RuleViolation, match="at least two"):
        form("joint", [entity(2)])


def test_covered_entities_cannot_be_formed_again():
    one = entity(1)
    covered = {one.entity_id: Coverage({"joint": ("organization-x",)})}
    with pytest.raises(RuleViolation, match="already covered"):
        form("joint", [one, entity(2)], covered)
    big = entity(3)
    with pytest.raises(RuleViolation, match="restructure"):
        form("standalone", [big], {big.entity_id: Coverage({"joint": ("organization-x",)})})


def test_functional_is_for_social_organizations_only():
    with pytest.raises(RuleViolation) as refused:
        form("functional", [entity(0)])
    assert refused.value.rule == "R5"
    society = entity(0, kind="social_organization", level="city", public_sector_staffed=True)
    assert form("functional", [society])[0].payload["mode"] == "functional"


@given(st.sampled_from([True, False, None]), st.integers(min_value=0, max_value=10))
def test_functional_needs_the_survey_fact_of_public_sector_staffing(staffed, formal):
    """R5: staffed mainly by 机关事业单位人员 (recorded in the survey), whatever the member count."""
    society = entity(formal, kind="social_organization", level="district", public_sector_staffed=staffed)
    if staffed is True:
        assert form("functional", [society])[0].payload["entity_ids"] == [society.entity_id]
        return
    with pytest.raises(ProjectedFactRefusal) as refused:  # final only once formation has seen registry.events
        form("functional", [society])
    assert refused.value.rule == "R5" and "机关事业单位人员" in refused.value.message


@pytest.mark.parametrize("facts, expected", [
    (dict(kind="non_public_enterprise"), {"kind": "territorial", "unit": "420102001"}),
    (dict(kind="rural_entity"), {"kind": "territorial", "unit": "420102001"}),
    (dict(kind="social_organization", level="district"), {"kind": "territorial", "unit": "420102"}),
    (dict(kind="social_organization", level="city", supervising_department="education"),
     {"kind": "supervising_department", "unit": "education"}),
    (dict(kind="social_organization", level="city"), {"kind": "civil_affairs", "unit": "civil_affairs"}),
])
def test_affiliation_r8(facts, expected):
    found = rules.derive_affiliation([entity(3, **facts)])
    assert {k: found[k] for k in ("kind", "unit")} == expected


def test_joint_across_streets_is_affiliated_to_the_district():
    a, b = entity(1), EntityFacts(f"entity-{uuid.uuid4()}", "non_public_enterprise", district_code="420102",
                                  street_code="420102002", formal_members=2)
    assert rules.derive_affiliation([a, b])["unit"] == "420102"


def _org(entities, mode="standalone"):
    return Organization(f"organization-{uuid.uuid4()}", "支部", mode, "420102", None,
                        tuple(e.entity_id for e in entities), {"kind": "territorial", "unit": "420102", "name": "x"},
                        date(2016, 9, 1), version=1)


def _check(org, passed, findings=()):
    return RecordCheck(f"check-{uuid.uuid4()}", org.organization_id, passed, tuple(findings), date(2016, 11, 22),
                       "city_org")


def test_passed_check_closes_baseline_tasks_and_leaves_others_checked():
    inside, outside = entity(1), EntityFacts(f"entity-{uuid.uuid4()}", "non_public_enterprise", formal_members=2)
    org = _org([inside, outside], "joint")
    events, states = rules.decide_check(org, _check(org, True), {inside.entity_id: inside,
                                                                 outside.entity_id: outside}, {}, date(2016, 11, 25),
                                        ACCEPTANCE)
    assert [e.type for e in events] == ["OrganizationChecked", "OrganizationClosed"]
    assert states == {inside.entity_id: "closed", outside.entity_id: "checked"}
    for event in events:
        CONTRACT.validate_payload(event.type, event.payload)


def test_failed_check_reopens_and_needs_findings():
    one = entity(3)
    org = _org([one])
    with pytest.raises(RuleViolation, match="findings"):
        rules.decide_check(org, _check(org, False), {one.entity_id: one}, {}, date(2016, 11, 25), ACCEPTANCE)
    events, states = rules.decide_check(org, _check(org, False, ["无活动"]), {one.entity_id: one}, {},
                                        date(2016, 11, 25), ACCEPTANCE)
    assert [e.type for e in events] == ["OrganizationChecked", "TaskReopened"]
    assert events[1].payload["reason"] == "acceptance_check_failed" and states[one.entity_id] == "organization_formed"


def test_check_date_boundaries():
    """A check dates inside its window, on or after the formation, and not after the business date."""
    one = entity(3)
    org = replace(_org([one]), formed_on=date(2016, 11, 23))

    def check(on: date, today: date = date(2016, 11, 30)):
        command = RecordCheck("check-" + str(uuid.uuid4()), org.organization_id, True, (), on, "x")
        return rules.decide_check(org, command, {one.entity_id: one}, {}, today, ACCEPTANCE)

    with pytest.raises(RuleViolation, match="between the formation"):
        check(date(2016, 11, 22))
    check(date(2016, 11, 23))
    with pytest.raises(RuleViolation, match="between the formation"):
        check(date(2016, 11, 30), today=date(2016, 11, 29))


def test_dissolving_reopens_closed_tasks_only():
    closed, formed = entity(1), entity(2)
    org = _org([closed, formed], "joint")
    tasks = {closed.entity_id: TaskStatus(closed.entity_id, "closed", org.organization_id)}
    events = rules.decide_dissolve(org, date(2016, 10, 1), "企业注销", tasks, TODAY)
    assert [e.type for e in events] == ["OrganizationDissolved", "TaskReopened"]
    assert events[1].payload["entity_id"] == closed.entity_id and events[1].payload["state"] == "open"


def test_restructure_boundaries():
    grower, b, c = entity(3), entity(2), entity(1)
    joint = _org([grower, b, c], "joint")
    facts = {e.entity_id: e for e in (grower, b, c)}
    coverage = {e: Coverage({"joint": (joint.organization_id,)}) for e in facts}
    new = FormOrganization(f"organization-{uuid.uuid4()}", "standalone", "支部", (grower.entity_id,), TODAY)
    events = rules.decide_restructure(joint, grower.entity_id, new, facts, coverage, {"kind": "territorial",
                                      "unit": "420102001", "name": "x"}, TODAY, "R3")
    assert [e.type for e in events] == ["OrganizationRestructured", "OrganizationFormed"]
    assert events[0].payload["remaining_entity_ids"] == [b.entity_id, c.entity_id]
    assert events[1].payload["restructured_from"] == joint.organization_id
    small = FormOrganization(new.organization_id, "standalone", "支部", (b.entity_id,), TODAY)
    with pytest.raises(RuleViolation) as refused:  # b has 2: not enough for its own
        rules.decide_restructure(joint, b.entity_id, small, facts, coverage, {}, TODAY, "x")
    assert refused.value.rule in ("R3", "R4")


def test_r3_violations_list():
    grower, fine = entity(3), entity(2)
    coverage = {grower.entity_id: Coverage({"joint": ("organization-j",)}),
                fine.entity_id: Coverage({"joint": ("organization-j",)})}
    found = rules.r3_violations([grower, fine], coverage)
    assert [v["entity_id"] for v in found] == [grower.entity_id]
    assert rules.r3_violations([grower], {grower.entity_id: Coverage({"joint": ("j",), "standalone": ("s",)})}) == []


@given(st.integers(0, 6), st.sets(st.sampled_from(["standalone", "joint", "functional"])),
       st.sampled_from(["none", "standalone", "joint", "functional"]), st.booleans())
def test_r3_violations_include_entities_without_any_organization(formal, modes, declared, recorded):
    """R3 (docs/rules.md): 3 formal members and no standalone organization, whether none at all or only a joint
    or functional one; a survey-declared organization counts while formation has recorded none."""
    one = entity(formal, declared_organization=declared, organization_recorded=recorded or bool(modes))
    coverage = {one.entity_id: Coverage({m: (f"organization-{m}",) for m in modes})} if modes else {}
    found = rules.r3_violations([one], coverage)
    effective = set(modes) | ({declared} if declared != "none" and not (recorded or modes) else set())
    assert bool(found) == (formal >= 3 and "standalone" not in effective)
    if found:
        assert found[0]["rule"] == "R3" and found[0]["formal_members"] == formal


def test_required_reason_uses_the_effective_member_count():
    assert entity(3, employees=5).required_reason == "R2：有3名及以上正式党员"
    assert entity(2, employees=5).required_reason is None
    assert entity(0, employees=100).required_reason == "R2：职工100人以上的非公企业"
