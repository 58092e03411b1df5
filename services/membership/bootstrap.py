"""The one place that wires the membership service."""

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from platform_core.contracts import event_types_for
from platform_core.data_keys import in_key_order, rewrap_all
from platform_core.projection_consumer import ProjectionSpec
from platform_core.service import ServiceContext, bootstrap_service

from membership.adapters.legacy_identities import upgrade_legacy_identities
from membership.adapters.personal_data import PersonalDataVault
from membership.adapters.tables import Tables, tables
from membership.handlers.commands import MembershipCommands
from membership.handlers.entity_projection import entity_projection
from membership.handlers.organization_projection import organization_projection
from membership.handlers.personal_data import PersonalDataReads

ENTITY_PROJECTION_GROUP = "membership.known-entities"
ORGANIZATION_PROJECTION_GROUP = "membership.known-organizations"


@dataclass(frozen=True)
class Membership:
    """What the HTTP routes need, built once per process."""

    commands: MembershipCommands
    personal_data: PersonalDataReads
    tables: Tables
    engine: Engine


def build_context() -> ServiceContext:
    return bootstrap_service("membership", event_types_for("membership"))


def build_membership(context: ServiceContext) -> Membership:
    vault = PersonalDataVault(context.settings.require_personal_data_key())
    bound = tables(context.schema)
    return Membership(MembershipCommands(context.store, bound, vault), PersonalDataReads(context.store, bound, vault),
                      bound, context.engine)


def prepare(context: ServiceContext, membership: Membership) -> None:
    """Before the first request: migrations, then identities sealed before per-member data keys re-sealed."""
    context.migrate()
    upgrade_legacy_identities(context.engine, membership.commands.identities,
                              context.settings.require_personal_data_key())


def rotate_personal_data_key(context: ServiceContext) -> dict[str, int]:
    """After a new master key was put first in the ring: every data key re-wrapped with it, every
    duplicate hash recomputed under its hash key (docs/security.md, "Key rotation")."""
    identities = build_membership(context).commands.identities
    return {"data keys re-wrapped": rewrap_all(context.engine, identities.keys),
            "identity hashes recomputed": in_key_order(context.engine, identities.rehash_batch)}


def build_projections(context: ServiceContext) -> list:
    """Where entities lie (registry.events: EntityRegistered's location keys only) and which organizations exist
    and cover which entities (formation.events: formed, restructured, dissolved); and the Kafka intake."""
    from membership.entrypoints.intake import intake_commands
    from platform_core.intake.applier import intake_spec

    settings = getattr(context, "settings", None)
    return [ProjectionSpec(ENTITY_PROJECTION_GROUP, ("registry.events",), entity_projection(context.schema),
                           name="known-entities"),
            ProjectionSpec(ORGANIZATION_PROJECTION_GROUP, ("formation.events",),
                           organization_projection(context.schema), name="known-organizations"),
            # the departments' membership commands from Kafka (docs/intake.md)
            intake_spec("membership", lambda: (context.engine, intake_commands(build_membership(context))),
                        settings.intake_departments_file if settings is not None else None)]
