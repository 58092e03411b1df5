"""The registry's commands on the Kafka intake (docs/intake.md): each the same handler call as its HTTP route,
its data the route's request body with the path parameters as fields, its answer shaped by the route's
response model."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from platform_core.auth import Principal
from platform_core.intake.commands import IntakeCommand
from registry.entrypoints.persons import public_entity
from registry.entrypoints.schemas import (EntityCreate, EntityPublic, FlagClear, FlagCreate, LedgerPublic,
                                          LedgerReturn, PersonsErase, ProfileUpdate)
from registry.handlers import entities, ledgers
from registry.handlers.context import RegistryContext


class EntityTarget(BaseModel):
    entity_id: str


class ProfileUpdateCommand(ProfileUpdate, EntityTarget):
    pass


class FlagCommand(FlagCreate, EntityTarget):
    pass


class FlagClearCommand(FlagClear, EntityTarget):
    flag: Literal["shell", "zombie", "shadow"]


class PersonsEraseCommand(PersonsErase, EntityTarget):
    pass


class LedgerUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str


class LedgerReturnCommand(LedgerReturn, LedgerUnit):
    pass


def intake_commands(registry: RegistryContext) -> list[IntakeCommand]:
    def entity(found: tuple[dict, bool], principal: Principal) -> dict:
        return public_entity(found[0], principal, registry)

    def register(principal: Principal, data: EntityCreate, key: str) -> dict:
        return entity(entities.register(registry, principal, data.model_dump(), key), principal)

    def update(principal: Principal, data: ProfileUpdateCommand, key: str) -> dict:
        changes = data.model_dump(exclude_unset=True)
        entity_id, expected = changes.pop("entity_id"), changes.pop("expected_version", None)
        return entity(entities.update_profile(registry, principal, entity_id, changes, expected, key), principal)

    def flag(principal: Principal, data: FlagCommand, key: str) -> dict:
        return entity(entities.flag(registry, principal, data.entity_id, data.flag, data.reason, data.duplicate_of,
                                    key), principal)

    def clear(principal: Principal, data: FlagClearCommand, key: str) -> dict:
        return entity(entities.clear_flag(registry, principal, data.entity_id, data.flag, data.reason, key), principal)

    def erase(principal: Principal, data: PersonsEraseCommand, key: str) -> dict:
        return entity(entities.erase_persons(registry, principal, data.entity_id, data.reason, data.expected_version,
                                             key), principal)

    def submit(principal: Principal, data: LedgerUnit, key: str) -> dict:
        return ledgers.submit(registry, principal, data.unit, key)[0]

    def return_ledger(principal: Principal, data: LedgerReturnCommand, key: str) -> dict:
        return ledgers.return_ledger(registry, principal, data.unit, data.reasons, key)[0]

    def approve(principal: Principal, data: LedgerUnit, key: str) -> dict:
        return ledgers.approve(registry, principal, data.unit, key)[0]

    def command(name, model, run, response_model, status_code=200) -> IntakeCommand:
        return IntakeCommand("registry", name, model, run, response_model=response_model, status_code=status_code)

    return [
        command("register-entity", EntityCreate, register, EntityPublic, 201),
        command("update-entity-profile", ProfileUpdateCommand, update, EntityPublic),
        command("flag-entity", FlagCommand, flag, EntityPublic),
        command("clear-entity-flag", FlagClearCommand, clear, EntityPublic),
        command("erase-entity-persons", PersonsEraseCommand, erase, EntityPublic),
        command("submit-ledger", LedgerUnit, submit, LedgerPublic),
        command("return-ledger", LedgerReturnCommand, return_ledger, LedgerPublic),
        command("approve-ledger", LedgerUnit, approve, LedgerPublic),
    ]
