"""A steady command load through the public APIs, recording every command's outcome.

Every command carries its own Idempotency-Key and a natural key of its own (an entity's USCC, a
member's entity, a mass organization's entity, a report's unit and deadline), so afterwards each can
be looked up in its service's event store: an accepted one must be there, a refused one must not
(or, if the client retried with the same key, exactly once).
"""

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import httpx

from platform_core.auth import Principal
from platform_core.tokens import TokenIssuer
from platform_core.reference import load_calendar

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


def make_uscc(index: int, tag: str) -> str:
    body = "91" + tag[:6].upper().translate(str.maketrans("IOSVZ", "12345")) + f"{index:09d}"
    body = "".join(c if c in ALPHABET else "0" for c in body)
    values = {c: v for v, c in enumerate(ALPHABET)}
    check = ALPHABET[(31 - sum(values[c] * w for c, w in zip(body, USCC_WEIGHTS)) % 31) % 31]
    return body + check


def make_id_number(index: int, region: int) -> str:
    """GB 11643: region, a birth date, a sequence, the MOD 11-2 check (unique per run by region/index)."""
    day, sequence = divmod(index, 999)
    first17 = f"42{region:04d}19{70 + day % 25:02d}{1 + day // 25 % 12:02d}{1 + day // 300 % 28:02d}{sequence:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def registration(n: int, tag: str, streets: list[str], label: str = "故障") -> dict:
    """The ``n``-th enterprise's registration of a run tagged ``tag``: a USCC and a name of its own."""
    uscc = make_uscc(n, tag)
    return {"kind": "non_public_enterprise", "subtype": "private", "uscc": uscc, "name": f"{label}测试{tag[:6]}第{n}号有限公司",
            "street_code": streets[n % len(streets)], "industry": "internet", "employees": 50,
            "formal_members": 1, "probationary_members": 0, "operation_status": "operating",
            "party_organization": "none", "person_in_charge": "张三", "legal_representative": "李四",
            "address": f"{label}路{n}号", "no_organization_reason": "正在筹建"}


@dataclass
class Outcome:
    """One command: its service, key, natural key, answer."""

    service: str
    key: str
    natural: str  # uscc (registry), entity id (membership, formation), <unit>@<deadline> (reporting)
    body: dict
    path: str
    token: str
    sent_at: float
    status: int | None = None  # None: no HTTP answer (connection refused, reset, timeout)
    answer: dict | None = None
    error: str = ""
    retried: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Load:
    """Threads sending registry, membership, formation and reporting commands at a fixed total rate."""

    urls: dict[str, str]
    city: dict
    issuer: TokenIssuer
    rate: float = 24.0
    threads: int = 8
    timeout: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self.tag = uuid.uuid4().hex
        self.region = int(self.tag[:4], 16) % 10_000
        self.streets = [s["code"] for d in self.city["districts"] for s in d["streets"]][:40]
        self.tokens = {
            "registry": self.issuer.issue(Principal("city_org", "city_org", "fault-load")),
            "membership": self.issuer.issue(Principal("city_org", "city_org", "fault-load")),
            "formation": self.issuer.issue(Principal("mass_org", "mass_org", "fault-load")),
            "reporting": self.issuer.issue(Principal("city_org", "city_org", "fault-load")),
        }
        # Semi-monthly reports (R11) of this run's own city (its district codes are fresh): each unit
        # reports once per deadline, so every pair is one command and the load stops sending reports
        # when they run out.
        self._reports: deque[tuple[str, str]] = deque(
            (f"district-{d['code']}", deadline.isoformat())
            for deadline in load_calendar().report_deadlines() for d in self.city["districts"])
        self._lock = threading.Lock()
        self._counter = 0
        self._for_members: deque[str] = deque()  # accepted entities not yet given a member
        self._for_mass: deque[tuple[str, float]] = deque()  # accepted entities (and when) not yet given a trade union
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    # -- commands ---------------------------------------------------------------------------------
    def _next(self) -> Outcome | None:
        with self._lock:
            self._counter += 1
            n = self._counter
            choice = n % 5
            if n % 20 == 4 and self._reports:  # 1 in 20: the pairs last the whole load
                unit, deadline = self._reports.popleft()
                figures = {"baseline": n % 50, "organization_covered": n % 30}
                return Outcome("reporting", f"fault-{self.tag}-p{n}", f"{unit}@{deadline}",
                               {"deadline": deadline, "unit": unit, "figures": figures},
                               "/reports", self.tokens["reporting"], time.monotonic())
            if choice in (1, 2) and self._for_members:
                entity = self._for_members.popleft()
                return Outcome("membership", f"fault-{self.tag}-m{n}", entity, {
                    "name": f"党员{n}", "id_number": make_id_number(n, self.region), "standing": "formal",
                    "admitted_on": "2008-07-01", "entity_id": entity}, "/members/found", self.tokens["membership"],
                    time.monotonic())
            # formation knows an entity once its consumer projected EntityRegistered: give it a few seconds
            if choice == 3 and self._for_mass and self._for_mass[0][1] < time.monotonic() - 3:
                entity, _ = self._for_mass.popleft()
                return Outcome("formation", f"fault-{self.tag}-f{n}", entity, {
                    "entity_id": entity, "kind": "trade_union", "name": f"工会{n}", "formed_on": "2016-09-01"},
                    "/work-coverage/mass-organizations", self.tokens["formation"], time.monotonic())
        body = registration(n, self.tag, self.streets)
        return Outcome("registry", f"fault-{self.tag}-r{n}", body["uscc"], body, "/entities", self.tokens["registry"],
                       time.monotonic())

    def send(self, client: httpx.Client, outcome: Outcome) -> Outcome:
        try:
            response = client.post(self.urls[outcome.service] + outcome.path, json=outcome.body, timeout=self.timeout,
                                   headers={"Authorization": f"Bearer {outcome.token}", "Idempotency-Key": outcome.key})
            outcome.status = response.status_code
            try:
                outcome.answer = response.json()
            except ValueError:
                outcome.error = response.text[:200]
        except httpx.HTTPError as exc:
            outcome.status, outcome.error = None, f"{type(exc).__name__}: {exc}"[:200]
        return outcome

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
            if outcome.accepted and outcome.service == "registry":
                entity = outcome.answer["entity_id"]
                self._for_members.append(entity)
                self._for_mass.append((entity, time.monotonic()))

    def _work(self, index: int) -> None:
        interval = self.threads / self.rate
        next_at = time.monotonic() + index * interval / self.threads
        with httpx.Client() as client:
            while not self._stop.is_set():
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                next_at = max(next_at + interval, time.monotonic() - interval)
                self._record(self.send(client, self._next()))

    # -- control ----------------------------------------------------------------------------------
    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._work, args=(index,), name=f"load-{index}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(self.timeout + 5)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def retry_refused(self, attempts: int = 20, threads: int = 8) -> list[Outcome]:
        """After recovery: resend each command that got no success, with the SAME Idempotency-Key,
        as a careful client would (a registration whose answer was lost may have committed).
        In parallel (the commands are independent: only accepted registrations got members)."""
        from concurrent.futures import ThreadPoolExecutor

        pending = [o for o in self.snapshot() if not o.accepted and self._retryable(o)]
        local = threading.local()

        def retry(outcome: Outcome) -> Outcome:
            if not hasattr(local, "client"):
                local.client = httpx.Client()
            for _ in range(attempts):
                self.send(local.client, outcome)
                if outcome.accepted or (outcome.status is not None and outcome.status < 500
                                        and not self._transient(outcome)):
                    break
                time.sleep(0.5)
            outcome.retried = True
            return outcome

        with ThreadPoolExecutor(threads, thread_name_prefix="retry") as pool:
            return list(pool.map(retry, pending))

    @staticmethod
    def _transient(outcome: Outcome) -> bool:
        """422 'not projected yet' answers (rule registry/territory) are worth retrying."""
        return outcome.status == 422 and (outcome.answer or {}).get("rule") in ("registry", "territory")

    @staticmethod
    def _retryable(outcome: Outcome) -> bool:
        return outcome.status is None or outcome.status >= 500 or Load._transient(outcome)
