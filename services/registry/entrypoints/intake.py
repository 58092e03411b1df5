"""The registry's commands on the Kafka intake (docs/intake.md): each runs its HTTP route's own function, its
data the route's body with the path parameters as fields, its answer the route's."""

from platform_core.intake.commands import IntakeCommand
from platform_core.intake.routes import route_commands
from registry.entrypoints.routes import entities, ledgers
from registry.handlers.context import RegistryContext

# route function -> command (ce_type cn.gov.wuhan.campaign.registry.<command>.v1)
ENTITY_COMMANDS = {
    "register_entity": "register-entity", "update_profile": "update-entity-profile", "flag_entity": "flag-entity",
    "clear_flag": "clear-entity-flag", "erase_persons": "erase-entity-persons",
}
LEDGER_COMMANDS = {"submit_ledger": "submit-ledger", "return_ledger": "return-ledger", "approve_ledger": "approve-ledger"}


def intake_commands(registry: RegistryContext) -> list[IntakeCommand]:
    return [*route_commands("registry", entities.router, registry, ENTITY_COMMANDS),
            *route_commands("registry", ledgers.router, registry, LEDGER_COMMANDS)]
