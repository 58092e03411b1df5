"""Which stream driver the projections run on: the platform's ProjectionConsumer against a
faust-streaming agent, on the same 6-partition topic, beside the raw kafka-python consume loop.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/projection_drivers.py --events 50000

Rows (one process each, the same events, each timed from its first batch so no group join is timed):
- raw kafka-python consume loop (best of 3);
- ProjectionConsumer with the bench's batch handler, offsets in the same transaction (`campaign consume`);
- a bare faust agent that only counts its batches (faust's own ceiling);
- a faust agent handing each batch to the same ProjectionApplier in a worker thread.
docs/architecture.md ("One stream driver") records the choice these figures made.
"""

import argparse
import re
import subprocess
import sys
import uuid
from pathlib import Path

from pipeline import employees_projection, project, raw_consume
from platform_core.db import create_db_engine
from platform_core.settings import get_settings
from projection_scaleout import filled_topic

FAUST_DRIVER = Path(__file__).with_name("faust_driver.py")


def faust_rate(mode: str, topic: str, schema: str, events: int, timeout: float = 600) -> float:
    """Run bench/faust_driver.py in MODE over the topic in a fresh group; its events/s."""
    group, table = f"bench-faust-{uuid.uuid4().hex[:8]}", f"faust_{mode}_{uuid.uuid4().hex[:6]}"
    if mode == "apply":
        employees_projection(create_db_engine(get_settings().database_url, pool_size=1), f"{schema}.{table}")
    done = subprocess.run([sys.executable, str(FAUST_DRIVER), mode, topic, group, str(events), schema, table,
                           "worker", "-l", "warn"], capture_output=True, text=True, timeout=timeout,
                          cwd=FAUST_DRIVER.parent)
    # faust sends print() to its log: the line may carry a log prefix, on either stream
    rates = re.findall(r"\brate ([0-9.]+)", done.stdout + done.stderr)
    if not rates:
        raise RuntimeError(f"the faust agent ({mode}) reported no rate: {done.stdout[-1500:]} {done.stderr[-1500:]}")
    return float(rates[-1])


def measure(events: int, partitions: int = 6) -> dict:
    with filled_topic(events, partitions, "drivers") as (engine, schema, topic):
        raw = max(raw_consume(get_settings().kafka_bootstrap, topic, events) for _ in range(3))
        print("projection drivers: ProjectionConsumer ...", file=sys.stderr)
        consumer = project(engine, schema, topic, events, batched=True)
        print("projection drivers: faust, counting only ...", file=sys.stderr)
        faust_count = faust_rate("count", topic, schema, events)
        print("projection drivers: faust, the same applier ...", file=sys.stderr)
        faust_apply = faust_rate("apply", topic, schema, events)
    return {"events": events, "partitions": partitions, "raw_consume": raw, "projection_consumer": consumer,
            "faust_count": faust_count, "faust_apply": faust_apply}


DRIVERS = (("projection_consumer", "ProjectionConsumer, batch handler, offsets in the transaction"),
           ("faust_count", "faust agent, counting only (no projection)"),
           ("faust_apply", "faust agent, the same ProjectionApplier and batch handler"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    m = measure(args.events)
    print(f"\n### Projection drivers ({m['events']:,} events, {m['partitions']} partitions, 1 process each)\n")
    print("| driver | events/s | raw consume loop (same topic) | ratio |")
    print("|---|---:|---:|---:|")
    for key, label in DRIVERS:
        print(f"| {label} | {m[key]:,.0f} | {m['raw_consume']:,.0f} | {m[key] / m['raw_consume']:.0%} |")


if __name__ == "__main__":
    main()
