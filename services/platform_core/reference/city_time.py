"""The city's business time: every campaign date (deadlines, half-months, the year before a
probationary member may be confirmed) is a day in China Standard Time, UTC+8, no DST."""

from datetime import date, datetime, timedelta, timezone

CITY_TIME = timezone(timedelta(hours=8), "CST")


def local_date(moment: datetime) -> date:
    """The city's business day of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("moments must carry a time zone")
    return moment.astimezone(CITY_TIME).date()
