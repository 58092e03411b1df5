"""The one place that wires the formation service."""

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from platform_core.contracts import event_types_for
from platform_core.projection_consumer import ProjectionSpec
from platform_core.projection_lag import ProjectionLag
from platform_core.reference import CampaignCalendar, load_calendar
from platform_core.service import ServiceContext, bootstrap_service

from formation.adapters.tables import Tables, tables
from formation.handlers.commands import FormationCommands
from formation.handlers.milestones import MilestoneCommands
from formation.handlers.plans import PlanCommands
from formation.handlers.projections import checkpoint_projection, upstream_projection

UPSTREAM_GROUP = "formation.upstream"  # registry.events + membership.events: baseline, kinds, member counts
UPSTREAM_TOPICS = ("registry.events", "membership.events")
CHECKPOINT_GROUP = "formation.checkpoints"  # reporting.events: signed audit checkpoints (spot-check seeds)


@dataclass(frozen=True)
class Formation:
    """What the HTTP routes need, built once per process."""

    commands: FormationCommands
    tables: Tables
    engine: Engine
    calendar: CampaignCalendar
    plans: PlanCommands
    milestones: MilestoneCommands


def build_context() -> ServiceContext:
    return bootstrap_service("formation", event_types_for("formation"))


def build_formation(context: ServiceContext, upstream_group: str = UPSTREAM_GROUP,
                    upstream_topics: tuple[str, ...] = UPSTREAM_TOPICS) -> Formation:
    """The routes' handles; refusals on projected facts ask ``upstream_group``'s offsets on ``upstream_topics``."""
    bound = tables(context.schema)
    calendar = load_calendar()
    upstream = ProjectionLag(context.engine, context.schema, upstream_group, upstream_topics,
                             context.settings.kafka_bootstrap)
    commands = FormationCommands(context.store, bound, calendar=calendar, upstream=upstream)
    return Formation(commands, bound, context.engine, calendar, PlanCommands(commands), MilestoneCommands(commands))


def build_projections(context: ServiceContext) -> list:
    """Formation's projections of the upstream topics and the audit checkpoints; and the Kafka intake."""
    from formation.entrypoints.intake import intake_commands
    from platform_core.intake.applier import intake_spec

    bound = tables(context.schema)
    settings = getattr(context, "settings", None)
    return [
        ProjectionSpec(UPSTREAM_GROUP, UPSTREAM_TOPICS,
                       registry=event_types_for("registry", "membership"), batch_handler=upstream_projection(bound),
                       name="upstream"),
        ProjectionSpec(CHECKPOINT_GROUP, ("reporting.events",), registry=event_types_for("reporting"),
                       batch_handler=checkpoint_projection(bound), name="checkpoints"),
        # the departments' formation commands from Kafka (docs/intake.md)
        intake_spec("formation", lambda: (context.engine, intake_commands(build_formation(context))),
                    settings.intake_departments_file if settings is not None else None),
    ]
