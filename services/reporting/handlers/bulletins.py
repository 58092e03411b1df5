"""Publish the city's bulletin (通报) for a cutoff date: as-of figures, files, checkpoint, event.

Figures come from projections replayed up to the end of the cutoff day (city time) and of
the previous report deadline, so a bulletin published late shows the figures as of its
date, and a regeneration from a full replay gives the same data file.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection

from platform_core import clock
from platform_core.auth import Principal
from platform_core.contracts import every_event_type
from platform_core.errors import AlreadyExists, Busy, NotFound, RuleViolation
from platform_core.event_store import AppendResult, request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from platform_core.envelope import utc_timestamp
from platform_core.read_replica import ReadConnection, primary_connection
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.adapters import as_of_cache, bulletin_render, bulletin_store, signals_store
from reporting.adapters.figures_sql import SqlFigures
from reporting.adapters.replay import as_of_schema, replay_into
from reporting.audit.checkpoints import CheckpointSigner
from reporting.domain import bulletin_narrative
from reporting.domain.bulletin import BulletinData
from reporting.domain.reports import city_date, end_of_day
from reporting.domain.signals.bulletin_lines import problem_lines
from reporting.domain.window import Window
from reporting.handlers.bulletin_figures import assemble, previous_cutoff, standalone_start

log = logging.getLogger(__name__)
# An as-of projection is reused when it was built this long after its cutoff (the relay's lag is seconds).
SETTLED_AFTER = timedelta(minutes=10)
REPLAY_RETRY_AFTER_S = 15


@dataclass(frozen=True)
class Published:
    bulletin_id: str
    cutoff_date: date
    figures_sha256: str
    checkpoint_tree_size: int
    event_id: str
    replayed: bool = False
    document_number: str | None = None  # the 通报's 文号


def as_of(context: ServiceContext, until: datetime, topics: tuple[str, ...] | None = None,
          rebuild: bool = False, wait_for_replay: bool = True) -> str:
    """A projection schema as of ``until`` (events recorded at or before it), built by replay or reused.

    A replay reads every topic from the start, so the service runs one at a time (``as_of_cache.REPLAY_SLOT``). A
    bulletin waits for its turn; an ad-hoc question (``wait_for_replay=False``: ``GET /rates?as_of=``)
    whose moment is not built yet gets ``Busy`` instead, so distinct moments asked at once cannot take
    every core."""
    schema = as_of_schema(context.schema, until)
    if not rebuild and as_of_cache.settled(context.engine, schema, until, SETTLED_AFTER):
        as_of_cache.note_use(context.engine, context.schema, schema, until)
        return schema
    with as_of_cache.building(context.engine, schema) as take_replay_slot:
        # A request for the same time may have built it while this one waited for the lock.
        if not rebuild and as_of_cache.settled(context.engine, schema, until, SETTLED_AFTER):
            as_of_cache.note_use(context.engine, context.schema, schema, until)
            return schema
        if not take_replay_slot(wait_for_replay):
            raise Busy("另一个历史时点的重放正在进行；请稍后重试，或选用已生成的时点（如通报截止时点）",
                       field="as_of", retry_after=REPLAY_RETRY_AFTER_S)
        kwargs = {"topics": topics} if topics else {}
        # Noted as used before the build, so a prune by a concurrent build cannot take this one (the newest).
        as_of_cache.note_use(context.engine, context.schema, schema, until)
        outcome = replay_into(context.engine, context.settings.kafka_bootstrap, schema,
                              every_event_type(), window=Window(until=until), **kwargs)
        # business time, so a simulated campaign's as-of figures settle by its own clock
        as_of_cache.note_replayed(context.engine, schema, until, clock.now())
    dropped = as_of_cache.prune(context.engine, context.schema, protect=[schema])
    log.info("as-of projection built", extra={"schema": schema, "records": outcome.records,
                                               "seconds": round(outcome.seconds, 2), "dropped": dropped})
    return schema


def figures(context: ServiceContext, cutoff: date, topics: tuple[str, ...] | None = None,
            rebuild: bool = False) -> BulletinData:
    """The figures as of the cutoff, the previous deadline and the campaign's starting point (the survey)."""
    previous = previous_cutoff(cutoff)
    start = standalone_start(cutoff)
    schema = as_of(context, end_of_day(cutoff), topics, rebuild)
    previous_schema = as_of(context, end_of_day(previous), topics, rebuild) if previous else None
    start_schema = as_of(context, end_of_day(start), topics, rebuild) if start else None
    with context.engine.connect() as conn:
        return assemble(SqlFigures(conn, schema), SqlFigures(conn, previous_schema) if previous_schema else None,
                        cutoff, previous, SqlFigures(conn, start_schema) if start_schema else None, start)


def regenerate(context: ServiceContext, cutoff: date, published_figures: bytes,
               topics: tuple[str, ...] | None = None) -> bytes:
    """A published data file rebuilt from a full replay, in the format it was published in and with the
    document it carries (written, not derived): equal bytes when the figures are reproduced."""
    published_data = json.loads(published_figures)
    data = figures(context, cutoff, topics, rebuild=True)
    return replace(data, figures_format=published_data.get("figures_format", 1),
                   document=published_data.get("document")).data_bytes()


def check_publishable(principal: Principal, cutoff: date, now: datetime) -> None:
    principal.require("bulletin.publish", target=f"bulletin-{cutoff}")
    check_cutoff(cutoff)
    if end_of_day(cutoff) >= now:
        raise RuleViolation(f"cutoff_date {cutoff} has not ended yet (city time, UTC+8): a bulletin shows the "
                            "figures as of the end of a past day", field="cutoff_date", rule="R11")


def draft(context: ServiceContext, principal: Principal, cutoff: date, now: datetime | None = None,
          topics: tuple[str, ...] | None = None, with_signals: bool = False) -> dict:
    """The narrative drafted from the figures the bulletin would publish (for the city department to edit);
    ``with_signals``: the city chooses to name the detectors' signals observed by the cutoff in 存在问题
    (counts per district and kind, dismissed ones left out; docs/detectors.md)."""
    check_publishable(principal, cutoff, now or clock.now())
    data = figures(context, cutoff, topics).as_dict()
    lines: list[str] = []
    if with_signals:
        with context.engine.connect() as conn:
            cited = signals_store.signals_until(conn, context.schema, cutoff)
            marks = signals_store.marks_of(conn, context.schema) if cited else {}
        districts = {row["unit"].removeprefix("district-"): row["name"] for row in data["districts"]}
        lines = problem_lines(cited, districts, marks)
    settings = context.settings
    return {"cutoff_date": cutoff.isoformat(), "issuer": settings.reporting_bulletin_issuer,
            "recipients": recipients(settings.reporting_bulletin_recipients),
            "narrative": bulletin_narrative.draft(data, lines), "signal_lines": lines,
            "narrative_max_chars": bulletin_narrative.NARRATIVE_MAX_CHARS}


def recipients(configured: str) -> list[str]:
    """The 主送 line's recipients from the setting (separated by "，" or ",")."""
    return [name.strip() for name in configured.replace(",", "，").split("，") if name.strip()]


def publish(context: ServiceContext, principal: Principal, cutoff: date, *, signer: Callable[[], CheckpointSigner],
            idempotency_key: str | None = None, now: datetime | None = None,
            topics: tuple[str, ...] | None = None, narrative: str | None = None) -> Published:
    """``signer`` builds the log's checkpoint signer (bootstrap's ``checkpoint_signer``) once the checks have
    passed and the figures are assembled, so a refused request never needs the signer's configuration.
    ``narrative``: the city department's (edited) text; None publishes the drafted one. Either way it goes
    into the data file, so the figures' SHA-256 in BulletinPublished covers it."""
    now = now or clock.now()
    check_publishable(principal, cutoff, now)
    if narrative is not None:
        narrative = bulletin_narrative.check_text(narrative)
    earlier = published(context, cutoff)
    if earlier is not None:
        # A retry (any key) gets the bulletin back, unless it brings another text than the one published.
        if idempotency_key is not None and (narrative is None
                                            or published_narrative(context, cutoff) in (None, narrative)):
            return Published(earlier["bulletin_id"], cutoff, earlier["figures_sha256"],
                             earlier["checkpoint_tree_size"], str(earlier["event_id"]), replayed=True,
                             document_number=earlier["document_number"])
        raise AlreadyExists(f"the bulletin for {cutoff} was published already ({earlier['bulletin_id']})",
                            field="cutoff_date")
    data = figures(context, cutoff, topics)
    drafted = bulletin_narrative.draft(data.as_dict())
    published_on = city_date(now)
    settings = context.settings
    bulletin_id = f"bulletin-{uuid.uuid4()}"
    checkpoints = signer()
    stream = f"bulletin-{cutoff.isoformat()}"
    signed: dict = {}

    def decide(conn: Connection) -> Decision:
        number_in_year = bulletin_store.next_number(conn, context.schema, published_on.year)
        document = {"issuer": settings.reporting_bulletin_issuer,
                    "number": f"{settings.reporting_bulletin_number_prefix}〔{published_on.year}〕{number_in_year}号",
                    "recipients": recipients(settings.reporting_bulletin_recipients),
                    "published_on": published_on.isoformat(), "narrative": narrative if narrative is not None else drafted,
                    "narrative_edited": narrative is not None and narrative != drafted}
        data_bytes = replace(data, document=document).data_bytes()
        digest = hashlib.sha256(data_bytes).hexdigest()
        # The checkpoint and its CheckpointSigned event join this transaction: the bulletin and the checkpoint
        # it carries commit together. Should it fail after the signer signed, the note is not lost: the signer
        # keeps it, and the next signing (or the schedule's next tick) stores it first.
        note = checkpoints.sign_in(conn, "bulletin", principal.actor())[0].note
        tree_size, root = note_position(note)
        files = bulletin_render.render_files(json.loads(data_bytes), note, digest)
        signed.update(note=note, files=files, data_bytes=data_bytes, digest=digest,
                      number=(published_on.year, number_in_year, document["number"]))
        payload = {"bulletin_id": bulletin_id, "cutoff_date": cutoff.isoformat(),
                   "cutoff_at": utc_timestamp(end_of_day(cutoff)),
                   "previous_cutoff_date": data.previous_cutoff_date.isoformat() if data.previous_cutoff_date else None,
                   "figures_sha256": digest,
                   "files_sha256": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
                   "checkpoint_tree_size": tree_size, "checkpoint_root_hash": root,
                   "events_counted": SqlFigures(conn, as_of_schema(context.schema, end_of_day(cutoff))).events_applied(),
                   "document_number": document["number"]}
        return Decision([NewEvent("BulletinPublished", payload)], stream_id=stream)

    def project(conn: Connection, result: AppendResult) -> None:
        event = result.events[0]
        bulletin_store.insert(conn, context.schema, bulletin_id, cutoff, signed["data_bytes"], signed["digest"],
                              signed["files"], signed["note"], event.payload["checkpoint_tree_size"],
                              str(event.event_id), signed["number"])

    fingerprinted = {"cutoff_date": cutoff.isoformat()}
    if narrative is not None:  # the same key with another text is another request (409)
        fingerprinted["narrative"] = narrative
    command = Command(principal.actor(), request_fingerprint(stream, fingerprinted),
                      idempotency_key, conflict=f"the bulletin for {cutoff} was published concurrently",
                      conflict_field="cutoff_date")
    event = context.store.execute(command, decide, project).result.events[0]
    return Published(event.payload["bulletin_id"], cutoff, event.payload["figures_sha256"],
                     event.payload["checkpoint_tree_size"], str(event.event_id),
                     replayed=event.payload["bulletin_id"] != bulletin_id,  # a twin with the same key won
                     document_number=event.payload.get("document_number"))


def published_narrative(context: ServiceContext, cutoff: date) -> str | None:
    """The narrative of the bulletin published for ``cutoff`` (None before the 通报 layout, or none published)."""
    with context.engine.connect() as conn:
        found = bulletin_store.file_bytes(conn, context.schema, cutoff, "figures_json")
    return None if found is None else (json.loads(found).get("document") or {}).get("narrative")


def check_cutoff(cutoff: date) -> None:
    """R11: a bulletin's cutoff is a day of the campaign's half-month calendar; any other date (a typo such as
    year 98, a day outside the campaign) is refused before anything is replayed, signed or logged."""
    calendar = load_calendar()
    allowed = calendar.bulletin_cutoffs()
    if cutoff not in allowed:
        days = "、".join(str(day) for day in calendar.report_days)
        raise RuleViolation(f"cutoff_date {cutoff} 不是通报日：通报按半月日历（每月{days}日，{allowed[0]}至"
                            f"{allowed[-1]}）发布", field="cutoff_date", rule="R11")


def note_position(note: str) -> tuple[int, str]:
    """Tree size and base64 root hash of a signed checkpoint (lines 2 and 3 of the note)."""
    lines = note.splitlines()
    return int(lines[1]), lines[2]


def published(context: ServiceContext, cutoff: date, read: ReadConnection | None = None) -> dict | None:
    """``read``: a query endpoint's reader (the standby may answer); by default the primary (publishing asks too)."""
    with (read or partial(primary_connection, context.engine))() as conn:
        return bulletin_store.published(conn, context.schema, cutoff)


FILE_COLUMNS = {"html": ("html", "text/html; charset=utf-8"), "pdf": ("pdf", "application/pdf"),
                "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                "json": ("figures_json", "application/json")}


def bulletin_file(context: ServiceContext, cutoff: date, kind: str,
                  read: ReadConnection | None = None) -> tuple[bytes, str]:
    if kind not in FILE_COLUMNS:
        raise NotFound(f"no bulletin format {kind!r}; one of {', '.join(FILE_COLUMNS)}", field="format")
    column, media = FILE_COLUMNS[kind]
    with (read or partial(primary_connection, context.engine))() as conn:
        found = bulletin_store.file_bytes(conn, context.schema, cutoff, column)
    if found is None:
        raise NotFound(f"no bulletin published for {cutoff}", field="cutoff_date")
    return found, media
