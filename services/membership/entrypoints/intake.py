"""Membership's commands on the Kafka intake (docs/intake.md): each runs its HTTP route's own function."""

from platform_core.intake.commands import IntakeCommand
from platform_core.intake.routes import route_commands

from ..bootstrap import Membership
from .routes import router

# route function -> command (ce_type cn.gov.wuhan.campaign.membership.<command>.v1)
COMMANDS = {
    "register_found": "register-found-member", "register_developed": "register-developed-member",
    "register_recruited": "register-recruited-member", "reveal": "reveal-member", "confirm": "confirm-member",
    "transfer": "transfer-member", "change_workplace": "change-member-workplace", "release": "release-member",
    "accept": "accept-member", "withdraw_release": "withdraw-member-release",
    "add_functional": "add-functional-membership", "remove_functional": "end-functional-membership",
    "leave": "record-member-left", "erase_personal_data": "erase-member-personal-data",
}


def intake_commands(membership: Membership) -> list[IntakeCommand]:
    return route_commands("membership", router, membership, COMMANDS)
