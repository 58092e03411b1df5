"""Sends the plan's commands to the services' public HTTP APIs, step by step, concurrently within a step.

Steps run in business-date order; a step's commands are independent, so a
small thread pool sends them at once. Keys the plan invented (``@E000042``) are
replaced with the ids the platform answered. Every command carries its own
idempotency key, so a retry after a lost answer is safe.

On a simulated campaign clock every request names its business time
(``X-Campaign-Time``): the step's day at 09:00 city time plus one second per
earlier step that day, so the platform records the campaign's events on the
campaign's dates and judges its deadlines by them.
"""

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta
from typing import Any

import httpx

from platform_core.clock import HEADER as CAMPAIGN_TIME_HEADER
from platform_core.reference.city_time import CITY_TIME

from .cheating import cheating_mismatches, spot_result
from .commands import Command, Plan, Step, fact
from .reporting_plan import REPORT_FIGURES, report_command
from .truth import GroundTruth

RETRY_RULES = ("territory", "projection", "not_yet_projected")
# R12: the city's spot checks are joint; each result is recorded by one of the departments taking part
SPOT_CHECKERS = ("city_org", "united_front", "market_regulation", "commerce", "economy_it", "federation_commerce")
TRANSIENT = (502, 503, 504)
BACKLOG = re.compile(r'^campaign_outbox_backlog\{[^}]*\}\s+([0-9.e+]+)', re.M)


class SimulationError(RuntimeError):
    pass


@dataclass
class Stats:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    retries: int = 0
    seconds: float = 0.0
    by_service: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    by_phase: Counter = field(default_factory=Counter)
    dynamic: int = 0  # commands decided during the run (spot-check results: the sample is known only then)
    fallbacks: list[str] = field(default_factory=list)

    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class Throttle:
    """At most ``rate`` commands per second across threads (None: as fast as the APIs allow)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            at = max(self.next_at, now)
            self.next_at = at + self.interval
        if at > now:
            time.sleep(at - now)


class Runner:
    def __init__(self, urls: dict[str, str], tokens: Callable[[str], str], truth: GroundTruth,
                 workers: int = 8, rate: float | None = None, retry_seconds: float = 90.0,
                 simulated_clock: bool = True):
        self.urls, self.tokens, self.truth = urls, tokens, truth
        self.simulated_clock = simulated_clock
        self.campaign_time: str | None = None  # the X-Campaign-Time of the step being played
        self.plan: Plan | None = None
        self.units_not_reporting: set[str] = set()  # reporting units an earlier run answers for (compare.units_in_use)
        self.ids: dict[str, str] = {}
        self.stats = Stats()
        self.workers, self.throttle, self.retry_seconds = workers, Throttle(rate), retry_seconds
        self.client = httpx.Client(timeout=120.0, limits=httpx.Limits(max_connections=workers * 2))
        self.lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    # -- the plan ---------------------------------------------------------------------------------------------
    def play(self, plan: Plan, on_step: Callable[[Step], None] = lambda s: None,
             on_done: Callable[[int], None] = lambda n: None) -> Stats:
        started = time.perf_counter()
        self.plan = plan
        day, same_day = None, 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sim") as pool:
            for step in plan.ordered():
                same_day = same_day + 1 if step.on == day else 0
                day = step.on
                if self.simulated_clock:
                    self.campaign_time = campaign_time(step.on, same_day)
                on_step(step)
                if "entities" in step.resolve:
                    self.resolve_entities()
                commands = step.commands
                try:
                    for item in step.resolve:
                        if item.startswith("spot_check_results:"):
                            commands += self.spot_check_results(item.partition(":")[2], step)
                        elif item.startswith("out_of_baseline:"):
                            self.await_out_of_baseline(item.partition(":")[2])
                        elif item.startswith("report_figures:"):
                            self.truth.record_as_of(item.partition(":")[2])
                        elif item.startswith("reports_due:"):
                            commands += self.reports_due(date.fromisoformat(item.partition(":")[2]))
                        elif item == "await_published":
                            self.await_published()
                except (SimulationError, KeyError) as exc:
                    with self.lock:
                        self.stats.failed += 1
                        self.stats.failures.append(f"{step.on} {step.label}: {exc}")
                for _ in pool.map(lambda c: self._run(c, step, on_done), commands):
                    pass
        self.stats.seconds = time.perf_counter() - started
        return self.stats

    def _run(self, command: Command, step: Step, on_done: Callable[[int], None]) -> None:
        try:
            answer = self.send(command)
        except SimulationError as exc:
            with self.lock:
                self.stats.failed += 1
                if len(self.stats.failures) < 50:
                    self.stats.failures.append(f"{step.on} {step.label}: {exc}")
        else:
            with self.lock:
                self.stats.ok += 1
                self.stats.by_phase[step.phase] += 1
                if command.produces and isinstance(answer, dict):
                    self.ids[command.produces] = answer[command.id_field]
                for item in command.facts:
                    self.truth.apply(item)
        on_done(1)

    # -- one command ------------------------------------------------------------------------------------------
    def resolved(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("@"):
                return self.ids[value[1:]]
            if "/@" in value:
                return "/".join(self.ids[p[1:]] if p.startswith("@") else p for p in value.split("/"))
            return value
        if isinstance(value, list):
            return [self.resolved(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolved(v) for k, v in value.items()}
        return value

    def send(self, command: Command) -> Any:
        try:
            path, body = self.resolved(command.path), self.resolved(command.body)
        except KeyError as exc:
            raise SimulationError(f"{command.method} {command.path}: {exc.args[0]} has no platform id "
                                  "(the command that creates it failed)") from None
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.2
        fallback = command.fallback_rule
        while True:
            response = self._http(command, path, body)
            if fallback and response is not None and response.status_code == 422 and _rule(response) == fallback:
                body, fallback = self.resolved(command.fallback_body), None  # e.g. a checkpoint now seeds the draw
                with self.lock:
                    self.stats.fallbacks.append(f"{command.method} {path}: {response.json().get('message', '')[:200]}")
                continue
            if response is None or response.status_code in TRANSIENT or _projection_behind(response) \
                    or self._should_retry(command, response):
                if time.monotonic() > deadline:
                    detail = response.text[:300] if response is not None else "no answer"
                    raise SimulationError(f"{command.method} {path}: gave up retrying: {detail}")
                with self.lock:
                    self.stats.retries += 1
                time.sleep(min(max(delay, _retry_after(response)), 3.0))
                delay = min(delay * 2, 3.0)
                continue
            if response.status_code == 409 and command.on_conflict == "approve_pending":
                self._approve_pending(command, path)
                continue
            if response.status_code >= 400:
                raise SimulationError(f"{command.method} {path} -> {response.status_code} {response.text[:400]}")
            return response.json() if response.content else None

    def _should_retry(self, command: Command, response: httpx.Response) -> bool:
        if response.status_code == 409 and _error(response) == "not_yet_projected":
            return True  # a service's projection of another's topic has not caught up: nothing was written
        if response.status_code not in command.retry_statuses:
            return False
        rule = _rule(response)
        return rule in RETRY_RULES or rule in command.retry_rules

    def _http(self, command: Command, path: str, body: Any) -> httpx.Response | None:
        token = self.tokens(command.department, command.user) if command.user else self.tokens(command.department)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": command.key,
                   **self._clock_header(command.minute)}
        url = self.urls[command.service] + path
        self.throttle.wait()
        started = time.perf_counter()
        try:
            if command.upload is not None:
                files = {command.upload.field: (command.upload.filename, command.upload.content, command.upload.media_type)}
                response = self.client.request(command.method, url, headers=headers, files=files)
            else:
                response = self.client.request(command.method, url, headers=headers, json=body)
        except httpx.TransportError:
            response = None
        with self.lock:
            self.stats.sent += 1
            self.stats.by_service[command.service] += 1
            self.stats.latencies.append(time.perf_counter() - started)
        return response

    def _approve_pending(self, command: Command, path: str) -> None:
        """Another submission of a shared unit (e.g. civil-affairs) awaits review: the city task force decides it."""
        unit_path = path.rsplit("/", 1)[0]
        response = self._http(Command("registry", "city_org", "POST", f"{unit_path}/approve",
                                      f"{command.key}-pending-{time.monotonic_ns()}"), f"{unit_path}/approve", None)
        if response is None or response.status_code >= 500:
            time.sleep(0.5)

    def _clock_header(self, minute: int | None = None) -> dict[str, str]:
        if not self.campaign_time:
            return {}
        if minute is None:
            return {CAMPAIGN_TIME_HEADER: self.campaign_time}
        day = datetime.fromisoformat(self.campaign_time).date()
        return {CAMPAIGN_TIME_HEADER: (datetime.combine(day, clock_time(9), CITY_TIME) + timedelta(minutes=minute)).isoformat()}

    # -- reads --------------------------------------------------------------------------------------------------
    def get(self, service: str, path: str, params: dict | None = None, department: str = "city_org") -> Any:
        for attempt in range(10):
            try:
                response = self.client.get(self.urls[service] + path, params=params,
                                           headers={"Authorization": f"Bearer {self.tokens(department)}",
                                                    **self._clock_header()})
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            if response.status_code in TRANSIENT:
                time.sleep(0.5)
                continue
            if response.status_code >= 400:
                raise SimulationError(f"GET {path} -> {response.status_code} {response.text[:300]}")
            return response.json()
        raise SimulationError(f"GET {path}: no answer")

    def resolve_entities(self) -> None:
        """The registry's ids of the imported entities, by their codes (one paged search per district)."""
        wanted = {e.uscc: key for key, e in self.truth.entities.items() if key in self.truth.registered}
        districts = sorted({self.truth.entities[k].district_code for k in wanted.values()})
        for district in districts:
            offset = 0
            while True:
                page = self.get("registry", "/entities", {"district": district, "limit": 500, "offset": offset})
                for item in page["items"]:
                    key = wanted.get(item["uscc"])
                    if key is not None:
                        self.ids[key] = item["entity_id"]
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
        missing = [k for k in wanted.values() if k not in self.ids]
        if missing:
            raise SimulationError(f"{len(missing)} imported entities not found in the registry, e.g. {missing[:3]}")

    def await_out_of_baseline(self, entity_key: str) -> None:
        """Wait until formation's board no longer lists a flagged entity (its projection of registry.events caught
        up), so that the acceptance check that follows finds it outside the baseline, as the plan intends."""
        entity_id, district = self.ids[entity_key], self.truth.entities[entity_key].district_code
        deadline = time.monotonic() + self.retry_seconds
        while time.monotonic() < deadline:
            if not self._on_board(entity_id, district):
                return
            time.sleep(0.2)
        raise SimulationError(f"formation still lists {entity_id} in the baseline after it was flagged")

    def _on_board(self, entity_id: str, district: str) -> bool:
        offset = 0
        while True:
            page = self.get("formation", "/tasks", {"district": district, "limit": 5000, "offset": offset})
            if any(t["entity_id"] == entity_id for t in page["tasks"]):
                return True
            offset += len(page["tasks"])
            if not page["tasks"] or offset >= page["total"]:
                return False

    def spot_check_results(self, spot_key: str, step: Step) -> tuple[Command, ...]:
        """The drawn entities of this run: their covering organization passes the spot check (one result per
        organization). The sample depends on the seed, so these commands are decided now, not in the plan."""
        spot_id = self.ids.get(spot_key)
        if spot_id is None:
            return ()
        by_id = {v: k for k, v in self.ids.items() if k.startswith("E")}
        covering = self.truth.covering()
        districts = {}
        for row in self.get("formation", f"/spot-checks/{spot_id}")["sample"]:
            if row["entity_id"] in by_id and by_id[row["entity_id"]] in covering:
                entity_key = by_id[row["entity_id"]]
                districts[covering[entity_key]] = self.truth.entities[entity_key].district_code
        cheating = self.plan.cheating if self.plan else None
        commands = []
        for n, org in enumerate(sorted(districts)):
            result = spot_result(cheating, districts[org], n // len(SPOT_CHECKERS))
            pace = {k: result.pop(k) for k in ("user", "minute") if k in result}
            commands.append(Command(
                "formation", SPOT_CHECKERS[n % len(SPOT_CHECKERS)], "POST", f"/spot-checks/{spot_id}/results",
                f"{spot_key}-{org}-{spot_id}", body={"organization_id": f"@{org}", **result,
                                                     "checked_on": step.on.isoformat()},
                facts=(fact("org_checked", [org], passed=result["passed"]),), **pace))
        commands = tuple(commands)
        if cheating is not None:
            cheating_mismatches(cheating, districts)
        with self.lock:
            self.stats.dynamic += len(commands)
        return commands


    def reports_due(self, day: date) -> tuple[Command, ...]:
        """The reports sent on ``day``, each with the figures of its deadline day (a false one raised)."""
        intents = [i for i in (self.plan.reports if self.plan else [])
                   if i.submit_on == day and i.unit not in self.units_not_reporting]
        commands = tuple(report_command(i, self.truth.as_of.get(i.deadline.isoformat(), {}).get(i.unit, _ZERO))
                         for i in intents)
        with self.lock:
            self.stats.dynamic += len(commands)
        return commands

    def await_published(self, timeout: float = 60.0) -> None:
        """Before a bulletin: every service's outbox is empty, so every event up to its cutoff is in Kafka
        (a bulletin counts what Kafka holds; in a real campaign the night before a bulletin does this)."""
        deadline = time.monotonic() + timeout
        pending: dict[str, float] = {}
        while time.monotonic() < deadline:
            pending = {}
            for service, url in self.urls.items():
                try:
                    text = self.client.get(f"{url}/metrics", timeout=10).text
                except httpx.TransportError:
                    continue  # a service that is not running publishes nothing
                pending[service] = sum(float(v) for v in BACKLOG.findall(text))
            if not any(pending.values()):
                return
            time.sleep(0.2)
        raise SimulationError(f"outboxes not drained before the bulletin: {pending}")


_ZERO = dict.fromkeys(REPORT_FIGURES, 0)  # a unit without baseline entities yet


def campaign_time(day: date, step_of_day: int) -> str:
    """A step's business time: 09:00 city time on its day, one second later per earlier step that day."""
    at = datetime.combine(day, clock_time(9), CITY_TIME) + timedelta(seconds=step_of_day)
    return at.isoformat()


def _projection_behind(response: httpx.Response | None) -> bool:
    """409 projection_behind: the service has not yet seen another service's latest events (retry)."""
    if response is None or response.status_code != 409:
        return False
    try:
        return response.json().get("error") == "projection_behind"
    except (ValueError, AttributeError):
        return False


def _retry_after(response: httpx.Response | None) -> float:
    try:
        return float(response.headers.get("Retry-After", 0)) if response is not None else 0.0
    except ValueError:
        return 0.0


def _rule(response: httpx.Response) -> str | None:
    return _field(response, "rule")


def _error(response: httpx.Response) -> str | None:
    return _field(response, "error")


def _field(response: httpx.Response, name: str) -> str | None:
    try:
        return response.json().get(name)
    except (ValueError, AttributeError):
        return None
