"""Re-derive bulletin figures from events in memory (the offline verifier's path).

The same fold, status derivation, counters and bulletin assembly as the PostgreSQL
projections; only the storage differs.
"""

from collections.abc import Iterable
from datetime import datetime

from platform_core.envelope import EventEnvelope

from .figures_memory import MemoryFigures, report_record
from .fold import CampaignState


def fold_events(envelopes: Iterable[EventEnvelope], until: datetime | None = None) -> MemoryFigures:
    """Apply every event recorded at or before ``until`` once (duplicates skipped by event id)."""
    state = CampaignState()
    reports: list[dict] = []
    seen: set = set()
    for envelope in envelopes:
        if envelope.event_id in seen or (until is not None and envelope.recorded_at > until):
            continue
        seen.add(envelope.event_id)
        state.apply(envelope.type, envelope.payload, str(envelope.event_id))
        if envelope.type == "ReportSubmitted":
            reports.append(report_record(envelope.payload, envelope.recorded_at, str(envelope.event_id)))
    return MemoryFigures(state, reports)
