"""A token per department, issued by the simulator itself with the platform's secret (it plays every department)."""

from functools import cache

from platform_core.auth import Principal, issue_token

SECTORS = {"market_regulation": ("non_public_enterprise",), "civil_affairs": ("social_organization",),
           "city_organs_committee": ("social_organization",)}


class Tokens:
    def __init__(self, secret: str):
        self.secret = secret

    @cache
    def __call__(self, department: str) -> str:
        kind, _, territory = department.partition(":")
        principal = Principal(department=department, kind=kind, user="campaign-simulator",
                              territory=territory or None, sectors=SECTORS.get(kind, ()))
        return issue_token(self.secret, principal)
