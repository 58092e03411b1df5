"""Reporting's coverage projection on scratch topics, for the kill test:
python coverage_runner.py GROUP TOPIC [TOPIC ...]   (schema: CAMPAIGN_REPORTING_SCHEMA)

What ``campaign consume reporting --projection coverage`` runs (the same spec, handler and driver),
but on the test's own topics and group instead of the live event topics."""

import signal
import sys
import threading
from dataclasses import replace

from platform_core.projection_consumer import run_projections
from reporting.bootstrap import build_context, coverage_projection


def main() -> None:
    group, topics = sys.argv[1], tuple(sys.argv[2:])
    context = build_context()
    context.migrate()
    spec = replace(coverage_projection(context), group_id=group, topics=topics)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_projections(context.engine, context.settings.kafka_bootstrap, context.schema, [spec], stop)


if __name__ == "__main__":
    main()
