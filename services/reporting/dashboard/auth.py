"""Browser sign-in for the dashboard: a short server-side session behind an HttpOnly, SameSite=Strict cookie.

A browser cannot send ``Authorization: Bearer``; the login form (POST) verifies the same token
(the service's token verifier, the issuer's public keys) and exchanges it for a session
(``sessions``): the cookie, scoped to /dashboard, holds only a random session id. A token never
travels in a URL. Pages accept the session cookie or the header. Only departments that may read
everything (read.all or audit.read: the city task force, inspectors) see the dashboard.
"""

from urllib.parse import quote, urlsplit

from fastapi import Request

from platform_core.auth import Forbidden, Principal, Unauthenticated
from platform_core.tokens import TokenVerifier

from . import sessions

COOKIE = "campaign_dashboard_session"
PREFIX = "/dashboard"


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


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def may_use_dashboard(principal: Principal) -> Principal:
    """The principal, when it may use the dashboard; Forbidden otherwise."""
    if not (principal.may("read.all") or principal.may("audit.read")):
        raise Forbidden(f"{principal.department} 无权查看全市看板（需要 read.all 或 audit.read 权限）",
                        principal=principal, permission="read.all", target="dashboard")
    return principal


def check_token(verifier: TokenVerifier, token: str) -> Principal:
    """The principal of a token that may use the dashboard; Unauthenticated or Forbidden otherwise."""
    return may_use_dashboard(verifier.verify(token))


def viewer(request: Request) -> Principal:
    """FastAPI dependency for every dashboard page: the Bearer header, else the session cookie."""
    token = bearer_token(request)
    if token is not None:
        try:
            return check_token(request.app.state.token_verifier, token)
        except Unauthenticated as exc:
            raise LoginRequired(current_path(request), exc.message) from exc
    session_id = request.cookies.get(COOKIE)
    principal = sessions.principal_of(request.app.state.context.engine, request.app.state.context.schema, session_id) \
        if session_id else None
    if principal is None:
        raise LoginRequired(current_path(request))
    return may_use_dashboard(principal)
