"""Department tokens, scopes, and refusals (DOMAIN.md "Departments and what each may do").

A token is ``base64url(claims).base64url(HMAC-SHA256(secret, claims))``: every
service verifies it with the shared secret, no token table to query. Claims
name the department kind, its territory (a GB/T 2260 division code, matched
by prefix) or sectors, and the user. What each kind may do is the table
PERMISSIONS below; a refused write is a 403 with the reason, and recorded.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

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


# Department kinds and their permissions (the table in DOMAIN.md). Reads of
# aggregate figures are open to every authenticated department.
PERMISSIONS: dict[str, frozenset[str]] = {
    "city_org": frozenset({
        "ledger.approve", "ledger.return", "bulletin.publish", "spotcheck.draw", "accountability.record",
        "read.all", "read.personal", "entity.register", "entity.survey", "organization.form",
        "member.manage", "check.acceptance", "check.spot", "report.submit", "audit.read", "workcoverage.instructor",
        "workcoverage.joint_development", "report.responsibility"}),
    "district_org": frozenset({
        "entity.register", "entity.survey", "ledger.submit", "organization.form", "check.acceptance",
        "report.submit", "member.manage", "read.personal", "workcoverage.instructor",
        "workcoverage.joint_development"}),
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, principal: Principal, valid_for: timedelta = timedelta(days=180),
                now: datetime | None = None) -> str:
    if principal.kind not in PERMISSIONS:
        raise ValueError(f"unknown department kind {principal.kind!r}; one of {', '.join(PERMISSIONS)}")
    now = now or datetime.now(timezone.utc)
    claims = {"dep": principal.department, "kind": principal.kind, "user": principal.user,
              "ter": principal.territory, "sec": list(principal.sectors),
              "exp": int((now + valid_for).timestamp())}
    body = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def verify_token(secret: str, token: str, now: datetime | None = None) -> Principal:
    """The principal a token names; Unauthenticated when it is forged, malformed or expired."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Unauthenticated("the token's signature is not valid", field="Authorization")
    try:
        claims = json.loads(_unb64(body))
        principal = Principal(department=claims["dep"], kind=claims["kind"], user=claims["user"],
                              territory=claims.get("ter"), sectors=tuple(claims.get("sec") or ()))
        expires = claims["exp"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthenticated("the token's claims are malformed", field="Authorization") from exc
    if (now or datetime.now(timezone.utc)).timestamp() > expires:
        raise Unauthenticated("the token has expired", field="Authorization")
    if principal.kind not in PERMISSIONS:
        raise Unauthenticated(f"unknown department kind {principal.kind!r}", field="Authorization")
    return principal
