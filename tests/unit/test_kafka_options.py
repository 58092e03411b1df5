"""Kafka client options come from settings in one place (platform_core.kafka_io), the password from a file."""

import os

import pytest
from pydantic import ValidationError

from platform_core.kafka_io import aiokafka_options, kafka_options
from platform_core.settings import PlatformSettings


@pytest.fixture(autouse=True)
def no_kafka_login_in_the_environment(monkeypatch):
    """Settings read the environment too; these tests give every value themselves."""
    for variable in [v for v in os.environ if v.startswith("CAMPAIGN_KAFKA_")]:
        monkeypatch.delenv(variable)


def sasl(tmp_path, password: str = "s3cret-from-a-file") -> PlatformSettings:
    secret = tmp_path / "relay.password"
    secret.write_text(password + "\n")
    return PlatformSettings(kafka_bootstrap="broker:9092", kafka_security_protocol="SASL_PLAINTEXT",
                            kafka_username="registry-relay", kafka_password_file=secret)


def test_plaintext_options_carry_no_login():
    options = kafka_options(settings=PlatformSettings(kafka_bootstrap="broker:9092"))
    assert options == {"bootstrap_servers": "broker:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_options_name_the_principal_and_read_its_password_file(tmp_path):
    options = kafka_options(settings=sasl(tmp_path))
    assert options == {"bootstrap_servers": "broker:9092", "security_protocol": "SASL_PLAINTEXT",
                       "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "registry-relay",
                       "sasl_plain_password": "s3cret-from-a-file"}
    assert kafka_options("other:1", settings=sasl(tmp_path))["bootstrap_servers"] == "other:1"
    assert aiokafka_options(settings=sasl(tmp_path))["sasl_plain_password"] == "s3cret-from-a-file"


def test_sasl_without_a_principal_or_a_password_file_fails_fast(tmp_path):
    with pytest.raises(ValidationError, match="CAMPAIGN_KAFKA_USERNAME and CAMPAIGN_KAFKA_PASSWORD_FILE"):
        PlatformSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="registry-relay")
    with pytest.raises(ValidationError):
        PlatformSettings(kafka_security_protocol="SSL")  # not a protocol the platform speaks


def test_an_unreadable_or_empty_password_file_is_named(tmp_path):
    settings = PlatformSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="x",
                                kafka_password_file=tmp_path / "missing")
    with pytest.raises(RuntimeError, match="CAMPAIGN_KAFKA_PASSWORD_FILE=.*missing"):
        kafka_options(settings=settings)
    with pytest.raises(RuntimeError, match="is empty"):
        kafka_options(settings=sasl(tmp_path, password=""))
