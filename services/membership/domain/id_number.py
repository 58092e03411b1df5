"""The 18-character citizen identity number (GB 11643-1999).

The last character is an ISO 7064 MOD 11-2 check character over the first 17
digits. Error messages never repeat the number: it is personal data.
"""

from datetime import date

from platform_core.errors import SchemaViolation

WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
CHECK_CHARACTERS = "10X98765432"
RULE = "GB 11643-1999 (ISO 7064 MOD 11-2)"


class InvalidIdNumber(SchemaViolation):
    """A malformed identity number; the message names the problem, never the number."""

    def __init__(self, problem: str):
        super().__init__(f"id_number: {problem}（公民身份号码无效）", field="id_number", rule=RULE)


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def normalize_id_number(text: str) -> str:
    """The number in canonical form (upper-case X), or InvalidIdNumber."""
    value = text.strip().upper()
    if len(value) != 18:
        raise InvalidIdNumber(f"must be 18 characters, got {len(value)}")
    if not value[:17].isascii() or not value[:17].isdigit():
        raise InvalidIdNumber("the first 17 characters must be digits")
    if not (value[17].isascii() and (value[17].isdigit() or value[17] == "X")):
        raise InvalidIdNumber("the 18th character must be a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("characters 7-14 are not a valid birth date") from None
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber("the check character does not match")
    return value
