"""Which events a projection counts: the live one all of them, an as-of one those recorded by its cutoff."""

from datetime import datetime

from platform_core.envelope import EventEnvelope


class Window:
    """Which events count: recorded_at in (since, until]; None = unbounded (as-of figures, R7)."""

    def __init__(self, until: datetime | None = None, since: datetime | None = None):
        self.until, self.since = until, since

    def admits(self, envelope: EventEnvelope) -> bool:
        if self.until is not None and envelope.recorded_at > self.until:
            return False
        return self.since is None or envelope.recorded_at > self.since
