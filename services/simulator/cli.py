"""``python -m simulator play``: plays a campaign against the running services and checks the figures.

    python -m simulator play --entities 20000 --seed 7 [--speed max|N] [--workers 8] [--export truth.json]
"""

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from platform_core.reference import load_calendar, load_territory
from platform_core.settings import local_service_urls
from platform_core.tokens import issuer_from_settings

from . import compare, setup_plan, summary
from .plan import build_campaign
from .runner import CAMPAIGN_TIME_HEADER, Runner
from .tokens import Tokens
from .truth import GroundTruth

app = typer.Typer(help="Campaign simulator: plays a ~100-day campaign through the public APIs.", no_args_is_help=True)
console = Console(stderr=True)
# where scripts/services.sh starts them (CAMPAIGN_<SERVICE>_PORT, default 8101..8104)
DEFAULT_URLS = local_service_urls()
# Which routes a phase needs: a phase runs only when its service answers them.
NEEDS = {"registry": ("/imports/{form}", "/ledgers/{unit}/submit"), "membership": ("/members/found",),
         "formation": ("/organizations", "/work-coverage/instructors"), "reporting": ("/reports", "/bulletins")}


def available_services(urls: dict[str, str]) -> frozenset[str]:
    """Services whose OpenAPI document lists the routes the simulator uses."""
    found = set()
    for service, url in urls.items():
        try:
            paths = httpx.get(f"{url}/openapi.json", timeout=10).json().get("paths", {})
        except (httpx.HTTPError, ValueError):
            continue
        if all(route in paths for route in NEEDS[service]):
            found.add(service)
    return frozenset(found)


@app.callback()
def simulator() -> None:
    """Campaign simulator."""


@app.command()
def play(entities: Annotated[int, typer.Option(min=20, max=200_000, help="entities in the city")] = 20_000,
         seed: Annotated[int, typer.Option(help="the campaign is a function of the seed")] = 2016,
         speed: Annotated[str, typer.Option(help="'max' (as fast as the APIs allow) or commands per second")] = "max",
         workers: Annotated[int, typer.Option(min=1, max=64, help="concurrent requests")] = 8,
         registry_url: str = DEFAULT_URLS["registry"], membership_url: str = DEFAULT_URLS["membership"],
         formation_url: str = DEFAULT_URLS["formation"], reporting_url: str = DEFAULT_URLS["reporting"],
         territory: Annotated[Path | None, typer.Option(help="another city's territory JSON (default: the 2016 city)")] = None,
         run_tag: Annotated[str | None, typer.Option(help="salts codes and identity numbers (default: random)")] = None,
         export: Annotated[Path | None, typer.Option(help="write the ground truth and the comparison as JSON")] = None,
         table: Annotated[Path | None, typer.Option(
             help="write the wide per-district table here (default: beside --export; without either, print it)")] = None,
         settle_seconds: Annotated[float, typer.Option(help="how long to wait for projections to agree")] = 120.0,
         real_clock: Annotated[bool, typer.Option(
             "--real-clock", help="the platform runs on the real clock: no reports or bulletins")] = False,
         cheat_districts: Annotated[str, typer.Option(
             help="cheating mode: comma-separated district codes that plant the detectors' patterns "
                  "(docs/detectors.md)")] = "",
         cheat_truth: Annotated[Path | None, typer.Option(
             help="cheating mode: write the planted cases (their ground truth) as JSON here")] = None) -> None:
    """Play a whole campaign, then compare the platform's figures with the ground truth (exit 1 on a difference)."""
    urls = {"registry": registry_url, "membership": membership_url, "formation": formation_url,
            "reporting": reporting_url}
    rate = None if speed == "max" else float(speed)
    tag = run_tag or secrets.token_hex(4)
    services = available_services(urls)
    if not {"registry", "membership"} <= services:
        console.print(f"[red]registry and membership must be running (found: {', '.join(sorted(services)) or 'none'})")
        raise typer.Exit(2)
    if not real_clock:
        refused = [s for s in sorted(services) if not _accepts_campaign_time(urls[s])]
        if refused:
            console.print(f"[red]{', '.join(refused)} run(s) on the real clock: start the platform with "
                          "CAMPAIGN_SIMULATED_CLOCK=true (scripts/run.sh does), or pass --real-clock")
            raise typer.Exit(2)
    city = load_territory(territory)
    cheating = tuple(code for code in cheat_districts.split(",") if code)
    unknown = sorted(set(cheating) - {d.code for d in city.districts})
    if unknown:
        console.print(f"[red]--cheat-districts: {', '.join(unknown)} are not districts of {city.name}")
        raise typer.Exit(2)
    started = time.perf_counter()
    campaign = build_campaign(seed, entities, city, tag, available=services, simulated_clock=not real_clock,
                              cheat_districts=cheating)
    plan = campaign.plan
    for line in summary.wrapped(f"campaign {city.name} seed={seed} run-tag={tag}: {len(campaign.entities)} entities, "
                                f"{len(campaign.members)} members, {plan.command_count} commands planned "
                                f"in {time.perf_counter() - started:.1f} s"):
        console.print(line, markup=False, highlight=False)
    truth = GroundTruth({e.key: e for e in campaign.entities})
    runner = Runner(urls, Tokens(issuer_from_settings()), truth, workers=workers, rate=rate,
                    simulated_clock=not real_clock)
    try:
        before = compare.snapshot(runner, set(plan.phases))
        shared = compare.units_in_use(runner) if "bulletins" in plan.phases else set()
        runner.units_not_reporting = shared  # their reports for these deadlines may exist already
        checks_milestones = "setup" in plan.phases and "reporting" in services
        if checks_milestones:  # districts an earlier run set up are left out (their records exist already)
            setup_plan.drop_districts(plan, compare.districts_with_milestones(runner, load_calendar()))
        # one bar that updates in place, within 80 columns (the step's label is cut to fit)
        with Progress(TextColumn("{task.description:<30}"), BarColumn(bar_width=16), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]:>5} cmd/s"), TimeElapsedColumn(), console=console,
                      disable=not console.is_terminal) as bar:
            task = bar.add_task("campaign", total=plan.command_count, rate="")
            clock = time.perf_counter()

            logged = {"mark": -1, "step": None}

            def on_step(step) -> None:
                logged["step"] = step
                bar.update(task, description=f"{step.on:%m-%d} {step.label}"[:30])

            def on_done(n: int) -> None:
                elapsed = time.perf_counter() - clock
                bar.update(task, advance=n, rate=f"{runner.stats.sent / elapsed:.0f}" if elapsed > 0 else "")
                if console.is_terminal:  # the bar updates in place
                    return
                # a log file (CI, run.sh piped): a line per 10% of the commands instead of a bar
                mark = summary.progress_mark(int(bar.tasks[0].completed), plan.command_count, logged["mark"])
                if mark is not None:
                    logged["mark"], step = mark, logged["step"]
                    console.print(f"{mark:3d}%  {elapsed:6.1f} s  " + (f"{step.on}  {step.label}"[:60] if step else ""))

            stats = runner.play(plan, on_step, on_done)
        after, found = compare.settle(runner, truth, before, set(plan.phases), {d.code for d in city.districts},
                                       settle_seconds)
        runner.campaign_time = None
        bulletins = compare.bulletins(runner, truth, plan, shared)
        found += bulletins["differences"]
        milestones_compared = 0
        if checks_milestones:
            milestones_compared, differ = compare.milestones(runner, truth, load_calendar(), settle_seconds)
            found += differ
    finally:
        runner.close()
    report = _report(campaign, truth, stats, found, tag, services, after, bulletins)
    report["milestones_compared"] = milestones_compared
    if table is None and export is not None:
        table = export.with_name(export.stem + "-by-district.txt")
    _print(report, table)
    if export is not None:
        export.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        console.print(f"ground truth and comparison written to {export}")
    if plan.cheating is not None and cheat_truth is not None:
        planted = {"seed": seed, "run_tag": tag, "districts": list(plan.cheating.districts),
                   "planted": plan.cheating.resolved(runner.ids)}
        cheat_truth.write_text(json.dumps(planted, ensure_ascii=False, indent=1), encoding="utf-8")
        console.print(f"planted cases ({len(planted['planted'])}) written to {cheat_truth}")
    if stats.failed or found:
        raise typer.Exit(1)


def _accepts_campaign_time(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", headers={CAMPAIGN_TIME_HEADER: "2016-08-14T09:00:00+08:00"},
                         timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _report(campaign, truth: GroundTruth, stats, found, tag: str, services, after: dict, bulletins: dict) -> dict:
    plan = campaign.plan
    return {
        "seed": plan.seed, "run_tag": tag, "city": campaign.territory.code, "entities": len(campaign.entities),
        "members_planned": len(campaign.members), "services": sorted(services),
        "phases_ran": plan.phases, "phases_left_out": plan.left_out,
        "commands": {"planned": plan.command_count, "sent": stats.sent, "ok": stats.ok, "failed": stats.failed,
                     "retries": stats.retries, "decided_during_run": stats.dynamic,
                     "fallbacks": stats.fallbacks, "seconds": round(stats.seconds, 2),
                     "per_second": round(stats.rate(), 1), "p50_ms": round(stats.percentile(0.5) * 1000, 1),
                     "p99_ms": round(stats.percentile(0.99) * 1000, 1), "by_service": dict(stats.by_service),
                     "by_phase": dict(stats.by_phase), "failures": stats.failures},
        "truth": {"registry_by_district": truth.registry_by_district(),
                  "members_by_district": truth.members_by_district(),
                  "coverage_by_district": truth.coverage_by_district(), "bulletin": truth.bulletin(),
                  "report_figures_as_of": truth.as_of, "reports_sent": truth.reports,
                  "report_intents": [{"unit": i.unit, "deadline": i.deadline.isoformat(), "behaviour": i.behaviour,
                                      "submit_on": i.submit_on.isoformat() if i.submit_on else None,
                                      "expected_status": i.expected_status, "inflate": i.inflate}
                                     for i in plan.reports]},
        "bulletins": bulletins["published"], "bulletin_units_not_compared": bulletins["not_compared"],
        "spot_check_seed": plan.spot_check_seed,
        "formation_platform": after.get("formation", {}),
        "differences": [d.__dict__ for d in found],
    }


def _print(report: dict, table_file: Path | None) -> None:
    """The summary in short lines; the wide per-district table to ``table_file`` (or here, without one)."""
    for line in summary.summary_lines(report):
        console.print(line, markup=False, highlight=False, style="red" if line.startswith("failed:") else None)
    if table_file is None:
        Console().print(summary.district_table(report))
    else:
        with table_file.open("w", encoding="utf-8") as out:
            Console(file=out, width=200, color_system=None).print(summary.district_table(report))
        console.print(f"per-district figures (ground truth):\n  {table_file}", markup=False, highlight=False)
    if report["differences"]:
        console.print(f"[red]{len(report['differences'])} figures differ from the ground truth, e.g.:")
        for d in report["differences"][:15]:
            console.print(f"  {d['source']} {d['unit']} {d['figure']}: platform {d['platform']}, truth {d['truth']}",
                          style="red", markup=False, highlight=False)
    else:
        console.print("[green]the platform's figures agree with the ground truth")


def main() -> None:
    app(sys.argv[1:])
