"""Formation's commands on the Kafka intake (docs/intake.md): each runs its HTTP route's own function."""

from platform_core.intake.commands import IntakeCommand
from platform_core.intake.routes import route_commands

from ..bootstrap import Formation
from . import milestones, plans, work_coverage
from .routes import router

# route function -> command (ce_type cn.gov.wuhan.campaign.formation.<command>.v1)
ORGANIZATION_COMMANDS = {
    "form": "form-organization", "restructure": "restructure-organization", "dissolve": "dissolve-organization",
    "change_affiliation": "change-affiliation", "record_check": "record-acceptance-check", "close_task": "close-task",
    "draw_spot_check": "draw-spot-check", "spot_check_result": "record-spot-check-result",
}
WORK_COVERAGE_COMMANDS = {
    "assign_instructor": "assign-instructor", "end_assignment": "end-instructor-assignment",
    "investor_education": "record-investor-education", "joint_member_development": "record-joint-member-development",
    "mass_organization": "form-mass-organization",
}
PLAN_COMMANDS = {"create_plan": "create-plan", "revise_plan": "revise-plan", "note_progress": "note-plan-progress"}
MILESTONE_COMMANDS = {"declare_zone": "declare-gathering-zone", "record_milestone": "record-setup-milestone"}


def intake_commands(formation: Formation) -> list[IntakeCommand]:
    return [*route_commands("formation", router, formation, ORGANIZATION_COMMANDS),
            *route_commands("formation", work_coverage.router, formation, WORK_COVERAGE_COMMANDS),
            *route_commands("formation", plans.router, formation, PLAN_COMMANDS),
            *route_commands("formation", milestones.router, formation, MILESTONE_COMMANDS)]
