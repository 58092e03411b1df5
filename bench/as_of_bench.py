"""As-of figures benchmark: N campaign events in scratch topics, as-of snapshots cut every S events, then
``GET /rates?as_of=``'s fold (``reporting.handlers.rates.rates_as_of``' work: the nearest snapshot and
the events after it) at random moments, beside a full replay to a moment of the same run.

    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/as_of_bench.py [--events 1000000]

Prints one markdown table. Topics and schemas are removed afterwards.
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from campaign_events import START
from platform_core.contracts import event_types_for
from platform_core.db import create_db_engine, migrate
from platform_core.settings import get_settings
from replay_bench import delete_topics, load_topics
from reporting.adapters import as_of_snapshots
from reporting.adapters.replay import replay_into
from reporting.domain.window import Window

MIGRATIONS = Path(as_of_snapshots.__file__).resolve().parents[1] / "migrations"
REGISTRY = event_types_for("registry", "membership", "formation", "reporting")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(events: int, every: int, questions: int, partitions: int | None = None) -> dict:
    settings = get_settings()
    engine = create_db_engine(settings.database_url, pool_size=2)
    live = f"bench_asof_{uuid.uuid4().hex[:8]}"
    print(f"as-of: writing {events:,} events ...", file=sys.stderr)
    topics, _ = load_topics(settings.kafka_bootstrap, events, partitions or settings.topic_partitions)
    names = tuple(topics.values())
    last = START + timedelta(milliseconds=7 * (events - 1))  # bench/campaign_events.py: 7 ms apart
    rng = random.Random(2016)
    try:
        migrate(engine, live, MIGRATIONS)
        print("as-of: cutting snapshots ...", file=sys.stderr)
        started = time.perf_counter()
        cut = as_of_snapshots.refresh(engine, settings.kafka_bootstrap, live, REGISTRY, every,
                                      last + timedelta(days=1), (), names)
        cut_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            stored = conn.execute(sa.text(f"SELECT coalesce(sum(octet_length(state)), 0), coalesce(max(octet_length("
                                          f"state)), 0) FROM {live}.as_of_snapshots")).one()
        moments = [START + (last - START) * rng.random() for _ in range(questions)]
        latencies, read, loading = [], [], []
        print(f"as-of: {len(cut)} snapshots in {cut_seconds:.1f} s; {questions} questions ...", file=sys.stderr)
        for moment in moments:
            started = time.perf_counter()
            folded = as_of_snapshots.fold_at(engine, settings.kafka_bootstrap, live, REGISTRY, moment, names)
            folded.counters_by("district")
            latencies.append(time.perf_counter() - started)
            read.append(folded.records_read)
            loading.append(folded.load_seconds)
        print("as-of: the full replay to the median moment ...", file=sys.stderr)
        full = replay_into(engine, settings.kafka_bootstrap, f"{live}_full", REGISTRY,
                           window=Window(until=sorted(moments)[len(moments) // 2]), topics=names,
                           group_id="bench-as-of")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {live}_full CASCADE"))
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {live} CASCADE"))
        delete_topics(settings.kafka_bootstrap, topics.values())
        engine.dispose()
    return {"events": events, "every": every, "snapshots": len(cut), "cut_seconds": cut_seconds,
            "stored_mb": stored[0] / 1e6, "largest_mb": stored[1] / 1e6, "questions": questions,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": max(latencies),
            "read_mean": statistics.mean(read), "load_share": sum(loading) / sum(latencies),
            "full_seconds": full.seconds, "full_records": full.records}


def rows(m: dict) -> str:
    return (f"| as-of figures (`GET /rates?as_of=`'s fold) at {m['events']:,} events, {m['questions']} random moments,"
            f" snapshots every {m['every']:,} events | p50 {m['p50'] * 1000:,.0f} ms, p99 {m['p99'] * 1000:,.0f} ms"
            f" (max {m['max'] * 1000:,.0f} ms; {m['read_mean']:,.0f} records read on average; loading the snapshot"
            f" {m['load_share']:.0%} of the time) |"
            f" full replay to a moment: {m['full_seconds']:.1f} s ({m['full_records']:,} records) |"
            f" {m['full_seconds'] / m['p99']:,.0f}x faster at p99 | p99 < 2 s | {'yes' if m['p99'] < 2 else '**no**'} |\n"
            f"| cutting the {m['snapshots']} snapshots from nothing (index pass, fold, store) | {m['cut_seconds']:.1f} s;"
            f" {m['stored_mb']:,.1f} MB stored (largest {m['largest_mb']:,.1f} MB) | | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=get_settings().reporting_as_of_snapshot_every)
    parser.add_argument("--questions", type=int, default=50)
    args = parser.parse_args()
    m = measure(args.events, args.every, args.questions)
    print("\n| measure | result | raw limit (same run) | ratio | target | met? |\n|---|---|---|---|---|---|\n" + rows(m))


if __name__ == "__main__":
    main()
