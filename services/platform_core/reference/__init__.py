"""Reference data every service shares: the territory, the departments, the campaign calendar.

Pure data and loaders (no database, no Kafka). The defaults are the 2016 city of
the plan (docs/rules.md) (GB/T 2260 code 420100); another city's territory or another
campaign's calendar loads from a JSON file of the same shape.
"""

from .campaign_calendar import (CampaignCalendar, DetectorPolicy, JointReviewPolicy, Milestone, SetupMilestone,
                                load_calendar)
from .departments import Department, DepartmentDirectory, load_departments
from .industries import Industry, load_industries
from .territory import District, Street, Territory, load_territory

__all__ = [
    "CampaignCalendar", "Department", "DetectorPolicy", "DepartmentDirectory", "District", "Industry", "JointReviewPolicy", "Milestone",
    "SetupMilestone", "Street",
    "Territory", "load_calendar", "load_departments", "load_industries", "load_territory",
]
