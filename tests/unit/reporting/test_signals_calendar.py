"""The detectors' thresholds live in the campaign calendar, each with the reason for its default."""

import json

import pytest

from platform_core.reference import load_calendar
from platform_core.reference._files import read_json
from platform_core.reference.campaign_calendar import DETECTOR_THRESHOLDS, DetectorPolicy


def test_every_threshold_of_the_default_campaign_has_its_reason():
    policy = load_calendar().detectors
    for name in DETECTOR_THRESHOLDS:
        assert len(policy.reason(name)) > 40, name
    assert policy.values() == DetectorPolicy().values()  # the file's figures are the documented defaults


def test_another_campaign_sets_its_own_thresholds(tmp_path):
    raw = dict(read_json(None, "campaign-wuhan-2016.json"))
    raw["detectors"] = {"checks_max_per_window": 10, "mismatch_alpha": 0.05}
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    policy = load_calendar(path).detectors
    assert policy.checks_max_per_window == 10 and policy.mismatch_alpha == 0.05 and policy.jump_min_figure == 5


@pytest.mark.parametrize("detectors", [{"checks_max_per_window": 0}, {"mismatch_alpha": 1.5}, {"unknown": 1}])
def test_a_bad_threshold_is_refused(tmp_path, detectors):
    raw = dict(read_json(None, "campaign-wuhan-2016.json"))
    raw["detectors"] = detectors
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="detectors"):
        load_calendar(path)
