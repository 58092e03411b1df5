"""Operator commands of the reporting service.

    python -m reporting.entrypoints.cli replay [--until 2016-11-20T24:00:00+08:00] [--into SCHEMA]
    python -m reporting.entrypoints.cli rates [--level district] [--as-of ...]
    python -m reporting.entrypoints.cli as-of-snapshots [--verify]
    python -m reporting.entrypoints.cli publish-bulletin 2016-11-25 [--user NAME] [--narrative-file FILE]
    python -m reporting.entrypoints.cli export-bulletin 2016-11-25 --out bulletin-2016-11-25/
    python -m reporting.entrypoints.cli detectors [--truth planted.json] [--out signals.json]
"""

import json
import uuid
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from platform_core.auth import Principal
from platform_core.contracts import every_event_type
from platform_core.logs import configure_logging
from reporting.adapters.replay import as_of_schema, rebuild_live, replay_into
from reporting.bootstrap import build_context, checkpoint_signer
from reporting.domain.window import Window

app = typer.Typer(help="Reporting: replay projections, rates, bulletins.", no_args_is_help=True)


@app.command()
def replay(until: Annotated[datetime | None, typer.Option(help="only events recorded at or before (ISO, with zone)")] = None,
           into: Annotated[str | None, typer.Option(help="target schema (default: the live projection, or "
                                                         "reporting_asof_<time> with --until)")] = None) -> None:
    """Drop and rebuild the projections from the beginning of the topics (stop the processor first when
    rebuilding the live projection: it resumes from the rebuilt offsets when restarted)."""
    context = build_context()
    configure_logging("reporting-replay", context.settings.log_level, context.settings.log_format)
    context.migrate()
    registry = every_event_type()
    if until is None and into is None:
        outcome = rebuild_live(context.engine, context.settings.kafka_bootstrap, context.schema, registry)
        target = context.schema
    else:
        if until is not None and until.tzinfo is None:
            raise typer.BadParameter("--until needs a time zone, e.g. 2016-11-20T24:00:00+08:00")
        target = into or as_of_schema(context.schema, until.astimezone(timezone.utc))
        outcome = replay_into(context.engine, context.settings.kafka_bootstrap, target, registry,
                              window=Window(until=until.astimezone(timezone.utc) if until else None))
    typer.echo(f"replayed {outcome.records} records ({outcome.applied} applied, {outcome.duplicates} duplicates, "
               f"{outcome.unusable} unusable, skipped: the live projection dead-letters them) into {target} in {outcome.seconds:.2f} s "
               f"= {outcome.per_second:,.0f} records/s")


@app.command()
def rates(level: str = "city", as_of: Annotated[datetime | None, typer.Option("--as-of")] = None,
          district: str | None = None) -> None:
    """Print R7 rates (numerator/denominator) at a level, now or as of a past time."""
    from reporting.handlers.rates import rates_at
    typer.echo(json.dumps(rates_at(build_context(), level, as_of, district), ensure_ascii=False, indent=2))


@app.command("as-of-snapshots")
def as_of_snapshots_command(verify: Annotated[bool, typer.Option(
        help="rebuild every snapshot from the log alone and compare (exit 1 on a difference)")] = False) -> None:
    """Cut the as-of snapshots missing (every reporting_as_of_snapshot_every events and at each bulletin cutoff
    and report deadline, up to 10 minutes ago), or with --verify check each stored one against the log."""
    from platform_core import clock
    from reporting.adapters import as_of_snapshots
    from reporting.handlers.bulletins import SETTLED_AFTER
    from reporting.handlers.rates import snapshot_cutoffs
    context = build_context()
    configure_logging("reporting-as-of-snapshots", context.settings.log_level, context.settings.log_format)
    context.migrate()
    settings = context.settings
    if verify:
        checked = as_of_snapshots.verify(context.engine, settings.kafka_bootstrap, context.schema, every_event_type())
        for v in checked:
            typer.echo(f"{v.covers_until.isoformat()}  {v.events_applied} events  "
                       f"state {'ok' if v.state_matches else 'DIFFERS'}  events {'ok' if v.digest_matches else 'DIFFER'}")
        if not all(v.state_matches and v.digest_matches for v in checked):
            raise typer.Exit(1)
        typer.echo(f"{len(checked)} snapshot(s) equal to the log's fold")
        return
    cut = as_of_snapshots.refresh(context.engine, settings.kafka_bootstrap, context.schema, every_event_type(),
                                  settings.reporting_as_of_snapshot_every, clock.now() - SETTLED_AFTER,
                                  snapshot_cutoffs())
    typer.echo(f"{len(cut)} snapshot(s) cut" + (f", the newest at {cut[-1].isoformat()}" if cut else ""))


@app.command("publish-bulletin")
def publish_bulletin(cutoff: Annotated[str, typer.Argument(help="cutoff date, YYYY-MM-DD (a past day)")],
                     user: str = "operator",
                     narrative_file: Annotated[Path | None, typer.Option(
                         help="the 通报's edited text (UTF-8); default: the text drafted from the figures")] = None
                     ) -> None:
    """Publish the city's bulletin for a date as the city organization department."""
    from reporting.handlers import bulletins
    context = build_context()
    configure_logging("reporting-bulletin", context.settings.log_level, context.settings.log_format)
    context.migrate()
    done = bulletins.publish(context, Principal(department="city_org", kind="city_org", user=user),
                             date.fromisoformat(cutoff), signer=partial(checkpoint_signer, context),
                             narrative=narrative_file.read_text(encoding="utf-8") if narrative_file else None)
    typer.echo(json.dumps({"bulletin_id": done.bulletin_id, "cutoff_date": cutoff,
                           "figures_sha256": done.figures_sha256, "checkpoint_tree_size": done.checkpoint_tree_size,
                           "event_id": done.event_id, "document_number": done.document_number},
                          ensure_ascii=False, indent=2))


@app.command()
def detectors(truth: Annotated[Path | None, typer.Option(
                  help="the simulator's planted cases (--cheat-truth): print precision and recall per signal")] = None,
              out: Annotated[Path | None, typer.Option(help="write the signals as JSON here")] = None) -> None:
    """Run the detectors over every event on the topics; with --truth, measure them (docs/detectors.md)."""
    from dataclasses import asdict

    from platform_core.reference import load_calendar
    from platform_core.settings import get_settings
    from reporting.domain.signals.measure import measure
    from reporting.handlers.signals_scan import scan_topics

    configure_logging("reporting")
    signals, events = scan_topics(get_settings().kafka_bootstrap, every_event_type(), load_calendar())
    typer.echo(f"{len(events.envelopes)} events read ({events.unusable} unusable), {len(signals)} signals")
    if out is not None:
        out.write_text(json.dumps([asdict(s) | {"signal_id": s.signal_id} for s in signals], ensure_ascii=False,
                                  indent=1, default=str), encoding="utf-8")
    if truth is None:
        return
    planted = json.loads(truth.read_text(encoding="utf-8"))
    typer.echo(f"{'signal':<26}{'planted':>8}{'found':>7}{'recall':>8}{'flagged':>9}{'false':>7}{'share':>7}"
               f"{'honest':>8}")
    for row in measure(signals, planted["planted"], planted["districts"]):
        recall = f"{row.recall:.0%}" if row.recall is not None else "-"
        share = f"{row.false_alarm_share:.1%}" if row.false_alarm_share is not None else "-"
        typer.echo(f"{row.kind:<26}{row.planted:>8}{row.found:>7}{recall:>8}{row.flagged:>9}{row.false_alarms:>7}"
                   f"{share:>7}{row.honest_false_alarms:>8}")


@app.command("export-bulletin")
def export_bulletin(cutoff: str, out: Annotated[Path, typer.Option(help="folder to write")]) -> None:
    """Write a published bulletin's files and manifest (for the offline verifier's --bulletin)."""
    from reporting.audit.export import bulletin_manifest
    from reporting.handlers import bulletins
    context = build_context()
    record = bulletins.published(context, date.fromisoformat(cutoff))
    if record is None:
        raise typer.BadParameter(f"no bulletin published for {cutoff}")
    out.mkdir(parents=True, exist_ok=True)
    for kind, name in (("json", "figures.json"), ("html", "bulletin.html"), ("pdf", "bulletin.pdf"),
                       ("xlsx", "bulletin.xlsx")):
        (out / name).write_bytes(bulletins.bulletin_file(context, date.fromisoformat(cutoff), kind)[0])
    (out / "checkpoint.txt").write_text(record["checkpoint_note"], encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(bulletin_manifest(record), indent=2), encoding="utf-8")
    typer.echo(f"wrote {out}")


@app.command("regenerate-check")
def regenerate_check(cutoff: str) -> None:
    """Rebuild the figures of a published bulletin from a full replay and compare its data file byte for byte."""
    import hashlib

    from reporting.handlers import bulletins
    context = build_context()
    record = bulletins.published(context, date.fromisoformat(cutoff))
    if record is None:
        raise typer.BadParameter(f"no bulletin published for {cutoff}")
    published = bulletins.bulletin_file(context, date.fromisoformat(cutoff), "json")[0]
    data = bulletins.regenerate(context, date.fromisoformat(cutoff), published)
    same = hashlib.sha256(data).hexdigest() == record["figures_sha256"]
    typer.echo(f"{'identical' if same else 'DIFFERENT'}: regenerated {hashlib.sha256(data).hexdigest()}, "
               f"published {record['figures_sha256']}")
    raise typer.Exit(0 if same else 1)


@app.command("bench-bulletin")
def bench_bulletin(entities: int = 200_000, cutoff: str = "2016-11-25") -> None:
    """Time a bulletin's figures and files over a scratch projection of N synthetic entities (dropped after)."""
    timing = time_bulletin(build_context(), entities, date.fromisoformat(cutoff))
    typer.echo(f"{entities:,} entities: figures {timing['figures']:.3f} s, files {timing['files']:.3f} s "
               f"({', '.join(f'{k} {v:,} B' for k, v in timing['sizes'].items())}), total {timing['total']:.3f} s")


def fill_synthetic_statuses(conn, schema: str, entities: int) -> None:
    """``entities`` synthetic rows of rp_entity_status spread over the districts (benchmarks only)."""
    import sqlalchemy as sa

    from reporting.handlers.bulletin_figures import district_names

    districts = list(district_names())
    conn.execute(sa.text(
        f"INSERT INTO {schema}.rp_entity_status SELECT 'entity-' || md5(i::text), '单位' || i,"
        " 'non_public_enterprise', 'private', d, d || '001',"
        " CASE WHEN i % 50 = 0 THEN 'civil-affairs' ELSE 'district-' || d END, i % 40 <> 0, '{}',"
        " i % 300, i % 7, i % 2, '[]', i % 5 <> 0, i % 3 = 0, i % 5 = 0, i % 5 <> 0 OR i % 10 = 0,"
        " CASE WHEN i % 300 >= 100 THEN 'R2' END, NULL, true, i % 5 <> 0 AND i % 3 <> 0 AND i % 7 >= 3,"
        " CASE WHEN i % 4 = 0 THEN 'closed' ELSE 'open' END, NULL, i % 5 = 0, i % 4 <> 0, i % 11 = 0,"
        " CASE WHEN i % 300 >= 100 THEN ARRAY['enterprise_100'] ELSE ARRAY[]::text[] END, NULL, i % 6 = 0"
        " FROM generate_series(1, :n) AS i, LATERAL (SELECT (:districts)[1 + i % :k] AS d) AS x"),
        {"n": entities, "districts": districts, "k": len(districts)})
    conn.execute(sa.text(f"ANALYZE {schema}.rp_entity_status"))
    conn.execute(sa.text(f"UPDATE {schema}.rp_meta SET events_applied = events_applied"))  # a new projection version


def time_bulletin(context, entities: int, day: date) -> dict:
    """Seconds for a bulletin's figures and its three files over N synthetic entities in a scratch schema."""
    import time

    import sqlalchemy as sa

    from reporting.adapters import bulletin_render
    from reporting.adapters.figures_sql import SqlFigures
    from reporting.adapters.projection_store import create_tables
    from reporting.handlers.bulletin_figures import assemble, previous_cutoff

    schema = f"{context.schema}_bench_{uuid.uuid4().hex[:6]}"
    try:
        with context.engine.begin() as conn:
            migrate_core(context, schema)
            create_tables(conn, schema)
            fill_synthetic_statuses(conn, schema, entities)
        started = time.perf_counter()
        with context.engine.connect() as conn:
            data = assemble(SqlFigures(conn, schema), SqlFigures(conn, schema), day, previous_cutoff(day))
        figures_at = time.perf_counter()
        as_dict = json.loads(data.data_bytes())
        files = bulletin_render.render_files(as_dict, "checkpoint", "0" * 64)
        done = time.perf_counter()
    finally:
        with context.engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    return {"entities": entities, "figures": figures_at - started, "files": done - figures_at,
            "total": done - started, "sizes": {k: len(v) for k, v in files.items()}}


def migrate_core(context, schema: str) -> None:
    from platform_core.db import migrate
    migrate(context.engine, schema)


if __name__ == "__main__":
    app()
