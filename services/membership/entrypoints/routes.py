"""HTTP routes: translate requests to commands and queries, nothing more."""

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from platform_core.auth import division_prefix
from platform_core.clock import now as business_now
from platform_core.contracts.membership import ENTITY_ID, MEMBER_ID, ORGANIZATION_ID
from platform_core.errors import NotFound, PlatformError
from platform_core.event_store import AppendResult
from platform_core.http import Caller, IdempotencyKey, mark_replayed
from platform_core.reference.city_time import local_date

from ..adapters import queries
from ..domain.model import (STANDING_ZH, Accept, ChangeWorkplace, ErasePersonalData, Leave, Registration, Reveal,
                            Transfer, Withdraw)
from ..handlers.commands import Person
from . import schemas
from .deps import Service

MemberId = Annotated[str, Path(pattern=MEMBER_ID, description="member-<uuid>, the pseudonymous id")]

router = APIRouter(tags=["members"])


def _result(result: AppendResult, response: Response) -> schemas.CommandResult:
    mark_replayed(response, result.replayed)
    return schemas.CommandResult(member_id=result.events[0].stream_id, stream_version=result.last_version,
                                 events=[schemas.EventRef(event_id=str(e.event_id), type=e.type) for e in result.events],
                                 release_id=result.events[0].payload.get("release_id"))


@router.post("/members/found", status_code=201, response_model=schemas.CommandResult)
def register_found(body: schemas.MemberFoundIn, caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """排查: register a member found in the survey (hidden or pocket member when organization_id is null)."""
    return _result(svc.commands.add_member(caller, "found", Person(body.name, body.id_number), body.standing,
                                           body.admitted_on, body.entity_id,
                                           Registration(body.organization_id, body.outside_organization), key), response)


@router.post("/members/developed", status_code=201, response_model=schemas.CommandResult)
def register_developed(body: schemas.MemberDevelopedIn, caller: Caller, key: IdempotencyKey, svc: Service,
                       response: Response):
    """发展: register a newly developed (probationary) member."""
    return _result(svc.commands.add_member(caller, "developed", Person(body.name, body.id_number), "probationary",
                                           body.admitted_on, body.entity_id, Registration(body.organization_id), key),
                   response)


@router.post("/members/recruited", status_code=201, response_model=schemas.CommandResult)
def register_recruited(body: schemas.MemberRecruitedIn, caller: Caller, key: IdempotencyKey, svc: Service,
                       response: Response):
    """招聘: register a member hired by an entity at a job fair for members."""
    return _result(svc.commands.add_member(caller, "recruited", Person(body.name, body.id_number), body.standing,
                                           body.admitted_on, body.entity_id,
                                           Registration(body.organization_id, body.outside_organization), key), response)


@router.post("/members/{member_id}/reveal", response_model=schemas.CommandResult)
def reveal(member_id: MemberId, body: schemas.RevealIn, caller: Caller, key: IdempotencyKey, svc: Service,
           response: Response):
    """亮出: a hidden or pocket member registers with an organization (one outside the campaign too)."""
    registration = Registration(body.organization_id, body.outside_organization)
    return _result(svc.commands.reveal(caller, member_id, Reveal(registration, body.entity_id),
                                       idempotency_key=key, expected_version=body.expected_version), response)


@router.post("/members/{member_id}/confirm", response_model=schemas.CommandResult)
def confirm(member_id: MemberId, caller: Caller, key: IdempotencyKey, svc: Service, response: Response,
            body: Annotated[schemas.Versioned | None, Body()] = None):
    """转正: probationary -> formal, one year after admission at the earliest."""
    return _result(svc.commands.confirm(caller, member_id, idempotency_key=key,
                                        expected_version=body.expected_version if body else None), response)


@router.post("/members/{member_id}/transfer", response_model=schemas.CommandResult)
def transfer(member_id: MemberId, body: schemas.TransferIn, caller: Caller, key: IdempotencyKey, svc: Service,
             response: Response):
    """组织关系转接 within the caller's territory: registration and workplace move in one event."""
    command = Transfer(body.from_organization_id, Registration(body.to_organization_id, body.to_outside_organization),
                       body.to_entity_id)
    return _result(svc.commands.transfer(caller, member_id, command, idempotency_key=key,
                                         expected_version=body.expected_version), response)


@router.post("/members/{member_id}/workplace", response_model=schemas.CommandResult)
def change_workplace(member_id: MemberId, body: schemas.WorkplaceIn, caller: Caller, key: IdempotencyKey, svc: Service,
                     response: Response):
    """The member now works at another entity of the caller's territory; the registration stays."""
    return _result(svc.commands.change_workplace(caller, member_id, ChangeWorkplace(body.entity_id),
                                                 idempotency_key=key, expected_version=body.expected_version), response)


@router.post("/members/{member_id}/release", response_model=schemas.CommandResult)
def release(member_id: MemberId, body: schemas.ReleaseIn, caller: Caller, key: IdempotencyKey, svc: Service,
            response: Response):
    """转出 into another territory: the target accepts with its own token; until then nothing moves."""
    return _result(svc.commands.release(
        caller, member_id, body.to_entity_id, Registration(body.to_organization_id, body.to_outside_organization),
        body.from_organization_id, body.valid_days, idempotency_key=key, expected_version=body.expected_version),
        response)


@router.post("/members/{member_id}/accept", response_model=schemas.CommandResult)
def accept(member_id: MemberId, body: schemas.AcceptIn, caller: Caller, key: IdempotencyKey, svc: Service,
           response: Response):
    """转入: the target department accepts a release into its territory; the member moves now (R13)."""
    return _result(svc.commands.accept(caller, member_id, Accept(body.release_id), idempotency_key=key,
                                       expected_version=body.expected_version), response)


@router.post("/members/{member_id}/release/withdraw", response_model=schemas.CommandResult)
def withdraw_release(member_id: MemberId, body: schemas.WithdrawIn, caller: Caller, key: IdempotencyKey, svc: Service,
                     response: Response):
    """The source withdraws its release before the target accepts it."""
    return _result(svc.commands.withdraw(caller, member_id, Withdraw(body.release_id, body.reason),
                                         idempotency_key=key, expected_version=body.expected_version), response)


@router.post("/members/{member_id}/functional", response_model=schemas.CommandResult)
def add_functional(member_id: MemberId, body: schemas.FunctionalIn, caller: Caller, key: IdempotencyKey, svc: Service,
                   response: Response):
    """R5: add membership of a functional organization, keeping the primary registration."""
    return _result(svc.commands.add_functional(caller, member_id, body.organization_id, idempotency_key=key,
                                               expected_version=body.expected_version), response)


@router.delete("/members/{member_id}/functional/{organization_id}", response_model=schemas.CommandResult)
def remove_functional(member_id: MemberId, organization_id: Annotated[str, Path(pattern=ORGANIZATION_ID)],
                      caller: Caller, key: IdempotencyKey, svc: Service, response: Response):
    """R5: end a functional membership."""
    return _result(svc.commands.remove_functional(caller, member_id, organization_id, idempotency_key=key),
                   response)


@router.post("/members/{member_id}/leave", response_model=schemas.CommandResult)
def leave(member_id: MemberId, body: schemas.LeaveIn, caller: Caller, key: IdempotencyKey, svc: Service,
          response: Response):
    """Death, expulsion or leaving (MemberLeft)."""
    return _result(svc.commands.leave(caller, member_id, Leave(body.reason), idempotency_key=key,
                                      expected_version=body.expected_version), response)


@router.post("/members/{member_id}/personal-data/erase", response_model=schemas.CommandResult)
def erase_personal_data(member_id: MemberId, body: schemas.EraseIn, caller: Caller, key: IdempotencyKey, svc: Service,
                        response: Response):
    """Erase the member's name and identity number for good (crypto-shredding, PIPL art. 47); the record stays."""
    return _result(svc.commands.erase_personal_data(caller, member_id, ErasePersonalData(body.reason),
                                                    idempotency_key=key, expected_version=body.expected_version),
                   response)


def _member_out(row: dict) -> schemas.MemberOut:
    release = row["pending_release"]
    return schemas.MemberOut(**{k: row[k] for k in schemas.MemberOut.model_fields if k in row and k != "pending_release"},
                             standing_zh=STANDING_ZH[row["standing"]],
                             pending_release=_release_out(release) if release else None)


def _release_out(row: dict) -> schemas.ReleaseOut:
    return schemas.ReleaseOut(**row, expired=row["expires_on"] < local_date(business_now()))


@router.get("/members/{member_id}", response_model=schemas.MemberOut)
def get_member(member_id: MemberId, caller: Caller, svc: Service):
    """A member, pseudonymous: no name or identity number (those: POST /members/{id}/personal-data)."""
    with svc.engine.connect() as conn:
        rows = queries.member_rows(conn, svc.tables, member_id=member_id)
    if not rows:
        raise NotFound(f"member {member_id} does not exist", field="member_id")
    return _member_out(rows[0])


@router.get("/members", response_model=list[schemas.MemberOut])
def list_members(caller: Caller, svc: Service,
                 entity_id: Annotated[str | None, Query(pattern=ENTITY_ID)] = None,
                 organization_id: Annotated[str | None, Query(pattern=ORGANIZATION_ID)] = None):
    """Active members of an entity, or of an organization (primary or functional)."""
    if (entity_id is None) == (organization_id is None):
        raise PlatformError("give exactly one of entity_id and organization_id", field="entity_id")
    with svc.engine.connect() as conn:
        rows = queries.member_rows(conn, svc.tables, entity_id=entity_id, organization_id=organization_id)
    return [_member_out(row) for row in rows]


@router.post("/members/{member_id}/personal-data", response_model=schemas.PersonalDataOut)
def read_personal_data(member_id: MemberId, body: schemas.PersonalDataIn, caller: Caller, svc: Service):
    """Name and identity number, for an organization department covering where the member works now; every read
    is recorded (PersonalDataAccessed: who, when, why) and reaches the audit log."""
    personal, result = svc.personal_data.read(caller, member_id, body.reason)
    return schemas.PersonalDataOut(member_id=member_id, **personal, access_id=result.events[0].stream_id)


@router.get("/releases/incoming", response_model=list[schemas.ReleaseOut])
def incoming_releases(caller: Caller, svc: Service):
    """Pending releases into the caller's territory, soonest to expire first: what the caller may accept."""
    caller.require("member.manage", target="releases")
    prefix = division_prefix(caller.territory) if caller.territory else None
    with svc.engine.connect() as conn:
        return [_release_out(row) for row in queries.release_rows(conn, svc.tables, to_prefix=prefix)]


counts = APIRouter(prefix="/counts", tags=["counts"])
District = Annotated[str | None, Query(pattern=r"^(\d{6}|unknown)$")]


@counts.get("/entities")
def entity_counts(caller: Caller, svc: Service, entity_id: Annotated[str | None, Query(pattern=ENTITY_ID)] = None,
                  district_code: District = None) -> list[dict]:
    """Formal and probationary members per entity (each person once)."""
    with svc.engine.connect() as conn:
        return queries.counts_by_entity(conn, svc.tables, entity_id, district_code)


@counts.get("/organizations")
def organization_counts(caller: Caller, svc: Service,
                        organization_id: Annotated[str | None, Query(pattern=ORGANIZATION_ID)] = None) -> list[dict]:
    """Members per organization by primary registration; functional members beside, not added (R5)."""
    with svc.engine.connect() as conn:
        return queries.counts_by_organization(conn, svc.tables, organization_id)


@counts.get("/districts")
def district_counts(caller: Caller, svc: Service) -> list[dict]:
    """Formal and probationary members per district of the entity where they work."""
    with svc.engine.connect() as conn:
        return queries.counts_by_district(conn, svc.tables)


@counts.get("/growth")
def growth(caller: Caller, svc: Service, district_code: District = None,
           period: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])-H[12]$")] = None) -> list[dict]:
    """四个一批: members found, revealed, developed, recruited by district and half-month (YYYY-MM-H1/H2)."""
    with svc.engine.connect() as conn:
        return queries.growth_counts(conn, svc.tables, district_code, period)
