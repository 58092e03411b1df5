"""The one place that wires the registry service."""

from platform_core.contracts import event_types_for
from platform_core.data_keys import in_key_order, rewrap_all
from platform_core.service import ServiceContext, bootstrap_service
from platform_core.vault import PersonalDataVault
from registry.handlers.persons_upkeep import rehash_batch, seal_legacy_persons
from registry.adapters.persons import EntityPersons
from registry.handlers.context import RegistryContext, default_vocabulary


def build_context() -> ServiceContext:
    return bootstrap_service("registry", event_types_for("registry"))


def build_registry(context: ServiceContext) -> RegistryContext:
    """Handlers' context; CAMPAIGN_TERRITORY_FILE points at another city's territory JSON. The entities'
    persons are sealed under the registry's own master key ring (CAMPAIGN_REGISTRY_PERSONAL_DATA_KEY_FILE)."""
    vault = PersonalDataVault(context.settings.require_registry_personal_data_key())
    return RegistryContext(context.engine, context.store, default_vocabulary(context.settings.territory_file),
                           EntityPersons(vault, context.schema), context.settings.import_max_rows)


def build_projections(context: ServiceContext) -> list:
    """What ``campaign consume registry`` runs: the registry keeps no projection of other services; its intake
    runs the departments' commands from Kafka (docs/intake.md)."""
    from platform_core.intake.applier import intake_spec
    from registry.entrypoints.intake import intake_commands

    settings = getattr(context, "settings", None)
    return [intake_spec("registry", lambda: (context.engine, intake_commands(build_registry(context))),
                        settings.intake_departments_file if settings is not None else None)]


def prepare(context: ServiceContext, registry: RegistryContext) -> None:
    """Before the first request: migrations, then the persons of entities registered before sealing sealed."""
    context.migrate()
    seal_legacy_persons(registry)


def rotate_personal_data_key(context: ServiceContext) -> dict[str, int]:
    """After a new master key was put first in the ring: every data key re-wrapped with it, every entity's
    keyed hashes recomputed under its hash key (docs/security.md, "Key rotation")."""
    registry = build_registry(context)
    return {"data keys re-wrapped": rewrap_all(context.engine, registry.persons.keys),
            "entities rehashed": in_key_order(context.engine, lambda conn, after: rehash_batch(registry, conn, after))}
