"""Browser sign-in for the dashboard: the department token in an HttpOnly, SameSite=Strict cookie.

A browser cannot send ``Authorization: Bearer``; the login page verifies the same token
(the service's token verifier, the issuer's public keys) and keeps it in a cookie scoped to
/dashboard. Pages accept the cookie or the header. Only departments that may read
everything (read.all or audit.read: the city task force, inspectors) see the dashboard.
"""

from urllib.parse import quote, urlsplit

from fastapi import Request

from platform_core.auth import Forbidden, Principal, Unauthenticated
from platform_core.tokens import TokenVerifier

COOKIE = "campaign_dashboard"
PREFIX = "/dashboard"
COOKIE_MAX_AGE = 8 * 3600  # a working day; the token's own expiry still applies


class LoginRequired(Exception):
    """No (valid) credentials: the page redirects to the login page, which comes back here."""

    def __init__(self, next_path: str, reason: str | None = None):
        super().__init__(reason or "login required")
        self.next_path, self.reason = next_path, reason


class BadNext(ValueError):
    """A ``next`` that is not a relative path under /dashboard (no open redirects)."""


def safe_next(raw: str | None) -> str:
    """The page to return to after login: only a relative path under /dashboard."""
    if not raw:
        return PREFIX + "/"
    parts = urlsplit(raw)
    if (parts.scheme or parts.netloc or "\\" in raw or not raw.startswith("/") or raw.startswith("//")
            or any(ord(c) < 32 for c in raw)):
        raise BadNext(raw)
    if parts.path != PREFIX and not parts.path.startswith(PREFIX + "/"):
        raise BadNext(raw)
    if ".." in parts.path.split("/") or parts.path.startswith(PREFIX + "/login"):
        raise BadNext(raw)
    return raw


def login_url(next_path: str) -> str:
    return f"{PREFIX}/login?next={quote(next_path, safe='')}"


def current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE) or None


def check_token(verifier: TokenVerifier, token: str) -> Principal:
    """The principal of a token that may use the dashboard; Unauthenticated or Forbidden otherwise."""
    principal = verifier.verify(token)
    if not (principal.may("read.all") or principal.may("audit.read")):
        raise Forbidden(f"{principal.department} 无权查看全市看板（需要 read.all 或 audit.read 权限）",
                        principal=principal, permission="read.all", target="dashboard")
    return principal


def viewer(request: Request) -> Principal:
    """FastAPI dependency for every dashboard page."""
    token = token_of(request)
    if token is None:
        raise LoginRequired(current_path(request))
    try:
        return check_token(request.app.state.token_verifier, token)
    except Unauthenticated as exc:
        raise LoginRequired(current_path(request), exc.message) from exc
