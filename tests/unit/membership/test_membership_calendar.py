"""Half-month periods (R11 rhythm) and the city's local day."""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from membership.domain.calendar import anniversary, half_month
from platform_core.reference.city_time import local_date


@given(st.dates())
def test_first_half_is_1st_to_15th(day):
    assert half_month(day) == f"{day.year:04d}-{day.month:02d}-{'H1' if day.day <= 15 else 'H2'}"


@given(st.dates(max_value=date(9998, 12, 31)))
def test_consecutive_days_change_period_only_on_the_16th_and_the_1st(day):
    following = day + timedelta(days=1)
    if following.day in (1, 16):
        assert half_month(following) != half_month(day)
    else:
        assert half_month(following) == half_month(day)


def test_local_day_starts_at_16_00_utc():
    assert local_date(datetime(2016, 9, 15, 15, 59, 59, tzinfo=timezone.utc)) == date(2016, 9, 15)
    assert local_date(datetime(2016, 9, 15, 16, 0, 0, tzinfo=timezone.utc)) == date(2016, 9, 16)


@given(st.dates(max_value=date(9998, 12, 31)))
def test_anniversary_is_one_calendar_year_never_early(day):
    later = anniversary(day)
    assert later.year == day.year + 1
    assert 365 <= (later - day).days <= 366
    assert later == (day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else date(day.year + 1, 3, 1))
