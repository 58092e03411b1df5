"""Events the reporting service publishes (``reporting.events``).

The audit log's CheckpointSigned; the semi-monthly reports (ReportSubmitted,
R11), the city's bulletins (BulletinPublished) and the accountability trail
(AccountabilityRecorded, which may cite the detectors' signals) and the officials' marks of those signals
(SignalMarked). docs/reporting.md is the contract text.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..event_types import EventTypeRegistry


class CheckpointSigned(BaseModel):
    """The audit log signed a checkpoint (C2SP signed note) of its state."""

    model_config = ConfigDict(extra="forbid")

    checkpoint_id: int = Field(ge=1)
    origin: str = Field(min_length=1, max_length=200)
    tree_size: int = Field(ge=0)
    root_hash: str = Field(min_length=44, max_length=44, description="base64 of the 32-byte root hash")
    signed_at: str = Field(description="UTC timestamp, the checkpoint's time extension line")
    verifier_key: str = Field(min_length=1, max_length=300, description="<name>+<key id>+<base64 public key>")
    # adopted: a checkpoint the signer's operator adopted when starting its record (docs/audit.md)
    reason: Literal["schedule", "bulletin", "manual", "adopted"]
    note: str = Field(min_length=1, max_length=4000, description="the signed checkpoint text, verbatim")


REPORTING_UNIT = r"^(district-\d{6}|city-organs|civil-affairs)$"
FIGURE_NAMES = ("baseline", "organization_covered", "standalone_covered", "work_covered", "two_covered",
                "required", "required_covered", "formal_members", "probationary_members")
AccountabilityKind = Literal["deadline_missed", "report_late", "report_missing", "discrepancy", "check_failed",
                             "milestone_missing", "milestone_late"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSubmitted(_Payload):
    """A unit's semi-monthly report (半月报送, R11), stream ``report-<unit>-<deadline>``.

    ``figures`` holds any of FIGURE_NAMES (counts over the unit's baseline as of the deadline).
    """

    report_id: str = Field(pattern=r"^report-[0-9a-f-]{36}$")
    unit: str = Field(pattern=REPORTING_UNIT)
    deadline: date
    figures: dict[str, int] = Field(min_length=1)
    note: str | None = Field(default=None, max_length=2000)


# R11: "related city departments report their responsibilities at the end of November" (三(四)).
# 统战 (united_front) is named by 三(二) among the departments with duties (investors' education, spot checks).
RESPONSIBILITY_DEPARTMENTS = ("united_front", "market_regulation", "commerce", "economy_it", "federation_commerce",
                              "education", "health", "justice", "finance", "tax", "civil_affairs", "mass_org")


class ResponsibilityReportSubmitted(_Payload):
    """A related city department's report on its responsibilities in the campaign (R11, due at the end of
    November: milestone ``department_responsibility_report``), stream ``responsibility-<department>-<due>``."""

    report_id: str = Field(pattern=r"^responsibility-[0-9a-f-]{36}$")
    department: Literal[RESPONSIBILITY_DEPARTMENTS]  # type: ignore[valid-type]
    due: date
    summary: str = Field(min_length=1, max_length=20000, description="what the department did (责任落实情况)")
    figures: dict[str, int] = Field(default_factory=dict, description="optional counts the department reports")
    note: str | None = Field(default=None, max_length=2000)


class BulletinPublished(_Payload):
    """The city's bulletin (通报) for a cutoff, stream ``bulletin-<cutoff date>``."""

    bulletin_id: str = Field(pattern=r"^bulletin-[0-9a-f-]{36}$")
    cutoff_date: date
    cutoff_at: str = Field(description="UTC timestamp: events recorded at or before it count")
    previous_cutoff_date: date | None = None
    figures_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the data file (figures.json)")
    files_sha256: dict[str, str] = Field(default_factory=dict, description="format -> SHA-256 of the file")
    checkpoint_tree_size: int = Field(ge=0, description="the audit log position the figures rest on")
    checkpoint_root_hash: str = Field(min_length=44, max_length=44)
    events_counted: int = Field(ge=0, description="events with recorded_at <= cutoff that were applied")
    # Absent on bulletins published before the 通报 layout (figures format 1).
    document_number: str | None = Field(default=None, max_length=60, description="the 通报's 文号, e.g. 武组通〔2016〕3号")


# The detectors' signals (docs/detectors.md): reporting/domain/signals names them by these kinds.
SIGNAL_KINDS = ("borrowed_members", "late_paper_organization", "same_day_members", "distant_joint",
                "bulk_checks", "check_mismatch", "report_jump", "shadow_pattern")
SIGNAL_ID = r"^signal-[a-z_]+-[0-9A-Za-z_-]{1,120}$"


class SignalMarked(_Payload):
    """An official confirmed or dismissed a detector's signal (疑点核实), with the reason; stream ``<signal_id>``.
    A signal is never a verdict: this event is. A later mark of the same signal replaces the earlier one."""

    signal_id: str = Field(pattern=SIGNAL_ID)
    kind: Literal[SIGNAL_KINDS]  # type: ignore[valid-type]
    districts: list[str] = Field(default_factory=list, max_length=20)  # none: a unit of the whole city
    verdict: Literal["confirmed", "dismissed"]
    reason: str = Field(min_length=2, max_length=2000, description="why: what the check of the signal found")
    marked_on: date


class AccountabilityRecorded(_Payload):
    """The city confirmed an entry of a unit's accountability trail (问责), stream ``accountability-<unit>``."""

    entry_id: str = Field(pattern=r"^accountability-[0-9a-f-]{36}$")
    unit: str = Field(min_length=1, max_length=80)
    entry_kind: AccountabilityKind
    subject: str = Field(min_length=1, max_length=200, description="milestone key, report deadline or check id")
    occurred_on: date
    event_ids: list[str] = Field(default_factory=list, max_length=1000, description="the events behind the entry")
    finding: str = Field(min_length=1, max_length=2000)
    responsible: str | None = Field(default=None, max_length=200, description="who answers for it")
    signal_ids: list[str] = Field(default_factory=list, max_length=100,
                                  description="the detectors' signals the entry cites (docs/detectors.md)")


def register(registry: EventTypeRegistry) -> None:
    registry.register("CheckpointSigned", 1, CheckpointSigned)
    registry.register("ReportSubmitted", 1, ReportSubmitted)
    registry.register("BulletinPublished", 1, BulletinPublished)
    registry.register("AccountabilityRecorded", 1, AccountabilityRecorded)
    registry.register("ResponsibilityReportSubmitted", 1, ResponsibilityReportSubmitted)
    registry.register("SignalMarked", 1, SignalMarked)
