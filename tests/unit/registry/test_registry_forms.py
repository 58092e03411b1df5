"""The 附表1/附表2 parser: headers, cell formats, row-level errors (pure, property-based)."""

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from registry_support import VOCABULARY, make_uscc

from registry.domain import forms

HEADERS1 = ["序号", "企业名称", "统一社会信用代码", "企业类型", "所属区", "所属街道（乡镇）/园区", "地址", "行业", "职工人数",
            "是否规模以上", "经营运行情况", "正式党员数", "预备党员数", "党组织情况", "出资人（负责人）",
            "出资人（负责人）是否党员", "法定代表人", "未建党组织原因"]


def row1(**overrides):
    values = {"序号": 1, "企业名称": "武汉示例科技有限公司", "统一社会信用代码": make_uscc(), "企业类型": "私营企业",
              "所属区": "江岸区", "所属街道（乡镇）/园区": "大智街道", "地址": "中山大道1号", "行业": "互联网和相关服务",
              "职工人数": 120, "是否规模以上": "是", "经营运行情况": "正常经营", "正式党员数": 3, "预备党员数": 0,
              "党组织情况": "未建", "出资人（负责人）": "张三", "出资人（负责人）是否党员": "否", "法定代表人": "张三",
              "未建党组织原因": "正在筹建"}
    values.update(overrides)
    return [values[h] for h in HEADERS1]


def parse(cells, headers=HEADERS1, form="form1"):
    mapped, errors = forms.map_headers(form, headers, 1)
    assert errors == []
    return forms.row_facts(form, mapped, cells, VOCABULARY, 2)


def test_a_good_row_becomes_facts_with_codes():
    facts, errors = parse(row1())
    assert errors == []
    assert facts["street_code"] == "420102002" and facts["subtype"] == "private" and facts["industry"] == "internet"
    assert facts["above_scale"] is True and facts["operation_status"] == "operating"


def test_headers_match_across_widths_spaces_stars_and_line_breaks():
    variants = ["* 企业名称", "统一社会\n信用代码", "企业类型", "所属区", "所属街道(乡镇)/园区", "地址", "行 业", "职工人数",
                "是否规模以上", "经营运行情况", "正式党员数", "预备党员数", "党组织情况", "出资人(负责人)",
                "出资人(负责人)是否党员", "法定代表人", "未建党组织原因"]
    mapped, errors = forms.map_headers("form1", variants, 3)
    assert errors == [] and len(mapped.columns) == len(variants)


def test_missing_and_unknown_headers_are_errors_on_the_header_row():
    headers = [h for h in HEADERS1 if h != "职工人数"] + ["颜色"]
    _, errors = forms.map_headers("form1", headers, 4)
    reasons = {(e.row, e.reason) for e in errors}
    assert (4, "缺少必需的列“职工人数”") in reasons
    assert any("未知列“颜色”" in reason for _, reason in reasons)


@pytest.mark.parametrize("text", ["120", "１２０", " 120 ", "120人", "120.0", 120.0, "1,20"])
def test_numbers_as_text_and_full_width_digits(text):
    facts, errors = parse(row1(职工人数=text))
    assert errors == [] and facts["employees"] == 120


@pytest.mark.parametrize("text", ["一百二十", "12.5", -3, "abc"])
def test_bad_numbers_are_row_errors_naming_the_column(text):
    facts, errors = parse(row1(职工人数=text))
    assert facts is None and [(e.row, e.column) for e in errors] == [(2, "职工人数")]


def test_codes_in_full_width_and_streets_by_code():
    code = make_uscc()
    full_width = code.translate({ord(c): ord(c) + 0xFEE0 for c in code})
    facts, errors = parse(row1(统一社会信用代码=full_width, **{"所属街道（乡镇）/园区": "420102003"}))
    assert errors == [] and facts["uscc"] == code and facts["street_code"] == "420102003"


def test_a_code_stored_as_a_number_is_explained():
    _, errors = parse(row1(统一社会信用代码=9.142010012345678e17))
    assert "数字格式" in errors[0].reason


def test_a_street_of_another_district_is_a_row_error():
    _, errors = parse(row1(**{"所属街道（乡镇）/园区": "关山街道"}))
    assert errors[0].column == "所属街道（乡镇）/园区" and "不是江岸区的街道" in errors[0].reason


def test_wrong_check_character_names_the_expected_one():
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    _, errors = parse(row1(统一社会信用代码=wrong))
    assert errors[0].column == "统一社会信用代码" and f"应为“{code[17]}”" in errors[0].reason


def test_form2_social_organization_with_supervising_unit_by_name():
    headers = ["社会组织名称", "统一社会信用代码", "社会组织类别", "层级", "业务主管单位", "所属区", "所属街道（乡镇）", "行业",
               "从业人员数", "运行情况", "正式党员数", "预备党员数", "党组织情况", "负责人", "未建党组织原因"]
    cells = ["武汉市示例学校", make_uscc(), "民办学校", "市级", "市教育局", "武昌区", "水果湖街道", "教育", 45, "正常", 2, 1,
             "未建", "李四", "党员不足3名"]
    facts, errors = parse(cells, headers, "form2")
    assert errors == []
    assert (facts["kind"], facts["subtype"], facts["level"], facts["supervising_department"]) == (
        "social_organization", "private_school", "city", "education")


def test_duplicate_codes_within_a_file_name_the_first_row():
    code = make_uscc()
    errors = forms.duplicate_codes([(3, {"uscc": code}), (7, {"uscc": code})], "统一社会信用代码")
    assert [(e.row, e.reason) for e in errors] == [(7, f"统一社会信用代码{code}与第3行重复")]


cell_values = st.one_of(st.none(), st.text(max_size=12), st.integers(-10, 10**6), st.floats(allow_nan=True),
                        st.booleans(), st.sampled_from(["是", "否", "江岸区", "大智街道", "正常经营", "未建", "１２", "私营企业"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(cell_values, min_size=0, max_size=len(HEADERS1) + 3))
def test_any_row_gives_facts_or_row_errors_never_a_crash(cells):
    facts, errors = parse(cells)
    assert (facts is None) == bool(errors)
    assert all(error.row == 2 and error.column and error.reason for error in errors)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 50), st.sampled_from(sorted(VOCABULARY.territory.district(
    "420111").streets, key=lambda s: s.code)), st.booleans())
def test_valid_rows_round_trip(employees, members, street, full_width):
    assume(members <= employees)  # formal members are among the employees (next test)
    text = str(employees)
    if full_width:
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in text})
    cells = row1(职工人数=text, 正式党员数=members, 所属区="洪山区", **{"所属街道（乡镇）/园区": street.name},
                 统一社会信用代码=make_uscc(random.Random(employees)))
    facts, errors = parse(cells)
    assert errors == []
    assert (facts["employees"], facts["formal_members"], facts["street_code"]) == (employees, members, street.code)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 50))
def test_more_formal_members_than_employees_is_a_row_error_at_the_boundary(employees, members):
    facts, errors = parse(row1(职工人数=employees, 正式党员数=members,
                               统一社会信用代码=make_uscc(random.Random(employees * 100 + members))))
    if members <= employees:
        assert errors == [] and facts["formal_members"] == members
    else:
        assert [(e.column, "多于" in e.reason) for e in errors] == [("正式党员数", True)]


@pytest.mark.parametrize("cell, expected", [("是", True), ("否", False), (None, None), ("", None)])
def test_form2_records_whether_staffed_mainly_by_public_employees(cell, expected):
    headers = ["社会组织名称", "统一社会信用代码", "社会组织类别", "层级", "业务主管单位", "所属区", "所属街道（乡镇）", "行业",
               "从业人员数", "运行情况", "正式党员数", "预备党员数", "党组织情况", "负责人", "未建党组织原因",
               "是否以机关事业单位人员为主体"]
    cells = ["武汉市示例研究会", make_uscc(), "社会团体", "市级", "无", "武昌区", "水果湖街道", "社会服务", 12, "正常", 2, 0,
             "未建", "李四", "党员不足3名", cell]
    facts, errors = parse(cells, headers, "form2")
    assert errors == [] and facts["public_sector_staffed"] is expected
