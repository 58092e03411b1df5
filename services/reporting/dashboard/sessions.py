"""Server-side dashboard sessions: the login form exchanges a department token for a random session id.

The browser keeps only the id (HttpOnly, SameSite=Strict cookie); the principal and the expiry live in
reporting's ``dashboard_sessions`` table, keyed by the id's SHA-256. A session is short (SESSION_TTL)
and ends at logout; the token itself is never stored.
"""

import hashlib
import json
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from platform_core.auth import Principal
from platform_core.db import quoted_schema

SESSION_TTL = timedelta(hours=4)


def _key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def _principal_json(principal: Principal) -> str:
    return json.dumps({"department": principal.department, "kind": principal.kind, "user": principal.user,
                       "territory": principal.territory, "sectors": list(principal.sectors)}, ensure_ascii=False)


def start(engine: Engine, schema: str, principal: Principal, now: datetime | None = None) -> str:
    """A new session for the principal; returns its id (for the cookie). Expired sessions are dropped here."""
    now = now or datetime.now(timezone.utc)
    session_id = secrets.token_urlsafe(32)
    table = f"{quoted_schema(schema)}.dashboard_sessions"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {table} WHERE expires_at <= :now"), {"now": now})
        conn.execute(sa.text(f"INSERT INTO {table} (id_sha256, principal, created_at, expires_at)"
                             " VALUES (:k, CAST(:p AS JSONB), :now, :exp)"),
                     {"k": _key(session_id), "p": _principal_json(principal), "now": now, "exp": now + SESSION_TTL})
    return session_id


def principal_of(engine: Engine, schema: str, session_id: str, now: datetime | None = None) -> Principal | None:
    """The session's principal, or None when it is unknown or expired."""
    if not session_id or len(session_id) > 100:
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"SELECT principal FROM {quoted_schema(schema)}.dashboard_sessions"
            " WHERE id_sha256 = :k AND expires_at > :now"),
            {"k": _key(session_id), "now": now or datetime.now(timezone.utc)}).first()
    if row is None:
        return None
    p = row.principal
    return Principal(p["department"], p["kind"], p["user"], p.get("territory"), tuple(p.get("sectors", ())))


def end(engine: Engine, schema: str, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {quoted_schema(schema)}.dashboard_sessions WHERE id_sha256 = :k"),
                     {"k": _key(session_id)})
