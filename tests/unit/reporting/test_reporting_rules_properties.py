"""Property tests at the rule boundaries (R2, R2b, R3, R6, R7) and of report timeliness (R11)."""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.rates import Counters, Rate, count
from reporting.domain.reports import GRACE_DAYS, discrepancies, end_of_day, timeliness
from reporting.domain.status import Inputs, derive_status

MODES = st.sampled_from(["standalone", "joint", "functional"])


def facts(employees=10, formal=0, kind="non_public_enterprise", subtype="private"):
    return {"name": "x", "kind": kind, "subtype": subtype, "district_code": "420102", "street_code": "420102001",
            "employees": employees, "formal_members": formal, "probationary_members": 0, "industry": "other"}


@given(st.integers(0, 1000))
def test_r2_enterprise_boundary_is_100(employees):
    status = derive_status("e", Inputs(facts(employees=employees), approved=True))
    assert (status.required_reason is not None) == (employees >= 100)
    assert (status.member_required_reason is not None) == (employees >= 50)


@given(st.integers(0, 10), st.lists(MODES, max_size=3))
def test_r3_violation_iff_three_formal_without_standalone(formal, modes):
    """R3: no organization at all, or only a joint or functional one, with 3 formal members is a violation."""
    organizations = tuple((f"organization-{i}", m) for i, m in enumerate(modes))
    status = derive_status("e", Inputs(facts(formal=formal), approved=True, organizations=organizations,
                                       formation_named=bool(modes)))
    assert status.r3_violation == (formal >= 3 and "standalone" not in modes)
    assert status.organization_covered == bool(modes)
    if formal >= 3:
        assert status.required_reason is not None  # R2: any entity with 3 formal members


@given(st.integers(0, 3), st.booleans(), st.frozensets(st.sampled_from(["shell", "zombie", "shadow"])))
def test_work_coverage_only_without_organization_and_baseline_excludes_flags(work, covered, flags):
    organizations = (("organization-1", "joint"),) if covered else ()
    status = derive_status("e", Inputs(facts(), approved=True, flags=flags, organizations=organizations,
                                       work_sources=work))
    assert status.work_covered == (work > 0 and not covered)
    assert status.two_covered == (covered or work > 0)
    assert status.in_baseline == (not flags)
    assert count(status).baseline == int(not flags)


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_rate_has_numerator_denominator_and_bounded_percent(n, d):
    rate = Rate(min(n, d), d)
    if d == 0:
        assert rate.percent is None and rate.text() == "—"
    else:
        assert 0 <= rate.percent <= 100
        assert rate.as_dict()["numerator"] == min(n, d)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=13))
def test_counters_add_up(values):
    parts = [Counters(baseline=v, organization_covered=v // 2) for v in values]
    total = sum(parts, Counters())
    assert total.baseline == sum(values) and total.organization_covered == sum(v // 2 for v in values)


@given(st.integers(-3 * 24 * 60, 5 * 24 * 60))
def test_report_timeliness_around_the_deadline_in_city_time(minutes):
    deadline = date(2016, 9, 10)
    midnight = datetime(2016, 9, 11, 0, 0, tzinfo=timezone(timedelta(hours=8)))  # end of the 10th, city time
    moment = midnight + timedelta(minutes=minutes)
    assert timeliness(deadline, moment, moment) == ("on_time" if minutes < 0 else "late")
    missing_from = midnight + timedelta(days=GRACE_DAYS)
    assert timeliness(deadline, None, moment) == ("missing" if moment >= missing_from else "pending")


def test_end_of_day_is_city_time():
    assert end_of_day(date(2016, 9, 10)) == datetime(2016, 9, 10, 15, 59, 59, 999999, tzinfo=timezone.utc)


@given(st.integers(0, 100), st.integers(0, 100))
def test_discrepancy_when_and_only_when_figures_differ(reported, derived):
    found = discrepancies({"baseline": reported}, Counters(baseline=derived))
    assert bool(found) == (reported != derived)
    if found:
        assert found[0].difference == reported - derived
