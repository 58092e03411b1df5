"""The one place that wires the membership service."""

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from platform_core.contracts import event_types_for
from platform_core.projection_consumer import ProjectionSpec
from platform_core.service import ServiceContext, bootstrap_service

from membership.adapters.personal_data import PersonalDataVault
from membership.adapters.tables import Tables, tables
from membership.handlers.commands import MembershipCommands
from membership.handlers.entity_projection import entity_projection

ENTITY_PROJECTION_GROUP = "membership.known-entities"


@dataclass(frozen=True)
class Membership:
    """What the HTTP routes need, built once per process."""

    commands: MembershipCommands
    tables: Tables
    vault: PersonalDataVault
    engine: Engine


def build_context() -> ServiceContext:
    return bootstrap_service("membership", event_types_for("membership"))


def build_membership(context: ServiceContext) -> Membership:
    vault = PersonalDataVault(context.settings.require_personal_data_key())
    bound = tables(context.name)
    return Membership(MembershipCommands(context.store, bound, vault), bound, vault, context.engine)


def build_projections(context: ServiceContext) -> list[ProjectionSpec]:
    """Where entities lie, from registry.events (only EntityRegistered's location keys)."""
    return [ProjectionSpec(ENTITY_PROJECTION_GROUP, ("registry.events",), entity_projection(context.name), None)]
