"""Types the services' APIs share for values a client writes: dates, times, positions in a list.

pydantic's lax mode reads a number as a date or a time (``today=0`` as 1970-01-01, ``as_of=0.5`` as half a
second past the epoch) and FastAPI takes any integer as an offset: a number given for a date would be a
silent wrong answer, and an offset beyond PostgreSQL's bigint a 500. These types refuse both with a 422
naming the field and the rule (docs/hardening.md)."""

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?")
# Far beyond any list the platform holds, far within PostgreSQL's bigint (so offset + limit cannot overflow).
MAX_OFFSET = 2**53


def _iso_date(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DATE.fullmatch(value.strip())):
        return value
    raise ValueError("expected a date written YYYY-MM-DD (应为日期，如 2016-09-01；不接受数字)")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATETIME.fullmatch(value.strip())):
        return value
    raise ValueError("expected a time written YYYY-MM-DDTHH:MM[:SS][+08:00] (应为时间，如 2016-09-01T12:00:00+08:00；"
                     "不接受数字)")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
