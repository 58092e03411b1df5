"""Reporting's HTTP API: rates, entity status and history, reports, bulletins, accountability."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from platform_core.api_types import IsoDate, IsoDateTime
from platform_core.auth import Principal
from platform_core.contracts.reporting import AccountabilityKind
from platform_core.errors import NotFound, SchemaViolation
from platform_core.http import authenticate, idempotency_key
from platform_core.read_replica import READ_SOURCE_HEADER, Reader, reader
from platform_core.service import ServiceContext
from reporting.adapters import queries
from reporting.audit import queries as audit_queries
from reporting.audit.store import AuditLogStore
from reporting.bootstrap import checkpoint_signer
from reporting.domain.reports import reporting_units
from reporting.handlers import accountability, bulletins, reports
from reporting.handlers.bulletin_figures import district_names
from reporting.handlers.rates import rates_at
from reporting.handlers.segments import default_scope, segments_at

router = APIRouter(tags=["reporting"])
Caller = Annotated[Principal, Depends(authenticate)]
Key = Annotated[str | None, Depends(idempotency_key)]
# The query endpoints read the live projections through this: from the standby while it is within
# CAMPAIGN_READ_MAX_LAG_S, else from the primary; X-Read-Source says which (platform_core.read_replica).
Reading = Annotated[Reader, Depends(reader)]


def _context(request: Request) -> ServiceContext:
    return request.app.state.context


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadline: IsoDate = Field(description="the report deadline: the 10th or the 25th (R11)")
    figures: dict[str, int] = Field(min_length=1, description="counts over the unit's baseline as of the deadline")
    unit: str | None = Field(default=None, description="district-<code>, city-organs or civil-affairs")
    note: str | None = Field(default=None, max_length=2000)


class ResponsibilityReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    summary: str = Field(min_length=1, max_length=20000, description="责任落实情况")
    figures: dict[str, int] = Field(default_factory=dict)
    department: str | None = Field(default=None, description="only the city organization department names one")
    note: str | None = Field(default=None, max_length=2000)


class BulletinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cutoff_date: IsoDate
    narrative: str | None = Field(default=None, description="the 通报's text as edited from GET /bulletin-drafts/"
                                  "{date}; omitted: the drafted text. Checked: not blank, at most 6000 characters, "
                                  "no control characters but newlines (422 naming the rule)")


class AccountabilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str
    entry_kind: AccountabilityKind
    subject: str = Field(min_length=1, max_length=200)
    occurred_on: IsoDate
    finding: str = Field(min_length=1, max_length=2000)
    event_ids: list[str] = Field(default_factory=list, max_length=1000)
    responsible: str | None = Field(default=None, max_length=200)
    signal_ids: list[str] = Field(default_factory=list, max_length=100,
                                  description="the detectors' signals the entry cites (GET /signals)")


@router.get("/rates")
def get_rates(request: Request, principal: Caller, reads: Reading,
              level: Annotated[str, Query(description="city, district, street, kind or department")] = "city",
              as_of: Annotated[IsoDateTime | None, Query(description="figures as of this past time (replay)")] = None,
              district: str | None = None,
              by: Annotated[str | None, Query(description="segments: reason, attribute, industry or street")] = None,
              scope: Annotated[str | None, Query(description="with by: city, a district or a street code;"
                                                              " by default the caller's own territory")] = None) -> dict:
    """R7 rates with numerator and denominator at a level, now or as of a past time. A past moment not
    built yet, asked while another as-of replay runs, is 503 with Retry-After (one replay at a time).
    With ``by``, the scope's rates broken down into segments, with the scope's total (docs/reporting.md)."""
    if by is None:
        if scope is not None:
            raise SchemaViolation("scope goes with by; without by use level and district", field="scope")
        return rates_at(_context(request), level, as_of, district, reads.connect)
    if level != "city":
        raise SchemaViolation("by breaks down one scope: leave level at city and name the scope", field="level")
    if district is not None and scope is not None and district != scope:
        raise SchemaViolation("name the scope once: district or scope", field="district")
    return segments_at(_context(request), by, scope or district or default_scope(principal), as_of, reads.connect)


@router.get("/entities/{entity_id}/status")
def entity_status(request: Request, principal: Caller, reads: Reading, entity_id: str) -> dict:
    """An entity's derived status: baseline, members, organizations and modes, coverage, R2/R2b/R3, task."""
    context = _context(request)
    with reads.connect() as conn:
        found = queries.entity_status(conn, context.schema, entity_id)
    if found is None:
        raise NotFound(f"no entity {entity_id} in the projections", field="entity_id")
    return dict(found)


@router.get("/entities/{entity_id}/history")
def entity_history(request: Request, principal: Caller, reads: Reading, entity_id: str) -> dict:
    """Every event naming the entity, from the audit log (read.all or audit.read)."""
    if not principal.may("audit.read"):
        principal.require("read.all", target=entity_id)
    context = _context(request)
    with reads.connect() as conn:
        history = audit_queries.entity_history(conn, AuditLogStore(context.schema), entity_id)
    return {"entity_id": entity_id,
            "events": [{"leaf_index": p.event.leaf_index, "event": p.event.canonical.decode("utf-8")}
                       for p in history.events]}


@router.post("/reports", status_code=201)
def submit_report(request: Request, principal: Caller, key: Key, body: ReportCreate, response: Response) -> dict:
    """A semi-monthly report (R11): district organization departments, city organs' committee, civil affairs."""
    done = reports.submit(_context(request), principal, body.deadline, body.figures, body.unit, body.note, key)
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return {"report_id": done.report_id, "unit": done.reporter, "deadline": done.due.isoformat(),
            "status": done.status, "event_id": done.event_id}


@router.get("/reports")
def list_reports(request: Request, principal: Caller, deadline: IsoDate) -> list[dict]:
    """Every reporting unit's report for a deadline: on time, late, missing or pending (evaluated now)."""
    return reports.statuses(_context(request), deadline, reporting_units(list(district_names())))


@router.post("/responsibility-reports", status_code=201)
def submit_responsibility_report(request: Request, principal: Caller, key: Key, body: ResponsibilityReportCreate,
                                 response: Response) -> dict:
    """A related city department's responsibility report, due at the end of November (R11)."""
    done = reports.submit_responsibility(_context(request), principal, body.summary, body.figures, body.department,
                                         body.note, key)
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return {"report_id": done.report_id, "department": done.reporter, "due": done.due.isoformat(),
            "status": done.status, "event_id": done.event_id}


@router.get("/responsibility-reports")
def list_responsibility_reports(request: Request, principal: Caller) -> list[dict]:
    """Every related city department's responsibility report: on time, late, missing or pending."""
    return reports.responsibility_statuses(_context(request))


@router.post("/bulletins", status_code=201)
def publish_bulletin(request: Request, principal: Caller, key: Key, body: BulletinCreate,
                     response: Response) -> dict:
    """Publish the city's bulletin for a past cutoff date (bulletin.publish, city organization department)."""
    context = _context(request)
    done = bulletins.publish(context, principal, body.cutoff_date, signer=partial(checkpoint_signer, context),
                             idempotency_key=key, narrative=body.narrative)
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return {"bulletin_id": done.bulletin_id, "cutoff_date": done.cutoff_date.isoformat(),
            "figures_sha256": done.figures_sha256, "checkpoint_tree_size": done.checkpoint_tree_size,
            "event_id": done.event_id, "document_number": done.document_number,
            "files": {k: f"/bulletins/{done.cutoff_date.isoformat()}/{k}" for k in bulletins.FILE_COLUMNS}}


@router.get("/bulletin-drafts/{cutoff_date}")
def bulletin_draft(request: Request, principal: Caller, cutoff_date: IsoDate, signals: bool = False) -> dict:
    """The narrative drafted from the figures a bulletin for this date would publish, with its issuer and
    recipients (bulletin.publish, city organization department): edit it and send it as ``narrative``.
    ``signals=true``: 存在问题 also names the detectors' signals observed by the cutoff, per district (a signal is
    never a verdict: unmarked ones are said to await verification, dismissed ones are left out)."""
    return bulletins.draft(_context(request), principal, cutoff_date, with_signals=signals)


@router.get("/bulletins/{cutoff_date}")
def bulletin(request: Request, principal: Caller, reads: Reading, cutoff_date: IsoDate) -> dict:
    """A published bulletin's record (hash, checkpoint, event) and its files' links."""
    found = bulletins.published(_context(request), cutoff_date, reads.connect)
    if found is None:
        raise NotFound(f"no bulletin published for {cutoff_date}", field="cutoff_date")
    return {**{k: (str(v) if k == "event_id" else v) for k, v in found.items()},
            "files": {k: f"/bulletins/{cutoff_date.isoformat()}/{k}" for k in bulletins.FILE_COLUMNS}}


@router.get("/bulletins/{cutoff_date}/{kind}")
def bulletin_file(request: Request, principal: Caller, reads: Reading, cutoff_date: IsoDate, kind: str) -> Response:
    """A bulletin's file: html, pdf, xlsx, or json (the data file whose SHA-256 BulletinPublished records)."""
    body, media = bulletins.bulletin_file(_context(request), cutoff_date, kind, reads.connect)
    name = f"bulletin-{cutoff_date.isoformat()}.{'json' if kind == 'json' else kind}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"',
                                                     READ_SOURCE_HEADER: reads.response.headers[READ_SOURCE_HEADER]})


@router.get("/accountability/{unit}")
def accountability_trail(request: Request, principal: Caller, unit: str) -> list[dict]:
    """A unit's accountability trail: missed deadlines, late/missing reports, discrepancies, failed checks."""
    return accountability.trail(_context(request), unit)


@router.post("/accountability", status_code=201)
def record_accountability(request: Request, principal: Caller, key: Key, body: AccountabilityCreate,
                          response: Response) -> dict:
    """The city confirms an accountability entry (accountability.record)."""
    done = accountability.record(_context(request), principal, body.unit, body.entry_kind, body.subject,
                                 body.occurred_on, body.finding, body.event_ids, body.responsible, key,
                                 body.signal_ids)
    if done.get("replayed"):
        response.headers["Idempotent-Replayed"] = "true"
    return done
