"""The reference client's command file: one command a line; ids derived from the lines make a resend safe."""

import pytest

from platform_core.intake.client import CommandFileError, read_commands
from platform_core.intake.departments import IntakeDepartment

DEPARTMENT = IntakeDepartment("district-420102", "district_org", "420102")


def test_short_types_and_stable_ids(tmp_path):
    path = tmp_path / "commands.jsonl"
    path.write_text('{"type": "registry.submit-ledger", "data": {"unit": "420102002"}}\n\n'
                    '{"type": "cn.gov.wuhan.campaign.registry.approve-ledger.v1", "data": {"unit": "x"}, "id": "a-1"}\n')
    first, second = read_commands(path, DEPARTMENT)
    assert first.type == "cn.gov.wuhan.campaign.registry.submit-ledger.v1"
    assert first.source == "/departments/district-420102"
    assert second.id == "a-1"
    assert read_commands(path, DEPARTMENT)[0].id == first.id  # the same file again: the same ids


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not JSON"), ('{"type": "registry.submit-ledger"}', '"data"'),
    ('{"type": "submit", "data": {}}', "names no command"),
])
def test_a_bad_line_is_named(tmp_path, line, problem):
    path = tmp_path / "commands.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(CommandFileError, match=problem) as refused:
        read_commands(path, DEPARTMENT)
    assert ":1:" in str(refused.value)
