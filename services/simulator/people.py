"""Party members of the simulated city: found in the survey, recruited, developed (pure records)."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from . import identifiers, names

CAMPAIGN_END = date(2016, 12, 30)


@dataclass(frozen=True)
class Member:
    key: str  # M000042
    index: int
    entity_key: str
    standing: str  # formal / probationary at registration
    admitted_on: date
    name: str
    id_number: str
    way: str  # found / recruited / developed

    @property
    def anniversary(self) -> date:
        """First day the member may be confirmed (29 Feb -> 1 Mar)."""
        try:
            return self.admitted_on.replace(year=self.admitted_on.year + 1)
        except ValueError:
            return date(self.admitted_on.year + 1, 3, 1)


class MemberFactory:
    """Hands out members with unique keys and identity numbers, in a fixed order."""

    def __init__(self, rng: random.Random, run_tag: str):
        self.rng, self.run_tag, self.count = rng, run_tag, 0

    def new(self, entity_key: str, standing: str, way: str, admitted_on: date | None = None) -> Member:
        index = self.count
        self.count += 1
        born = identifiers.birth_date(index)
        earliest = born + timedelta(days=18 * 366)
        if admitted_on is None:
            if standing == "formal":
                start = max(earliest, date(1980, 1, 1))
                span = max(1, (date(2015, 7, 1) - start).days)
                admitted_on = start + timedelta(days=self.rng.randrange(span))
            else:
                admitted_on = date(2015, 9, 1) + timedelta(days=self.rng.randrange(340))
        return Member(f"M{index:06d}", index, entity_key, standing, admitted_on, names.person(self.rng),
                      identifiers.id_number(self.run_tag, index), way)
