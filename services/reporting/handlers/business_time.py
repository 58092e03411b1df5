"""The campaign's business time for a question that names none (R9: overdue is judged on it).

On the real clock it is now. On a simulated campaign clock (the demo) a browser's request carries no
campaign time; "now" is then the newest business time the projections have seen, not the machine's
wall clock, which lies years after the demo campaign and would make every task overdue.
"""

from datetime import datetime

from platform_core import clock
from platform_core.service import ServiceContext
from reporting.adapters import queries


def business_now(context: ServiceContext) -> datetime:
    if clock.named() or not context.settings.simulated_clock:
        return clock.now()
    with context.engine.connect() as conn:
        latest = queries.latest_recorded_at(conn, context.schema)
    return latest or clock.now()
