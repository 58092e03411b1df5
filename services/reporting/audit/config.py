"""Audit-log settings (env prefix ``CAMPAIGN_AUDIT_``); the signing key itself comes from
``PlatformSettings.require_audit_signing_key()`` and is never committed."""

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_AUDIT_", extra="ignore")

    # The log's identity: first line of every checkpoint, and the key name of its signature.
    origin: str = "campaign.example/wuhan-2016/audit"
    # The consumer process signs a checkpoint this often when the log grew; 0 turns the schedule off.
    checkpoint_interval_seconds: float = Field(default=300.0, ge=0)

    @field_validator("origin")
    @classmethod
    def _origin_is_a_key_name(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value) or "+" in value:
            raise ValueError("CAMPAIGN_AUDIT_ORIGIN must be non-empty, without spaces or '+'")
        return value
