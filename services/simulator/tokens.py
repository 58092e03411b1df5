"""A token per department, issued by the simulator itself with the issuer's key (the demo plays every department).

Only a demo does this: in a real campaign each department receives its token from the operator's
``campaign token`` and the issuer's private key never leaves the operator.
"""

from functools import cache

from platform_core.auth import Principal
from platform_core.tokens import TokenIssuer

SECTORS = {"market_regulation": ("non_public_enterprise",), "civil_affairs": ("social_organization",),
           "city_organs_committee": ("social_organization",)}


class Tokens:
    def __init__(self, issuer: TokenIssuer):
        self.issuer = issuer

    @cache
    def __call__(self, department: str, user: str | None = None) -> str:
        kind, _, territory = department.partition(":")
        principal = Principal(department=department, kind=kind, user=user or "campaign-simulator",
                              territory=territory or None, sectors=SECTORS.get(kind, ()))
        return self.issuer.issue(principal)
