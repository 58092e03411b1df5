"""Business time: the real time, or, in a simulated campaign, the time the request names.

A simulated campaign (the demo, the end-to-end tests) plays ~100 days in minutes. Its
requests carry the campaign time in the ``X-Campaign-Time`` header; a platform started
with CAMPAIGN_SIMULATED_CLOCK=true records their events at that time and judges their
deadlines by it, so reports can be on time or late and bulletins have past cutoffs.
Production never sets the flag, and the header is then refused (400), not ignored, so no
client can believe it back-dated anything. Token expiry always uses the real time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

from .errors import PlatformError

HEADER = "X-Campaign-Time"
_campaign_time: ContextVar[datetime | None] = ContextVar("campaign_time", default=None)


def now() -> datetime:
    """The current business time (UTC): the simulated campaign time inside such a request, else the real time."""
    simulated = _campaign_time.get()
    return simulated if simulated is not None else datetime.now(timezone.utc)


def named() -> bool:
    """Whether the current request named its business time (a simulated campaign's X-Campaign-Time)."""
    return _campaign_time.get() is not None


def parse_campaign_time(raw: str) -> datetime:
    """The header's value: an ISO 8601 time with its zone, e.g. 2016-09-10T10:00:00+08:00."""
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise PlatformError(f"{HEADER} must be an ISO 8601 time with a zone, e.g. 2016-09-10T10:00:00+08:00; "
                            f"got {raw[:60]!r}", field=HEADER) from None
    if at.tzinfo is None:
        raise PlatformError(f"{HEADER} must carry a time zone, e.g. +08:00", field=HEADER)
    return at.astimezone(timezone.utc)


@contextmanager
def campaign_time(at: datetime) -> Iterator[None]:
    """Run the block at the simulated campaign time ``at`` (see the module docstring)."""
    token = _campaign_time.set(at.astimezone(timezone.utc))
    try:
        yield
    finally:
        _campaign_time.reset(token)
