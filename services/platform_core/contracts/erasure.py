"""Why personal data was erased: the grounds of PIPL art. 47 (个人信息保护法第四十七条), one code each.

Erase commands take one of these codes, never free text, so the event that records an erasure
cannot carry the personal data it erased.
"""

from typing import Literal, get_args

ErasureReason = Literal["purpose_fulfilled", "retention_expired", "consent_withdrawn", "unlawful_processing",
                        "other_legal_ground"]

ERASURE_REASONS_ZH = {
    "purpose_fulfilled": "处理目的已实现、无法实现或者为实现处理目的不再必要",
    "retention_expired": "停止提供产品或者服务，或者保存期限已届满",
    "consent_withdrawn": "个人撤回同意",
    "unlawful_processing": "违反法律、行政法规或者违反约定处理个人信息",
    "other_legal_ground": "法律、行政法规规定的其他情形",
}
assert set(ERASURE_REASONS_ZH) == set(get_args(ErasureReason))
# What an erase command's ``reason`` field says in the OpenAPI documents.
ERASURE_REASON_HELP = "PIPL art. 47 ground (个人信息保护法第四十七条): " + "; ".join(
    f"{code} {text}" for code, text in ERASURE_REASONS_ZH.items())
