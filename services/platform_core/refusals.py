"""Refused commands are recorded (docs/security.md): by the HTTP layer after a 403, by the intake in the
batch's transaction."""

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .auth import Forbidden

log = logging.getLogger(__name__)


def insert_refusal(conn: Connection, schema: str, refusal: Forbidden) -> None:
    conn.execute(sa.text(
        f"INSERT INTO {schema}.refused_commands (department, user_name, permission, target, reason)"
        " VALUES (:d, :u, :p, :t, :r)"),
        {"d": refusal.principal.department, "u": refusal.principal.user,
         "p": refusal.permission, "t": refusal.target, "r": refusal.message})
    log.warning("refused command", extra={"department": refusal.principal.department,
                                          "permission": refusal.permission, "reason": refusal.message})
