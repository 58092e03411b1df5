"""Every benchmark in one run, beside the raw limits measured at its start; ONE markdown table.

    make bench                                   # = bench/run_all.py --size full
    eval "$(python3 deploy/stack.py env)" && .venv/bin/python bench/run_all.py --size small [--only replay]
    .venv/bin/python bench/run_all.py --size full --growth   # + replay/bulletin/import at three sizes

Columns: measure | result | raw limit (same run) | ratio | target | met?. The table goes to stdout
and to bench-results/<UTC timestamp>.md (git-ignored) with the machine and its load; progress goes
to stderr. Every benchmark works on its own scratch schemas, topics and groups and removes them.
Never part of the test suite.
"""

import argparse
import os
import platform
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "services"))

NAMES = ("pipeline", "scaleout", "drivers", "http", "freshness", "replay", "bulletin", "import", "audit", "intake",
         "asof")
SIZES = {  # small: ~2 minutes to check the harness; full: the sizes
    "small": {"raw": 5_000, "copy": 100_000, "pipeline": 3_000,
              "scaleout": 5_000, "http_seconds": 5, "fresh_seconds": 10,
              "replay": 20_000, "bulletin": 20_000, "import": 1_000, "audit": 20_000, "audit_appends": 5_000,
              "intake": 1_000, "asof": 20_000,
              "growth_replay": (5_000, 10_000, 20_000), "growth_bulletin": (5_000, 10_000, 20_000),
              "growth_import": (250, 500, 1_000)},
    "medium": {"raw": 20_000, "copy": 200_000, "pipeline": 10_000,
               "scaleout": 20_000, "http_seconds": 15, "fresh_seconds": 20,
               "replay": 200_000, "bulletin": 100_000, "import": 5_000, "audit": 200_000, "audit_appends": 20_000,
               "intake": 3_000, "asof": 200_000,
               "growth_replay": (20_000, 100_000, 200_000), "growth_bulletin": (20_000, 50_000, 100_000),
               "growth_import": (1_000, 2_500, 5_000)},
    "full": {"raw": 50_000, "copy": 500_000, "pipeline": 20_000,
             "scaleout": 100_000, "http_seconds": 30, "fresh_seconds": 60,
             "replay": 1_000_000, "bulletin": 200_000, "import": 10_000, "audit": 1_000_000, "audit_appends": 20_000,
             "intake": 5_000, "asof": 1_000_000,
             "growth_replay": (10_000, 100_000, 1_000_000), "growth_bulletin": (20_000, 100_000, 200_000),
             "growth_import": (1_000, 5_000, 10_000)},
}
HTTP_RATE, HTTP_CLIENTS, FRESH_RATE = 200, 8, 1_000


@dataclass
class Row:
    measure: str
    result: str
    raw: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


def progress(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def run_raw(size: dict) -> tuple[dict, list[Row]]:
    from pipeline import raw_limits
    raw = raw_limits(size["raw"], size["copy"])
    return raw, [
        Row(f"raw: kafka-python produce loop ({raw['events']:,} msgs of {raw['bytes']} B, idempotent, acks=all;"
            " best of 3)",
            f"{raw['produce']:,.0f} msg/s"),
        Row("raw: kafka-python consume loop (same messages; best of 3)", f"{raw['consume']:,.0f} msg/s"),
        Row(f"raw: PostgreSQL COPY into an UNLOGGED table ({raw['copy_rows']:,} event-sized rows)",
            f"{raw['copy']:,.0f} rows/s"),
        Row(f"raw: PostgreSQL single-insert loop (8 threads, 1 INSERT of {raw['bytes']} B per transaction)",
            f"{raw['single_insert']:,.0f} rows/s")]


def run_pipeline(size: dict, raw: dict) -> list[Row]:
    from pipeline import measure
    m = measure(size["pipeline"], 1, 8, raw=raw)
    rows = [Row(f"append -> outbox -> relay -> Kafka ({m['events']:,} events, 8 command threads, 1 event each)",
                f"{m['append_to_kafka']:,.0f} events/s", f"{raw['produce']:,.0f} (produce loop)",
                f"{m['append_to_kafka'] / raw['produce']:.0%}", ">= 50% of raw",
                verdict(m["append_to_kafka"] >= 0.5 * raw["produce"])),
            Row(f"  the same, apart: outbox -> relay -> Kafka alone, a backlog of {m['events']:,} events (acks=all, "
                "marked published)", f"{m['relay_drain']:,.0f} events/s", f"{raw['produce']:,.0f} (produce loop)",
                f"{m['relay_drain'] / raw['produce']:.0%}", ">= 50% of raw",
                verdict(m["relay_drain"] >= 0.5 * raw["produce"])),
            Row(f"  the same, apart: the commands alone (8 threads, 1 event each, relay paused; group commit of up to"
                f" {m['group_commit']})",
                f"{m['append_only']:,.0f} events/s", f"{raw['single_insert']:,.0f} (single-insert loop)",
                f"{m['append_only'] / raw['single_insert']:.0%}", ">= 50% of raw",
                verdict(m["append_only"] >= 0.5 * raw["single_insert"]))]
    for label, key in (("batch handler", "projection_batched"), ("per-event handler", "projection_per_event")):
        rows.append(Row(f"Kafka -> projection, {label}, offsets in the same tx", f"{m[key]:,.0f} events/s",
                        f"{raw['consume']:,.0f} (consume loop)", f"{m[key] / raw['consume']:.0%}",
                        ">= 50% of raw" if key == "projection_batched" else "",
                        verdict(m[key] >= 0.5 * raw["consume"]) if key == "projection_batched" else ""))
    return rows


def run_scaleout(size: dict, raw: dict) -> list[Row]:
    from projection_scaleout import measure
    m = measure(size["scaleout"], partitions=6, consumer_counts=(1, 2))
    rows = []
    for count, rate in m["rates"].items():
        processes = f"{count} consumer process{'es' if count > 1 else ''}"
        rows.append(Row(f"Kafka -> projection, batch handler, {processes} in one group "
                        f"({m['events']:,} events on 6 partitions; best of 2)",
                        f"{rate:,.0f} events/s ({rate / m['rates'][1]:.2f}x one process)",
                        f"{m['raw_consume']:,.0f} (consume loop, 1 process, same topic)",
                        f"{rate / m['raw_consume']:.0%}", ">= 50% of raw", verdict(rate >= 0.5 * m["raw_consume"])))
    return rows


def run_http(size: dict, raw: dict) -> list[Row]:
    from http_load import SERVICES, measure_service
    rows = []
    for service in SERVICES:
        m = measure_service(service, HTTP_RATE, size["http_seconds"], HTTP_CLIENTS)
        ok = m["achieved"] >= 0.95 * HTTP_RATE and m["p99"] < 0.050 and not m["errors"]
        rows.append(Row(f"HTTP {service}: {m['command']}, {HTTP_CLIENTS} clients, {HTTP_RATE} req/s offered "
                        f"for {size['http_seconds']} s",
                        f"{m['achieved']:,.0f} req/s, p50 {m['p50'] * 1000:.1f} ms, p99 {m['p99'] * 1000:.1f} ms, "
                        f"{m['errors']} errors", f"{HTTP_RATE} req/s offered", f"{m['achieved'] / HTTP_RATE:.0%}",
                        "p99 < 50 ms at 200 req/s", verdict(ok)))
    rows.append(saturation_row(size, raw))
    return rows


def saturation_row(size: dict, raw: dict) -> Row:
    """The registry's POST /entities, offered more and more (one worker process): the highest rate kept with
    p99 < 50 ms and no error, beside PostgreSQL's single-insert loop of this run."""
    from http_load import saturation
    found = saturation("registry", 100, 1.5, max(5, size["http_seconds"] // 3), 16, past=1)
    best, most = found["best"], max(found["steps"], key=lambda s: s["achieved"])
    kept = f"{best['achieved']:,.0f} req/s kept (p99 {best['p99'] * 1000:.1f} ms)" if best else "no rate kept"
    return Row("HTTP registry: POST /entities, saturation search (1 worker, 16 connections, offered x1.5 from 100 "
               "req/s until p99 > 50 ms or errors)",
               f"{kept}; most achieved {most['achieved']:,.0f} req/s (offered {most['rate']}, p99 "
               f"{most['p99'] * 1000:.1f} ms), {most['cpu_per_request'] * 1000:.2f} ms service CPU per request",
               f"{raw['single_insert']:,.0f} rows/s (single-insert loop)",
               f"{(best['achieved'] if best else 0) / raw['single_insert']:.0%}", ">= 800 req/s, p99 < 50 ms",
               verdict(best is not None and best["achieved"] >= 800))


def run_freshness(size: dict, raw: dict) -> list[Row]:
    from freshness import measure
    m = measure(FRESH_RATE, size["fresh_seconds"], threads=8)
    ok = m["achieved"] >= 0.95 * FRESH_RATE and m["p99"] < 1.0
    return [Row(f"freshness: append -> reporting coverage projection (campaign consume), {FRESH_RATE:,} events/s offered "
                f"for {size['fresh_seconds']} s",
                f"p50 {m['p50'] * 1000:.0f} ms, p99 {m['p99'] * 1000:.0f} ms at {m['achieved']:,.0f} events/s "
                f"appended", f"relay publish p99 {m['publish_p99'] * 1000:.0f} ms",
                f"{m['achieved'] / FRESH_RATE:.0%} of offered", "p99 < 1 s at 1,000 events/s", verdict(ok))]


def run_replay(size: dict, raw: dict, events: int | None = None) -> list[Row]:
    from replay_bench import measure
    m = measure(events or size["replay"])
    return [Row(f"full replay of {m['events']:,} events ({m['entities']:,} entities; written straight into scratch "
                f"topics by aiokafka) into a scratch schema",
                f"{m['per_second']:,.0f} events/s ({m['seconds']:.1f} s, of which writing the tables "
                f"{m['write_seconds']:.1f} s)",
                f"{raw['consume']:,.0f} (consume loop)", f"{m['per_second'] / raw['consume']:.0%}",
                ">= 20,000 events/s", verdict(m["per_second"] >= 20_000))]


def run_bulletin(size: dict, raw: dict, entities: int | None = None) -> list[Row]:
    from reporting.bootstrap import build_context
    from reporting.entrypoints.cli import time_bulletin
    m = time_bulletin(build_context(), entities or size["bulletin"], date(2016, 11, 25))
    copy_seconds = m["entities"] / raw["copy"]
    return [Row(f"bulletin at {m['entities']:,} entities: figures (SQL) + HTML, XLSX, PDF",
                f"{m['total']:.2f} s (figures {m['figures']:.2f} s, files {m['files']:.2f} s)",
                f"COPY of {m['entities']:,} rows: {copy_seconds:.2f} s", "", "< 2 s", verdict(m["total"] < 2))]


def run_import(size: dict, raw: dict, rows: int | None = None) -> list[Row]:
    from registry_import import measure
    m = measure(rows or size["import"])
    rate = m["imported"] / m["total"]
    return [Row(f"{m['rows']:,}-row 附表1 ({m['kind']}) import through HTTP: parse, validate, events + outbox + "
                f"read rows, all-or-nothing",
                f"{rate:,.0f} rows/s ({m['total']:.1f} s; server {m['server_seconds']:.1f} s)",
                f"{raw['copy']:,.0f} rows/s (COPY)", f"{rate / raw['copy']:.1%}", "", "")]


def run_audit(size: dict, raw: dict) -> list[Row]:
    from audit_log import measure
    m = measure(size["audit"], 500, size["audit_appends"])
    rows = [Row(f"audit log append at {m['size']:,} leaves (AuditLogStore.append, batch 500)",
                f"{m['append_rates'][500]:,.0f} events/s", f"{raw['copy']:,.0f} rows/s (COPY)",
                f"{m['append_rates'][500] / raw['copy']:.0%}", ">= 20,000 events/s",
                verdict(m["append_rates"][500] >= 20_000)),
            Row("audit log append via the projection applier (parse + dedupe + append, batch 500)",
                f"{m['applier_rate']:,.0f} events/s", f"{raw['copy']:,.0f} rows/s (COPY)",
                f"{m['applier_rate'] / raw['copy']:.0%}")]
    for name, (p50, p99) in m["proofs"].items():
        over_http = "over HTTP" in name
        rows.append(Row(f"audit {name} at {m['size']:,} leaves", f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                        target="p99 < 5 ms" if over_http else "", met=verdict(p99 < 5) if over_http else ""))
    return rows


def run_asof(size: dict, raw: dict) -> list[Row]:
    from as_of_bench import measure
    from platform_core.settings import get_settings
    m = measure(size["asof"], get_settings().reporting_as_of_snapshot_every, 50)
    return [Row(f"as-of figures (GET /rates?as_of='s fold from the nearest snapshot) at {m['events']:,} events, "
                f"{m['questions']} random moments, snapshots every {m['every']:,} events",
                f"p50 {m['p50'] * 1000:,.0f} ms, p99 {m['p99'] * 1000:,.0f} ms",
                f"full replay to a moment: {m['full_seconds']:.1f} s", f"{m['full_seconds'] / m['p99']:,.1f}x",
                "p99 < 2 s", verdict(m["p99"] < 2))]


def run_drivers(size: dict, raw: dict) -> list[Row]:
    from projection_drivers import DRIVERS, measure
    m = measure(size["scaleout"], partitions=6)
    return [Row(f"Kafka -> projection driver: {label} ({m['events']:,} events on 6 partitions, 1 process)",
                f"{m[key]:,.0f} events/s", f"{m['raw_consume']:,.0f} (consume loop, same topic)",
                f"{m[key] / m['raw_consume']:.0%}") for key, label in DRIVERS]


def run_intake(size: dict, raw: dict) -> list[Row]:
    from intake import measure
    m = measure(size["intake"])
    return [Row(f"Kafka intake end to end: {m['commands']:,} register-entity CloudEvents, produce -> registry's intake "
                "(1 process, savepoint per command, group commit) -> outcome on intake.<department>.results, events relayed",
                f"{m['rate']:,.0f} commands/s", f"{raw['produce']:,.0f} (produce loop)",
                f"{m['rate'] / raw['produce']:.1%}", ">= 10,000/s and >= 50% of raw",
                verdict(m["rate"] >= 10_000 and m["rate"] >= 0.5 * raw["produce"]))]


RUNNERS = {"pipeline": run_pipeline, "scaleout": run_scaleout, "drivers": run_drivers, "http": run_http,
           "freshness": run_freshness, "replay": run_replay,
           "bulletin": run_bulletin, "import": run_import, "audit": run_audit, "intake": run_intake,
           "asof": run_asof}


def growth(size: dict, raw: dict) -> list[str]:
    """Replay, bulletin and import at three sizes each (how cost grows with events and entities)."""
    lines = ["| measure | size | result |", "|---|---:|---|"]
    for name, key, runner in (("replay", "growth_replay", run_replay), ("bulletin", "growth_bulletin", run_bulletin),
                              ("import", "growth_import", run_import)):
        for n in size[key]:
            progress(f"growth: {name} at {n:,}")
            try:
                row = runner(size, raw, n)[0]
                lines.append(f"| {name} | {n:,} | {row.result} |")
            except Exception as exc:  # one failed size is reported, the rest still run
                traceback.print_exc()
                lines.append(f"| {name} | {n:,} | failed: {type(exc).__name__}: {exc} |")
    return lines


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "?")
    versions = []
    for command in (["psql", "--version"], ["java", "-version"]):
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10)
            versions.append((out.stdout or out.stderr).splitlines()[0])
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    import aiokafka
    import kafka
    return [f"- CPU: {os.cpu_count()} cores, {cpu}; memory {memory}",
            f"- Python {platform.python_version()}, kafka-python {kafka.__version__}, aiokafka {aiokafka.__version__}; "
            + "; ".join(versions)]


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="small")
    parser.add_argument("--only", choices=NAMES, action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--growth", action="store_true", help="also replay, bulletin and import at three sizes")
    args = parser.parse_args()
    size = SIZES[args.size]
    started, load_before = datetime.now(timezone.utc), load_average()
    progress(f"raw limits ({args.size}) ...")
    raw, rows = run_raw(size)
    for name in args.only or NAMES:
        progress(f"{name} ...")
        try:
            rows.extend(RUNNERS[name](size, raw))
        except Exception as exc:  # a failed benchmark is a row of the table, the others still run
            traceback.print_exc()
            rows.append(Row(name, f"failed: {type(exc).__name__}: {exc}"))
    growth_lines = growth(size, raw) if args.growth else []
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    command = "bench/run_all.py " + " ".join(sys.argv[1:])
    lines = [f"## Benchmark run {started:%Y-%m-%d %H:%M} UTC (`{command}`, {seconds / 60:.1f} min)", "",
             *machine(), f"- load average (1/5/15 min) at start {load_before}, at end {load_average()}", "",
             "| measure | result | raw limit (same run) | ratio | target | met? |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.result} | {r.raw} | {r.ratio} | {r.target} | {r.met} |" for r in rows]
    if growth_lines:
        lines += ["", "### Growth (same run)", "", *growth_lines]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench-results" / f"{started:%Y%m%dT%H%M%SZ}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    progress(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
