"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without
I, O, S, V, Z); the 18th is a check character: weights 3^(i) mod 31 over the
first 17, check = (31 - sum mod 31) mod 31.
"""

import unicodedata

from platform_core.errors import SchemaViolation

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
RULE = "GB 32100-2015"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}


class InvalidUscc(SchemaViolation):
    """The code breaks GB 32100-2015; the message says where and, for the check character, what it should be."""

    def __init__(self, message: str, expected_check: str | None = None):
        super().__init__(message, field="uscc", rule=RULE)
        self.expected_check = expected_check


def normalize_uscc(text: str) -> str:
    """Full-width to half-width, spaces removed, upper case (how codes arrive from forms)."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(text: str) -> str:
    """The normalized code, or InvalidUscc naming the rule that failed."""
    code = normalize_uscc(text or "")
    if not code:
        raise InvalidUscc("统一社会信用代码不能为空（GB 32100-2015）")
    if len(code) != 18:
        raise InvalidUscc(f"统一社会信用代码应为18位，实为{len(code)}位（GB 32100-2015）")
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            raise InvalidUscc(f"统一社会信用代码第{position}位“{char}”不是GB 32100-2015的代码字符"
                              f"（0-9及除I、O、S、V、Z外的大写字母）")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidUscc(f"统一社会信用代码校验位错误：应为“{expected}”，实为“{code[17]}”（GB 32100-2015）",
                          expected_check=expected)
    return code


def is_valid_uscc(text: str) -> bool:
    try:
        validate_uscc(text)
    except InvalidUscc:
        return False
    return True
