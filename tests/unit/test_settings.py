import pytest
from pydantic import ValidationError

from platform_core.settings import PlatformSettings


def test_defaults_point_at_the_local_stack(monkeypatch):
    for variable in ("CAMPAIGN_DATABASE_URL", "CAMPAIGN_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(variable, raising=False)
    settings = PlatformSettings(_env_file=None)
    assert settings.kafka_bootstrap.endswith(":39092")
    assert ":55432/" in settings.database_url


@pytest.mark.parametrize("env, value", [
    ("CAMPAIGN_DATABASE_URL", "mysql://x"),
    ("CAMPAIGN_KAFKA_BOOTSTRAP", "localhost"),
    ("CAMPAIGN_TOPIC_PARTITIONS", "0"),
])
def test_bad_configuration_fails_fast(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError):
        PlatformSettings()
