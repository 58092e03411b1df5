"""The membership commands both the survey phases (plan.py) and the formation phases (formation_plan.py)
plan: a member found or recruited, and the department that manages an entity's members (pure)."""

from .commands import Command, fact
from .people import Member
from .world import Entity


def member_department(entity: Entity) -> str:
    return "city_org" if entity.kind == "social_organization" and entity.level == "city" else f"district_org:{entity.district_code}"


def found_command(member: Member, entity: Entity, key, organization: str | None = None) -> Command:
    body = {"name": member.name, "id_number": member.id_number, "standing": member.standing,
            "admitted_on": member.admitted_on.isoformat(), "entity_id": f"@{entity.key}",
            "organization_id": organization}
    route = "/members/recruited" if member.way == "recruited" else "/members/found"
    return Command("membership", member_department(entity), "POST", route, key(f"{member.way}-{member.key}"), body=body,
                   produces=member.key, id_field="member_id", retry_statuses=(422,),
                   facts=(fact("member_added", [member.key, entity.key], standing=member.standing, way=member.way,
                               organization=organization),))
