"""附表1/附表2 out: a ledger's facts written in the import's layout read back to the same facts (pure)."""

import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from registry_support import VOCABULARY, enterprise, make_uscc

from platform_core.auth import Forbidden, Principal
from platform_core.errors import RuleViolation
from registry.adapters.form_sheets import NOTES_SHEET, form_workbook
from registry.adapters.spreadsheet import SheetLimits, read_sheet
from registry.domain import forms, forms_out, policy
from registry.domain.facts import validate_registration
from registry.domain.ledger import parse_unit

ROOMY = SheetLimits(60, 1000)
SUPERVISOR = next(iter(VOCABULARY.departments.supervising_departments))


def social(**overrides) -> dict:
    facts = {"kind": "social_organization", "subtype": "private_school", "uscc": make_uscc(), "name": "武汉示例学校",
             "street_code": "420102002", "level": "city", "supervising_department": SUPERVISOR,
             "industry": "education", "employees": 40, "formal_members": 2, "probationary_members": 0,
             "operation_status": "operating", "party_organization": "joint", "person_in_charge": "李四",
             "person_in_charge_is_member": True, "legal_representative": None, "address": None,
             "no_organization_reason": None, "public_sector_staffed": True}
    facts.update(overrides)
    return facts


def validated(facts: dict) -> dict:
    found, errors = validate_registration(facts, VOCABULARY)
    assert errors == [], errors
    return found


def round_trip(form: str, entities: list[dict]) -> list[dict]:
    """Write the entities as the export does, read the file as the import does: the facts it registers."""
    rows = [forms_out.row(form, n, facts, facts, VOCABULARY) for n, facts in enumerate(entities, start=1)]
    content = form_workbook(form, "测试台帐", rows, forms_out.notes(form, VOCABULARY))
    sheet = read_sheet(f"{form}.xlsx", content, ROOMY)
    (header_number, header_cells), *data = sheet.rows[1:]
    headers, errors = forms.map_headers(form, header_cells, header_number)
    assert errors == []
    found = []
    for number, cells in data:
        facts, row_errors = forms.row_facts(form, headers, cells, VOCABULARY, number)
        assert row_errors == [], row_errors
        found.append(facts)
    return found


def test_form1_rows_read_back_to_the_same_facts():
    entities = [validated(enterprise()), validated(enterprise(above_scale=True, party_organization="standalone",
                                                              no_organization_reason=None, industry="manufacturing")),
                validated(enterprise(kind="rural_entity", subtype="farmers_cooperative", street_code="420116001",
                                     address=None, legal_representative=None, person_in_charge_is_member=True))]
    assert round_trip("form1", entities) == entities


def test_form2_rows_read_back_to_the_same_facts():
    entities = [validated(social()), validated(social(level="district", supervising_department=None,
                                                      public_sector_staffed=None, subtype="law_firm"))]
    assert round_trip("form2", entities) == entities


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","点我")', "+1公司", "-1", "@x", "＝SUM(A1)"])
def test_a_formula_like_name_reads_back_as_the_same_text(name):
    assert round_trip("form1", [validated(enterprise(name=name))])[0]["name"] == name


NAME_CHARS = st.characters(blacklist_categories=("Cc", "Cf", "Co", "Cs", "Cn"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(["=", "+", "-", "@", "＝", "＋", "－", "＠", ""]),
       rest=st.text(NAME_CHARS, min_size=1, max_size=30), person=st.text(NAME_CHARS, min_size=1, max_size=10))
def test_names_drawn_from_text_survive_write_and_read(prefix, rest, person):
    facts, errors = validate_registration(enterprise(name=prefix + rest, person_in_charge=person), VOCABULARY)
    assume(not errors and facts["name"] == prefix + rest)
    assert round_trip("form1", [facts]) == [facts]


def test_the_template_has_the_headers_a_text_code_column_and_the_rules():
    content = form_workbook("form2", forms.FORM_NAMES["form2"], [], forms_out.notes("form2", VOCABULARY))
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == forms_out.headers("form2") and sheet.max_row == 2
    code_column = forms_out.headers("form2").index("统一社会信用代码") + 1
    assert sheet.column_dimensions[sheet.cell(2, code_column).column_letter].number_format == "@"
    rules = {row[0]: row[2] for row in book[NOTES_SHEET].iter_rows(values_only=True)}
    assert "18位" in rules["统一社会信用代码"] and "市级" in rules["层级"]


def test_a_unit_is_written_on_its_own_form_only():
    street = parse_unit("street-420102002", VOCABULARY.territory, VOCABULARY.departments)
    forms_out.form_of(street, "form1")
    with pytest.raises(RuleViolation) as refused:
        forms_out.form_of(street, "form2")
    assert refused.value.field == "form" and "附表1" in refused.value.message


def test_a_row_stating_the_registered_facts_has_no_differences():
    facts = validated(enterprise())
    stated = [c.field for c in forms.FORMS["form1"]]
    assert forms.differences(facts, facts, stated) == []
    assert forms.differences({**facts, "employees": 7}, facts, stated) == ["employees"]
    assert forms.differences({**facts, "address": "别处"}, facts, ["name"]) == []  # a column the file lacks states nothing


def principal(kind: str, territory: str | None = None) -> Principal:
    return Principal(department=f"{kind}:{territory}" if territory else kind, kind=kind, user="t", territory=territory)


@pytest.mark.parametrize("kind,territory,unit", [
    ("street_office", "420102002", "street-420102002"), ("district_org", "420102", "street-420102002"),
    ("district_org", "420102", "district-420102-social"), ("civil_affairs", None, "civil-affairs"),
    ("city_organs_committee", None, "city-organs"), ("city_org", None, "district-420111-enterprise"),
    ("inspector", None, "civil-affairs")])
def test_the_departments_that_submit_a_ledger_and_the_city_may_export_it(kind, territory, unit):
    policy.require_ledger_export(principal(kind, territory), parse_unit(unit, VOCABULARY.territory,
                                                                         VOCABULARY.departments))


@pytest.mark.parametrize("kind,territory,unit", [
    ("district_org", "420111", "street-420102002"), ("street_office", "420102001", "street-420102002"),
    ("civil_affairs", None, "district-420102-social"), ("market_regulation", None, "street-420102002"),
    ("education", None, "civil-affairs")])
def test_another_department_is_refused_naming_the_rule(kind, territory, unit):
    with pytest.raises(Forbidden) as refused:
        policy.require_ledger_export(principal(kind, territory), parse_unit(unit, VOCABULARY.territory,
                                                                             VOCABULARY.departments))
    assert "只能导出本部门报送的台帐" in refused.value.message and refused.value.permission == "ledger.export"
