"""The signals projection's batch handler: the events the detectors read in, the signals they show out, in the
caller's transaction (the shared driver commits them with the offsets; docs/detectors.md).

The detectors look across the whole history (windows of days around a formation, a checker's hour, a district's
checks), so each batch that brings new events of the types they read re-runs them over every kept event: the
signals always equal ``detect_all`` over the events projected so far, whatever the batch boundaries."""

from sqlalchemy.engine import Connection

from platform_core import clock
from platform_core.envelope import EventEnvelope
from platform_core.reference.campaign_calendar import CampaignCalendar
from reporting.adapters.signals_store import add_events, add_marks, load_events, replace_signals
from reporting.domain.signals import detect_all, fold
from reporting.domain.signals.fold import READ_TYPES


def signals_handler(schema: str, calendar: CampaignCalendar):
    def handle(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        add_marks(conn, schema, [e for e in envelopes if e.type == "SignalMarked"])
        if not add_events(conn, schema, [e for e in envelopes if e.type in READ_TYPES]):
            return
        signals = detect_all(fold(load_events(conn, schema)), calendar)
        replace_signals(conn, schema, signals, clock.now())

    return handle
