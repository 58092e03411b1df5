"""Departments, scopes, and refusals (docs/rules.md, "Departments and what each may do"; docs/security.md, "Tokens and scope").

A principal names the department kind, its territory (a GB/T 2260 division
code, matched by prefix) or sectors, and the user; tokens carrying it are
signed by the issuer with Ed25519 (``tokens.py``). What each kind may do is
the table PERMISSIONS below; a refused write is a 403 with the reason, and
recorded.
"""

import re
from dataclasses import dataclass, field

from .envelope import Actor
from .errors import PlatformError


class Unauthenticated(PlatformError):
    status = 401
    code = "unauthenticated"


class Forbidden(PlatformError):
    """A department acted outside what it owns; recorded by the HTTP layer."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, *, principal: "Principal", permission: str, target: str | None = None):
        super().__init__(message, field="Authorization", rule="departments write only what they own")
        self.principal = principal
        self.permission = permission
        self.target = target


# Department kinds and their permissions (the table in docs/rules.md). Reads of
# aggregate figures are open to every authenticated department.
PERMISSIONS: dict[str, frozenset[str]] = {
    "city_org": frozenset({
        "ledger.approve", "ledger.return", "bulletin.publish", "spotcheck.draw", "accountability.record",
        "read.all", "read.personal", "entity.register", "entity.survey", "organization.form",
        "member.manage", "check.acceptance", "check.spot", "report.submit", "audit.read", "workcoverage.instructor",
        "workcoverage.joint_development", "report.responsibility", "milestone.record"}),
    "district_org": frozenset({
        "entity.register", "entity.survey", "ledger.submit", "organization.form", "check.acceptance",
        "report.submit", "member.manage", "read.personal", "workcoverage.instructor",
        "workcoverage.joint_development", "milestone.record"}),
    "street_office": frozenset({"entity.register", "entity.survey", "ledger.submit"}),
    # check.acceptance: city-level social organizations of its 归口 (R12: those with a supervising unit)
    "city_organs_committee": frozenset({"ledger.submit", "report.submit", "entity.survey", "check.acceptance"}),
    # check.acceptance: city-level social organizations without a supervising unit (R12)
    "civil_affairs": frozenset({
        "entity.register", "entity.verify", "ledger.submit", "report.submit", "report.responsibility",
        "check.acceptance"}),
    # check.spot: the city's random spot checks of non-public enterprises are joint (R12)
    "market_regulation": frozenset({"entity.verify", "entity.flag", "report.responsibility", "check.spot"}),
    "commerce": frozenset({"entity.verify", "report.responsibility", "check.spot"}),
    "economy_it": frozenset({"entity.verify", "report.responsibility", "check.spot"}),
    "federation_commerce": frozenset({
        "entity.verify", "report.responsibility", "check.spot", "workcoverage.investor_education"}),
    # 统战: investors' education (R6), spot checks (R12), responsibility report (R11)
    "united_front": frozenset({"workcoverage.investor_education", "check.spot", "report.responsibility"}),
    "education": frozenset({"entity.verify", "ledger.submit", "report.responsibility"}),
    "health": frozenset({"entity.verify", "ledger.submit", "report.responsibility"}),
    "justice": frozenset({"entity.verify", "ledger.submit", "report.responsibility"}),
    "finance": frozenset({"entity.verify", "ledger.submit", "report.responsibility"}),
    "tax": frozenset({"entity.verify", "ledger.submit", "report.responsibility"}),
    "mass_org": frozenset({"workcoverage.mass_org", "report.responsibility"}),
    "inspector": frozenset({"read.all", "audit.read"}),
}

DEPARTMENT_NAMES_ZH = {
    "city_org": "市委组织部", "district_org": "区委组织部", "street_office": "街道（园区）党工委",
    "city_organs_committee": "市直机关工委",
    "civil_affairs": "民政局", "united_front": "统战部", "market_regulation": "工商局", "commerce": "商务局", "economy_it": "经信委",
    "federation_commerce": "工商联", "education": "教育局", "health": "卫生计生委", "justice": "司法局",
    "finance": "财政局", "tax": "税务局", "mass_org": "工青妇", "inspector": "督查组",
}


def division_prefix(code: str) -> str:
    """The prefix every division inside ``code`` starts with (GB/T 2260 levels:
    2 digits province, 4 city, 6 district, 9 street/township)."""
    if len(code) == 6:
        if code[2:] == "0000":
            return code[:2]
        if code[4:] == "00":
            return code[:4]
    return code


@dataclass(frozen=True)
class Principal:
    """Who is calling: a department (kind + territory or sectors) and a user in it."""

    department: str  # e.g. "district_org:420102", "civil_affairs", "education"
    kind: str
    user: str
    territory: str | None = None  # GB/T 2260 code; None means the whole city
    sectors: tuple[str, ...] = field(default_factory=tuple)

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.kind, frozenset())

    def covers(self, division_code: str | None) -> bool:
        """True when the division lies in this department's territory."""
        if self.territory is None:
            return True
        return division_code is not None and division_code.startswith(division_prefix(self.territory))

    def actor(self) -> Actor:
        return Actor(department=self.department, user=self.user)

    def require(self, permission: str, *, territory: str | None = None, sector: str | None = None,
                target: str | None = None) -> None:
        """Raise Forbidden, with the reason, unless this department may do this here."""
        if not self.may(permission):
            raise Forbidden(f"{self.department} ({DEPARTMENT_NAMES_ZH.get(self.kind, self.kind)}) may not "
                            f"{permission}", principal=self, permission=permission, target=target)
        if territory is not None and not self.covers(territory):
            raise Forbidden(f"{self.department} may {permission} only in territory {self.territory}, "
                            f"not in {territory}", principal=self, permission=permission, target=target)
        if sector is not None and self.sectors and sector not in self.sectors:
            raise Forbidden(f"{self.department} may {permission} only for sectors {', '.join(self.sectors)}, "
                            f"not {sector}", principal=self, permission=permission, target=target)


# Departments that act for one division: a token for them names it, at this level (GB/T 2260: 6 digits for a
# district or functional zone, 9 for a street, township or park). Without it the token would be city-wide.
TERRITORY_LEVELS: dict[str, tuple[str, re.Pattern]] = {
    "district_org": ("district", re.compile(r"[0-9]{4}(?!00)[0-9]{2}")),
    "street_office": ("street", re.compile(r"[0-9]{9}")),
}


def territory_shape_problem(kind: str, territory: str | None) -> str | None:
    """Why a principal of ``kind`` may not have this territory (None: it may); format only, no reference data."""
    if kind not in TERRITORY_LEVELS:
        return None
    level, shape = TERRITORY_LEVELS[kind]
    if territory is None:
        return f"a {kind} token must name its {level} (--territory); without one it would be city-wide"
    if not isinstance(territory, str) or not shape.fullmatch(territory):
        return f"{kind} covers a {level}: territory {territory!r} is not a {level} code"
    return None


def territory_level_problem(kind: str, territory: str | None, divisions) -> str | None:
    """``territory_shape_problem``, and the code must be a division of that level in ``divisions``
    (a ``platform_core.reference.Territory``)."""
    if problem := territory_shape_problem(kind, territory):
        return problem
    if kind in TERRITORY_LEVELS:
        level = TERRITORY_LEVELS[kind][0]
        found = divisions.district(territory) if level == "district" else divisions.street(territory)
        if found is None:
            return f"{territory} is not a {level} of {divisions.name} ({divisions.code})"
    return None
