"""Helpers for the registry's unit tests (not a test module)."""

import random

from registry.domain.uscc import ALPHABET, check_character
from registry.handlers.context import default_vocabulary

VOCABULARY = default_vocabulary()


def make_uscc(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    body = "91420100" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def enterprise(**overrides) -> dict:
    facts = {"kind": "non_public_enterprise", "subtype": "private", "uscc": make_uscc(), "name": "武汉示例科技有限公司",
             "street_code": "420102002", "industry": "internet", "employees": 120, "above_scale": False,
             "formal_members": 3, "probationary_members": 1, "operation_status": "operating",
             "party_organization": "none", "person_in_charge": "张三", "person_in_charge_is_member": False,
             "legal_representative": "张三", "address": "江岸区中山大道1号", "no_organization_reason": "正在筹建"}
    facts.update(overrides)
    return facts
