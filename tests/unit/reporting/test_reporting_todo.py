"""The daily to-do lists (pure): each list over statuses derived by derive_status, at the rule boundaries (2/3
formal members, 49/50 employees, the plan's target day), in scope by district, street and ledger unit, and who
may read which scope."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.auth import Principal
from reporting.domain import todo
from reporting.domain.fold import PlanState
from reporting.domain.status import Inputs, derive_status

TODAY = date(2016, 10, 10)


def facts(employees=10, formal=0, probationary=0, kind="non_public_enterprise", subtype="private", street="420102001",
          party_organization="none", level=None, supervising=None):
    return {"name": "单位", "kind": kind, "subtype": subtype, "district_code": street[:6], "street_code": street,
            "employees": employees, "formal_members": formal, "probationary_members": probationary,
            "industry": "other", "party_organization": party_organization, "level": level,
            "supervising_department": supervising}


def entity(f=None, *, approved="street-420102001", organizations=(), work=0, flags=frozenset(), plan=None,
           entity_id="entity-1") -> todo.TodoEntity:
    inputs = Inputs(f or facts(), approved=approved is not None, flags=flags, organizations=organizations,
                    formation_named=bool(organizations), work_sources=work)
    return todo.TodoEntity(derive_status(entity_id, inputs), approved, plan)


def listed(key: str, *entities, today=TODAY, **scope) -> bool:
    return bool(todo.todo(key, entities, today, **scope))


@given(st.integers(0, 6), st.sampled_from([(), (("o", "joint"),), (("o", "standalone"),), (("o", "functional"),)]))
def test_standalone_list_from_three_formal_members_without_a_standalone_organization(formal, organizations):
    e = entity(facts(formal=formal), organizations=organizations)
    assert listed("standalone", e) == (formal >= 3 and not any(m == "standalone" for _, m in organizations))


def test_standalone_boundary_two_and_three():
    assert not listed("standalone", entity(facts(formal=2)))
    assert listed("standalone", entity(facts(formal=3)))


@given(st.integers(0, 200), st.integers(0, 2), st.integers(0, 2))
def test_member_list_from_fifty_employees_without_any_member(employees, formal, probationary):
    e = entity(facts(employees=employees, formal=formal, probationary=probationary))
    assert listed("member", e) == (employees >= 50 and formal + probationary == 0)


def test_member_boundary_forty_nine_and_fifty():
    assert not listed("member", entity(facts(employees=49)))
    assert listed("member", entity(facts(employees=50)))
    assert not listed("member", entity(facts(employees=50, probationary=1)))  # a probationary member is a member
    assert not listed("member", entity(facts(employees=80, kind="social_organization", subtype="social_group",
                                             level="district")))  # R2b is of non-public enterprises


@given(st.integers(0, 2), st.booleans())
def test_uncovered_list_neither_organization_nor_work(work, organized):
    e = entity(organizations=(("o", "joint"),) if organized else (), work=work)
    assert listed("uncovered", e) == (not organized and work == 0)


@given(st.integers(-3, 3), st.booleans())
def test_plans_list_after_the_target_day_only_without_an_organization(offset, organized):
    plan = PlanState("plan-1", "一企一策", TODAY.isoformat(), "书记")
    e = entity(plan=plan, organizations=(("o", "joint"),) if organized else ())
    assert listed("plans_overdue", e, today=TODAY + timedelta(days=offset)) == (offset >= 1 and not organized)
    assert not listed("plans_overdue", entity(), today=TODAY + timedelta(days=offset))  # no plan, nothing overdue


def test_plans_row_counts_days_overdue_as_a_number():
    plan = PlanState("plan-1", "一社一策", "2016-10-01", "秘书长", "2016-09-20")
    e = entity(plan=plan)
    row = todo.row("plans_overdue", e, TODAY, lambda kind, code: code or "")
    assert row["days_overdue"] == 9 and row["target_date"] == date(2016, 10, 1)
    assert row["last_noted_on"] == date(2016, 9, 20) and row["plan_label"] == "一社一策"


def test_unlisted_and_declared_lists():
    assert listed("unlisted", entity(approved=None))
    assert not listed("unlisted", entity(approved=None, flags=frozenset({"shell"})))  # out of the baseline anyway
    assert not listed("unlisted", entity())
    declared = entity(facts(party_organization="joint"))
    assert listed("declared", declared) and not listed("uncovered", declared)  # declared counts as covered (R7)
    recorded = entity(facts(party_organization="joint"), organizations=(("o", "joint"),))
    assert not listed("declared", recorded)
    for key in ("standalone", "member", "uncovered", "declared"):  # the other lists are of the baseline
        assert not listed(key, entity(facts(formal=3, employees=60), approved=None))


def test_scope_by_district_street_and_ledger_unit():
    e = entity(facts(formal=3, street="420102002"), approved="district-420102-enterprise")
    assert listed("standalone", e, district="420102") and not listed("standalone", e, district="420103")
    assert listed("standalone", e, street="420102002") and not listed("standalone", e, street="420102001")
    for unit in ("district-420102-enterprise", "street-420102002"):
        assert listed("standalone", e, ledger_unit=unit)
    assert not listed("standalone", e, ledger_unit="street-420102001")
    society = entity(facts(formal=3, kind="social_organization", subtype="social_group", level="city",
                           supervising="education"), approved="supervisor-education")
    assert {"supervisor-education", "city-organs"} <= todo.ledger_units(society)
    assert listed("standalone", society, ledger_unit="city-organs")


@pytest.mark.parametrize("principal,scope,allowed", [
    (Principal("district_org:420102", "district_org", "u", "420102"), ("420102", None, None), True),
    (Principal("district_org:420102", "district_org", "u", "420102"), (None, "420102001", None), True),
    (Principal("district_org:420102", "district_org", "u", "420102"), ("420103", None, None), False),
    (Principal("district_org:420102", "district_org", "u", "420102"), (None, None, "street-420103001"), False),
    (Principal("district_org:420102", "district_org", "u", "420102"), (None, None, "civil-affairs"), False),
    (Principal("street_office:420102001", "street_office", "u", "420102001"), ("420102", None, None), False),
    (Principal("city_org", "city_org", "u"), (None, None, "supervisor-health"), True),
    (Principal("civil_affairs", "civil_affairs", "u"), (None, None, "civil-affairs"), True),
    (Principal("civil_affairs", "civil_affairs", "u"), (None, None, "supervisor-health"), False),
    (Principal("health", "health", "u"), (None, None, "supervisor-health"), True),
    (Principal("education", "education", "u"), (None, None, "supervisor-health"), False),
    (Principal("city_organs_committee", "city_organs_committee", "u"), (None, None, "city-organs"), True),
])
def test_who_reads_which_scope(principal, scope, allowed):
    assert (todo.refusal(principal, *scope) is None) is allowed


def test_the_dashboard_board_marks_a_plan_past_its_target_date():
    from platform_core.reference import load_calendar
    from reporting.dashboard import board

    def task(target, covered):
        return {"entity_id": "entity-1", "name": "单位", "task_state": "organization_formed" if covered else "open",
                "organization_covered": covered, "work_covered": False, "required_reason": None,
                "plan_target_date": target}

    marks = [t["plan_overdue"] for t in board.board_order(
        [task(date(2016, 10, 9), False), task(date(2016, 10, 10), False), task(date(2016, 10, 9), True),
         task(None, False)], TODAY, load_calendar())]
    assert sorted(marks) == [False, False, False, True]
