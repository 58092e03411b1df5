"""Settings from environment variables (prefix ``CAMPAIGN_``), validated at start-up."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """One settings class for every process; bad configuration fails fast."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore")

    database_url: str = "postgresql+psycopg2://campaign@127.0.0.1:55432/campaign"
    kafka_bootstrap: str = "127.0.0.1:39092"
    topic_partitions: int = Field(default=3, ge=1, le=256)
    max_payload_bytes: int = Field(default=64 * 1024, ge=1024)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # Signs department tokens; no default on purpose (scripts generate one under .run/).
    auth_secret: SecretStr | None = None
    # Encrypts personal data (national ID numbers) and keys their duplicate-detection hash.
    personal_data_key: SecretStr | None = None
    # (No audit signing key: only the signer process holds it, services/audit_signer.)
    # Demo and tests only: requests may name their business time (platform_core.clock). Never in production.
    simulated_clock: bool = False

    def require_auth_secret(self) -> str:
        return _required(self.auth_secret, "CAMPAIGN_AUTH_SECRET", "tokens cannot be checked")

    def require_personal_data_key(self) -> str:
        return _required(self.personal_data_key, "CAMPAIGN_PERSONAL_DATA_KEY", "personal data cannot be protected")

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith("postgresql"):
            raise ValueError("CAMPAIGN_DATABASE_URL must be a postgresql:// URL")
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_port(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"CAMPAIGN_KAFKA_BOOTSTRAP entry {server!r} is not host:port")
        return value


def _required(secret: SecretStr | None, name: str, consequence: str) -> str:
    if secret is None or len(secret.get_secret_value()) < 16:
        raise RuntimeError(f"{name} is not set (16 characters at least): {consequence}")
    return secret.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> PlatformSettings:
    return PlatformSettings()
