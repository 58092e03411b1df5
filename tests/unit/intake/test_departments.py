"""The intake's departments table: names, topics, principals; a bad table fails at load."""

import json

import pytest

from platform_core.auth import PERMISSIONS
from platform_core.intake.departments import load_intake_departments


def test_the_bundled_table_names_known_kinds_and_one_topic_each():
    departments = load_intake_departments()
    assert {d.kind for d in departments} <= set(PERMISSIONS)
    district = next(d for d in departments if d.name == "district-420102")
    assert (district.topic, district.results_topic, district.kafka_principal, district.department) == (
        "intake.district-420102", "intake.district-420102.results", "intake-district-420102", "district_org:420102")
    topics = [topic for d in departments for topic in (d.topic, d.results_topic)]
    assert len(topics) == len(set(topics))  # names have no dots: no command topic is another's results topic


@pytest.mark.parametrize("rows, problem", [
    ([{"name": "Market Regulation", "kind": "market_regulation"}], "lower-case"),
    ([{"name": "market.results", "kind": "market_regulation"}], "lower-case"),  # a dot could clash with a topic
    ([{"name": "tax"}], "no kind"),
    ([{"name": "tax", "kind": "tax"}, {"name": "tax", "kind": "tax"}], "twice"),
])
def test_a_bad_table_is_refused(tmp_path, rows, problem):
    path = tmp_path / "departments.json"
    path.write_text(json.dumps({"departments": rows}))
    with pytest.raises(ValueError, match=problem):
        load_intake_departments(path)


def test_a_department_s_source_is_its_own_unless_the_table_names_one(tmp_path):
    path = tmp_path / "departments.json"
    path.write_text(json.dumps({"departments": [{"name": "tax", "kind": "market_regulation"},
                                                {"name": "civil", "kind": "civil_affairs", "source": "urn:civil:ledger"}]}))
    tax, civil = load_intake_departments(path)
    assert (tax.source, civil.source) == ("/departments/tax", "urn:civil:ledger")
    path.write_text(json.dumps({"departments": [{"name": "tax", "kind": "market_regulation", "source": " "}]}))
    with pytest.raises(ValueError, match="source"):
        load_intake_departments(path)
