"""Garbage collection in long-running processes: what startup built is kept out of the collector's sight.

CPython's full collections walk every tracked object. A service, relay or consumer holds a few hundred
thousand of them from startup (modules, reference data, SQLAlchemy, pydantic and Kafka client state)
that never become garbage, so each full collection mostly re-proves that, while a batch of fresh
envelopes keeps triggering collections. ``gc.freeze()`` moves what exists now into a permanent
generation; everything made later is collected as before (its effect: docs/performance.md,
"Changes of 2026-12-03").
"""

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then freeze every surviving object; call when a process has finished starting.
    Once per process: a later call (a test run builds many apps in one process) changes nothing.
    Returns how many objects are frozen."""
    if gc.get_freeze_count():
        return gc.get_freeze_count()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("startup heap frozen", extra={"objects": frozen})
    return frozen
