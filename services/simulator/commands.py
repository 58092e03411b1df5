"""What the simulator sends (commands) and what each means for the ground truth (facts): pure records.

A command's body may name simulator keys (``@E000042``, ``@M000007``): the
runner replaces them with the platform's ids once the command that created
them has answered. A fact is recorded in the ground truth only when its
command succeeded.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Fact:
    """One thing that happened in the campaign, as the ground truth records it."""

    kind: str  # registered / ledger_approved / flagged / flag_cleared / member_added / member_confirmed / ...
    keys: tuple[str, ...] = ()
    data: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.data).get(name, default)


def fact(kind: str, keys=(), **data) -> Fact:
    return Fact(kind, tuple(keys), tuple(sorted(data.items())))


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str
    content: bytes
    media_type: str = "text/csv"


@dataclass(frozen=True)
class Command:
    service: str
    department: str  # the token that sends it, e.g. "district_org:420102"
    method: str
    path: str
    key: str  # deterministic idempotency key (with the run tag, unique per command)
    body: Any = None
    upload: Upload | None = None
    produces: str | None = None  # the simulator key the answer's id belongs to
    id_field: str = "id"
    facts: tuple[Fact, ...] = ()
    retry_statuses: tuple[int, ...] = ()  # e.g. 422 while a projection catches up
    on_conflict: str | None = None  # "approve_pending": a ledger awaiting review elsewhere
    retry_rules: tuple[str, ...] = ()  # extra 422 rules to retry (R3/R4 while formation's member counts catch up)
    fallback_body: Any = None  # sent instead once when a 422 names ``fallback_rule`` (e.g. a refused fixed seed)
    fallback_rule: str | None = None
    user: str | None = None  # the token's user (default: the simulator's one user per department)
    minute: int | None = None  # business time: minutes after 09:00 of the step's day (default: the step's time)


@dataclass(frozen=True)
class Step:
    """Commands of one business day and phase; they are independent and run concurrently."""

    on: date
    phase: str
    commands: tuple[Command, ...] = ()
    resolve: tuple[str, ...] = ()  # "entities": look up entity ids by code; "spot_check_results": see runner
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.phase)


@dataclass
class Plan:
    seed: int
    run_tag: str
    steps: list[Step] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # phase -> why
    spot_check_seed: str | None = None  # the value fixed in advance (used only while no checkpoint is known)
    reports: list = field(default_factory=list)  # reporting_plan.ReportIntent: who reports when, and how
    cheating: Any = None  # cheating.Cheating: the districts that cheat and what was planted there

    def add(self, step: Step) -> None:
        if step.commands or step.resolve:
            self.steps.append(step)
            if step.phase not in self.phases:
                self.phases.append(step.phase)

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: (s.on, PHASE_ORDER.index(s.phase)))

    @property
    def command_count(self) -> int:
        return sum(len(s.commands) for s in self.steps)


PHASE_ORDER = ("setup", "survey", "ledgers", "verification", "members", "supplements", "formation", "work_coverage",
               "member_growth", "transfers", "acceptance", "spot_checks", "look_back", "reports", "bulletins")
