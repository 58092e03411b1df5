"""Synthetic but valid identifiers: unified social credit codes and citizen identity numbers.

Each is unique within a run by construction (an injective function of the
index), and across runs by the run tag's slot, so that a run does not collide
with an earlier run against the same platform (codes and identity numbers are
unique platform-wide). The campaign's decisions never depend on them.
"""

import hashlib
from datetime import date, timedelta

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"
BIRTH_FIRST = date(1950, 1, 1)
BIRTH_DAYS = 17_000  # 1950-01-01 .. 1996-07
BIRTH_STRIDE = 7_919  # prime, coprime with BIRTH_DAYS: index -> day is a bijection mod BIRTH_DAYS

# GB 32100-2015: registration authority + organization type, by kind and subtype.
USCC_PREFIX = {"non_public_enterprise": "91", "rural_entity": "93", "social_group": "51", "private_school": "52",
               "private_hospital": "52", "law_firm": "31", "accounting_firm": "91", "tax_firm": "91",
               "other_social": "52"}


def run_slot(run_tag: str, size: int) -> int:
    return int.from_bytes(hashlib.sha256(run_tag.encode()).digest()[:8], "big") % size


def _base31(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 31)
        chars.append(USCC_ALPHABET[digit])
    if value:
        raise ValueError("index too large for the code's width")
    return "".join(reversed(chars))


def uscc_check(first17: str) -> str:
    values = {char: value for value, char in enumerate(USCC_ALPHABET)}
    total = sum(values[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc(prefix: str, district_code: str, run_tag: str, index: int) -> str:
    """18 characters: authority+type, the district, a 3-character run slot, a 6-character index, check."""
    first17 = prefix + district_code + _base31(run_slot(run_tag, 31 ** 3), 3) + _base31(index, 6)
    return first17 + uscc_check(first17)


def id_check(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def birth_date(index: int) -> date:
    return BIRTH_FIRST + timedelta(days=(index * BIRTH_STRIDE) % BIRTH_DAYS)


def id_number(run_tag: str, index: int) -> str:
    """GB 11643-1999: region (42 + run slot), birth date, sequence, MOD 11-2 check."""
    sequence = index // BIRTH_DAYS
    if sequence >= 1000:
        raise ValueError("too many persons for one run")
    first17 = f"42{run_slot(run_tag, 10_000):04d}{birth_date(index):%Y%m%d}{sequence:03d}"
    return first17 + id_check(first17)
