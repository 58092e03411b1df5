"""Detectors of formalism and false numbers (docs/detectors.md): pure functions from the folded events
(``fold.fold``) to ``Signal`` records; one module per signal, thresholds from the campaign calendar.

A signal is never a verdict: officials confirm or dismiss it (docs/detectors.md)."""

from platform_core.reference.campaign_calendar import CampaignCalendar

from . import (borrowed_members, bulk_checks, check_mismatch, distant_joint, late_paper_organization, report_jump,
               same_day_members, shadow_pattern)
from .fold import fold
from .records import SIGNAL_KINDS, SIGNAL_KINDS_ZH, Signal, SignalInputs

__all__ = ["SIGNAL_KINDS", "SIGNAL_KINDS_ZH", "Signal", "SignalInputs", "detect_all", "fold"]


def detect_all(inputs: SignalInputs, calendar: CampaignCalendar) -> list[Signal]:
    """Every signal the events show, in a stable order (kind, then key)."""
    policy = calendar.detectors
    found = (borrowed_members.detect(inputs, policy)
             + late_paper_organization.detect(inputs, policy, calendar.milestone("formation").due)
             + same_day_members.detect(inputs, policy) + distant_joint.detect(inputs, policy)
             + bulk_checks.detect(inputs, policy) + check_mismatch.detect(inputs, policy)
             + report_jump.detect(inputs, policy) + shadow_pattern.detect(inputs, policy))
    return sorted(found, key=lambda s: (SIGNAL_KINDS.index(s.kind), s.key))
