"""Semi-monthly reports (R11) and the city's bulletins, decided in advance from the seed (pure).

Every reporting unit (each district's organization department, the city organs' working
committee, civil affairs) reports on every deadline (the 10th and the 25th). Most report on
the day with the true figures; some a day or two late; some never; some with a false figure
(不得报假数: organization and two-coverage raised by a few). The figures themselves are the
ground truth at the end of the deadline day, known only while the campaign plays, so the plan
fixes who reports when and how, and the runner fills the figures in (``Step.resolve``).
The city task force publishes a bulletin the morning after each deadline, once every event of
the deadline day has reached Kafka.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from platform_core.reference import load_calendar

from .commands import Command, Plan, Step, fact

ON_TIME, LATE, MISSING, FALSE = "on_time", "late", "missing", "false"
BEHAVIOUR_WEIGHTS = ((ON_TIME, 0.78), (LATE, 0.08), (MISSING, 0.06), (FALSE, 0.08))
REPORT_FIGURES = ("baseline", "organization_covered", "standalone_covered", "work_covered", "two_covered",
                  "required", "required_covered")
INFLATED = ("organization_covered", "two_covered")  # what a false report raises


@dataclass(frozen=True)
class ReportIntent:
    unit: str  # district-<code>, city-organs or civil-affairs
    deadline: date
    behaviour: str  # on_time / late / missing / false
    submit_on: date | None  # None: never (missing)
    inflate: int = 0  # added to INFLATED figures of a false report
    key: str = ""

    @property
    def expected_status(self) -> str:
        """What the platform must judge it (R11), once the grace days have passed."""
        return {ON_TIME: "on_time", FALSE: "on_time", LATE: "late", MISSING: "missing"}[self.behaviour]


def submitter(unit: str) -> str:
    """The token a reporting unit sends its report with."""
    if unit.startswith("district-"):
        return f"district_org:{unit.removeprefix('district-')}"
    return {"city-organs": "city_organs_committee", "civil-affairs": "civil_affairs"}[unit]


def reporting_units(district_codes: list[str]) -> list[str]:
    return [f"district-{code}" for code in district_codes] + ["city-organs", "civil-affairs"]


def plan_reporting(rng: random.Random, district_codes: list[str], plan: Plan, key) -> list[ReportIntent]:
    intents = []
    for deadline in load_calendar().report_deadlines():
        for unit in reporting_units(district_codes):
            behaviour = rng.choices([b for b, _ in BEHAVIOUR_WEIGHTS], [w for _, w in BEHAVIOUR_WEIGHTS])[0]
            submit_on = {ON_TIME: deadline, FALSE: deadline, MISSING: None,
                         LATE: deadline + timedelta(days=rng.randint(1, 2))}[behaviour]
            intents.append(ReportIntent(unit, deadline, behaviour, submit_on,
                                        rng.randint(1, 3) if behaviour == FALSE else 0,
                                        key(f"report-{unit}-{deadline}")))
        # the figures as of the end of the deadline day: the last step of that day (PHASE_ORDER)
        plan.add(Step(deadline, "reports", resolve=(f"report_figures:{deadline.isoformat()}",),
                      label=f"reports due {deadline:%m-%d}"))
        plan.add(Step(deadline + timedelta(days=1), "bulletins", (Command(
            "reporting", "city_org", "POST", "/bulletins", key(f"bulletin-{deadline}"),
            body={"cutoff_date": deadline.isoformat()}, produces=f"B{deadline.isoformat()}", id_field="bulletin_id"),),
            resolve=("await_published",), label=f"bulletin {deadline:%m-%d}"))
    for day in sorted({i.submit_on for i in intents if i.submit_on is not None}):
        plan.add(Step(day, "reports", resolve=(f"reports_due:{day.isoformat()}",), label=f"reports sent {day:%m-%d}"))
    plan.reports.extend(intents)
    return intents


def report_command(intent: ReportIntent, true_figures: dict[str, int]) -> Command:
    """The report an intent sends: the true figures, or for a false report some raised."""
    figures = {name: true_figures[name] + (intent.inflate if name in INFLATED else 0) for name in REPORT_FIGURES}
    body = {"deadline": intent.deadline.isoformat(), "figures": figures}
    return Command("reporting", submitter(intent.unit), "POST", "/reports", intent.key, body=body,
                   facts=(fact("report_submitted", [intent.unit], deadline=intent.deadline.isoformat(),
                               behaviour=intent.behaviour, figures=tuple(sorted(figures.items())),
                               submitted_on=intent.submit_on.isoformat()),))
