"""Reading a member's personal data is an event of its own (pure): who, when and why (docs/membership.md).

The reason goes to the audit log, which nobody can edit afterwards: it must
explain the purpose and must not itself carry personal data, so a run of eleven
or more digits (an identity or a telephone number) is refused.
"""

import re

from platform_core.errors import RuleViolation
from platform_core.events import NewEvent


RULE = "personal data access"
DIGIT_RUN = re.compile(r"\d{11,}")
FIELDS = ["id_number", "name"]


def no_personal_number(text: str, field: str) -> None:
    """Free text that goes into an event (and so the audit log, for good) carries no identity or telephone number."""
    if DIGIT_RUN.search(text):
        raise RuleViolation(f"{field} is kept in the audit log for good: it must not contain an identity or "
                            "telephone number", field=field, rule=RULE)


def access_event(access_id: str, member_id: str, entity_id: str, district_code: str | None,
                 reason: str) -> NewEvent:
    """PersonalDataAccessed, after checking the reason the reader gave."""
    reason = " ".join(reason.split())
    if not 4 <= len(reason) <= 200:
        raise RuleViolation("give the reason for reading personal data (4 to 200 characters): it is recorded for "
                            "inspectors", field="reason", rule=RULE)
    no_personal_number(reason, "reason")
    return NewEvent("PersonalDataAccessed", {
        "access_id": access_id, "member_id": member_id, "entity_id": entity_id,
        "district_code": district_code or "unknown", "reason": reason, "fields": FIELDS})
