"""Business dates of the campaign: the city's local day and half-month periods.

The city keeps China Standard Time (UTC+8, no daylight saving), so a fixed
offset is exact. Half-month periods follow the reporting rhythm of R11
(reports on the 10th and 25th): H1 is the 1st-15th, H2 the 16th to the end of
the month. A period is named ``YYYY-MM-H1`` / ``YYYY-MM-H2``.
"""

from datetime import date



def half_month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{'H1' if day.day <= 15 else 'H2'}"


def anniversary(day: date, years: int = 1) -> date:
    """The same calendar day ``years`` later; 29 February falls on 1 March (never early)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)
