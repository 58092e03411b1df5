"""Verification lists (三(二) 应报尽报、一个不漏), pure: columns, rows, scopes and the list's events."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_support import make_uscc

from platform_core.contracts import event_types_for
from platform_core.errors import SchemaViolation
from registry.domain import verification as v

CONTRACT = event_types_for("registry")


@pytest.mark.parametrize("department, facts, inside", [
    ("market_regulation", {"kind": "non_public_enterprise"}, True),
    ("market_regulation", {"kind": "rural_entity"}, False),
    ("commerce", {"kind": "non_public_enterprise", "subtype": "foreign_invested"}, True),
    ("commerce", {"kind": "non_public_enterprise", "subtype": "hmt_invested"}, True),
    ("commerce", {"kind": "non_public_enterprise", "subtype": "private"}, False),
    ("economy_it", {"kind": "non_public_enterprise", "above_scale": True}, True),
    ("economy_it", {"kind": "non_public_enterprise", "above_scale": False}, False),
    ("civil_affairs", {"kind": "social_organization"}, True),
    ("civil_affairs", {"kind": "non_public_enterprise"}, False),
    ("federation_commerce", {"kind": "non_public_enterprise"}, True),
    ("federation_commerce", {"kind": "social_organization"}, False),
])
def test_each_list_has_its_scope(department, facts, inside):
    assert v.list_kind(department).in_scope(facts) is inside


def test_only_the_five_departments_keep_lists():
    with pytest.raises(SchemaViolation, match="三\\(二\\)"):
        v.list_kind("education")


def test_columns_and_rows_with_the_federations_member_mark():
    headers, errors = v.map_columns(["序号", "企业名称", "统一社会信用代码", "是否会员", "所属区"], 2, with_member=True)
    assert errors == [] and {i: c.field for i, c in headers.columns.items()} == {1: "name", 2: "uscc", 3: "member"}
    code = make_uscc()
    row, errors = v.parse_row(headers, [1, "武汉示例有限公司", f" {code.lower()} ", "否", "江岸区"], 3, True)
    assert errors == [] and row == v.ListRow(3, code, "武汉示例有限公司", False)
    row, _ = v.parse_row(headers, [1, "武汉示例有限公司", code, None, None], 4, True)
    assert row.member is True  # the federation's list is of its members unless marked otherwise
    _, missing = v.map_columns(["名称"], 1, with_member=False)
    assert [e.reason for e in missing] == ["缺少必需的列“统一社会信用代码”"]
    _, unknown = v.map_columns(["名称", "统一社会信用代码", "是否会员"], 1, with_member=False)
    assert unknown[0].column == "是否会员" and "核实名单" in unknown[0].reason  # only the federation marks members


def test_bad_rows_name_the_column_as_headed_and_duplicates_the_first_row():
    headers, _ = v.map_columns(["单位名称", "统一社会信用代码"], 1, with_member=False)
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    _, errors = v.parse_row(headers, ["", wrong], 5, False)
    assert [(e.column, "校验位" in e.reason or e.reason) for e in errors] == [("单位名称", "必填"), ("统一社会信用代码", True)]
    _, numeric = v.parse_row(headers, ["甲", 9.1e17], 6, False)
    assert "数字格式" in numeric[0].reason
    rows = [v.ListRow(2, code, "甲", None), v.ListRow(9, code, "乙", None)]
    assert [(e.row, e.reason) for e in v.duplicate_codes(rows)] == [(9, f"统一社会信用代码{code}与第2行重复")]


ROWS = st.lists(st.tuples(st.sampled_from(["in_scope", "outside", "unregistered"]), st.booleans()), max_size=950)


@given(ROWS)
def test_the_list_events_carry_each_rows_match_in_parts_and_add_up(specs):
    kind = v.list_kind("federation_commerce")
    rows, matched = [], {}
    for n, (what, member) in enumerate(specs, start=2):
        code = make_uscc()
        rows.append(v.ListRow(n, code, f"单位{n}", member))
        if what != "unregistered":
            matched[code] = (f"entity-{uuid.uuid4()}", {"kind": "non_public_enterprise" if what == "in_scope"
                                                        else "social_organization"})
    decided = v.decide_list(kind, None, f"verificationlist-{uuid.uuid4()}", 1, "import-x", rows, matched)
    for event in decided:
        CONTRACT.validate_payload(event.type, event.payload)
    first = decided[0].payload
    assert [e.payload["part"] for e in decided] == list(range(1, len(decided) + 1)) and first["parts"] == len(decided)
    assert len(decided) == max(1, -(-len(rows) // v.CHUNK))
    assert first["matched_count"] + first["registered_differently_count"] + first["not_in_registry_count"] == len(rows)
    union = lambda field: [x for e in decided for x in e.payload[field]]
    assert union("entity_ids") == [matched[r.uscc][0] for r in rows
                                   if r.uscc in matched and matched[r.uscc][1]["kind"] == "non_public_enterprise"]
    assert union("member_entity_ids") == [matched[r.uscc][0] for r in rows if r.member and r.uscc in matched]
    assert union("not_in_registry") == [r.uscc for r in rows if r.uscc not in matched]
    assert len(union("registered_differently")) == first["registered_differently_count"]
