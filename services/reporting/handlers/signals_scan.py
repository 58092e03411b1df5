"""Run the detectors over every event on the topics (the projections' readable-event rule), for the operator's
``detectors`` command and its measurement against the simulator's planted cases (docs/detectors.md)."""

from platform_core.envelope import EventEnvelope
from platform_core.errors import PlatformError
from platform_core.event_types import EventTypeRegistry
from platform_core.reference.campaign_calendar import CampaignCalendar
from reporting.adapters.replay import read_topics
from reporting.domain.signals import Signal, detect_all, fold


class ReadableEvents:
    """A sink for ``read_topics``: each event once, upcast and checked as every projection reads it; the rest
    counted (the live projections dead-letter them)."""

    def __init__(self, registry: EventTypeRegistry):
        self.registry, self.envelopes, self.seen, self.unusable = registry, [], set(), 0

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            if value is None:
                raise PlatformError("empty message (no value)")
            envelope = self.registry.readable(EventEnvelope.from_bytes(value))
        except PlatformError:
            self.unusable += 1
            return
        if str(envelope.event_id) not in self.seen:
            self.seen.add(str(envelope.event_id))
            self.envelopes.append(envelope)


def scan_topics(bootstrap: str, registry: EventTypeRegistry, calendar: CampaignCalendar) -> tuple[list[Signal], ReadableEvents]:
    events = ReadableEvents(registry)
    read_topics(bootstrap, events)
    return detect_all(fold(events.envelopes), calendar), events
