"""R10 formation deadline judged as of the end of 11-20 in city time, from coverage spans (pure fold).

Boundary: an organization recorded at 23:59:59.999999 +08:00 on 11-20 covers its entity at the
deadline; one recorded at 00:00 +08:00 on 11-21 does not. A dissolution recorded after the deadline
does not undo coverage at the deadline; one recorded at or before it does.
"""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.fold import CampaignState, covered_at
from reporting.domain.reports import CITY_TIME, end_of_day
from reporting_scenario import ent, org

DEADLINE = end_of_day(date(2016, 11, 20))
MIDNIGHT = datetime(2016, 11, 21, 0, 0, tzinfo=CITY_TIME)


def formed(state: CampaignState, o: int, entities: list[int], at: datetime, event_id: str = "e-form") -> None:
    state.apply("OrganizationFormed", {"organization_id": org(o), "mode": "standalone",
                                       "entity_ids": [ent(n) for n in entities]}, event_id, at)


def dissolved(state: CampaignState, o: int, entities: list[int], at: datetime, event_id: str = "e-end") -> None:
    state.apply("OrganizationDissolved", {"organization_id": org(o), "entity_ids": [ent(n) for n in entities]},
                event_id, at)


def spans_of(state: CampaignState, n: int):
    return [span for covered in state.spans.values() for span in covered.get(ent(n), [])]


def test_the_deadline_is_the_last_instant_of_11_20_city_time():
    assert DEADLINE == datetime(2016, 11, 20, 15, 59, 59, 999999, tzinfo=timezone.utc)
    assert MIDNIGHT - DEADLINE == timedelta(microseconds=1)


@given(st.integers(min_value=-3 * 86400 * 10**6, max_value=3 * 86400 * 10**6))
def test_covered_at_the_deadline_iff_formed_by_its_end(offset_us):
    at = DEADLINE + timedelta(microseconds=offset_us)
    state = CampaignState()
    formed(state, 1, [1], at)
    assert covered_at(spans_of(state, 1), DEADLINE) == (at <= DEADLINE)


def test_the_two_boundary_instants():
    state = CampaignState()
    formed(state, 1, [1], datetime(2016, 11, 20, 23, 59, 59, 999999, tzinfo=CITY_TIME))
    formed(state, 2, [2], MIDNIGHT)
    assert covered_at(spans_of(state, 1), DEADLINE)
    assert not covered_at(spans_of(state, 2), DEADLINE)


@given(st.integers(min_value=-86400 * 10**6, max_value=86400 * 10**6))
def test_a_dissolution_counts_only_when_recorded_by_the_deadline(offset_us):
    ended = DEADLINE + timedelta(microseconds=offset_us)
    state = CampaignState()
    formed(state, 1, [1], DEADLINE - timedelta(days=5))
    dissolved(state, 1, [1], ended)
    assert covered_at(spans_of(state, 1), DEADLINE) == (ended > DEADLINE)
    assert state.coverage[org(1)] == {}  # the state now: not covered either way


def test_covered_on_11_19_dissolved_on_11_22_versus_formed_on_11_25():
    state = CampaignState()
    formed(state, 1, [1], datetime(2016, 11, 19, 10, tzinfo=CITY_TIME), "form-1")
    dissolved(state, 1, [1], datetime(2016, 11, 22, 10, tzinfo=CITY_TIME), "end-1")
    formed(state, 2, [2], datetime(2016, 11, 25, 10, tzinfo=CITY_TIME), "form-2")
    assert covered_at(spans_of(state, 1), DEADLINE) and not covered_at(spans_of(state, 2), DEADLINE)
    (span,) = spans_of(state, 1)
    assert (span.formed_event_id, span.ended_event_id) == ("form-1", "end-1")


def test_reformed_joint_coverage_keeps_each_stretch():
    """Restructured out before the deadline, joined again after: two spans, not covered at the deadline."""
    state = CampaignState()
    formed(state, 1, [1, 2], datetime(2016, 10, 1, tzinfo=CITY_TIME))
    state.apply("OrganizationRestructured", {"organization_id": org(1), "entity_ids": [ent(1)]}, "r",
                datetime(2016, 11, 1, tzinfo=CITY_TIME))
    formed(state, 1, [1], datetime(2016, 11, 23, tzinfo=CITY_TIME), "again")
    assert len(spans_of(state, 1)) == 2 and not covered_at(spans_of(state, 1), DEADLINE)
    assert covered_at(spans_of(state, 2), DEADLINE)


def test_without_recorded_times_no_spans_are_kept():
    """The in-memory re-derivation of bulletins applies events without times: figures unchanged, no spans."""
    state = CampaignState()
    state.apply("OrganizationFormed", {"organization_id": org(1), "mode": "standalone", "entity_ids": [ent(1)]})
    assert state.spans == {} and state.coverage == {org(1): {ent(1): "standalone"}}
