"""Audit-log settings (env prefix ``CAMPAIGN_AUDIT_``, and the signer's address). Reporting never holds the
signing key: it asks the signer process (services/audit_signer), authenticated by a client secret file."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_core.signed_note import DEFAULT_ORIGIN

from .signer_client import SignerClient, SignerUnavailable


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_AUDIT_", extra="ignore")

    # The log's identity: first line of every checkpoint, and the key name of its signature.
    origin: str = DEFAULT_ORIGIN
    # The consumer process signs a checkpoint this often when the log grew; 0 turns the schedule off.
    checkpoint_interval_seconds: float = Field(default=300.0, ge=0)
    # The signer: CAMPAIGN_SIGNER_URL, or 127.0.0.1 on CAMPAIGN_SIGNER_PORT.
    signer_url: str | None = Field(default=None, validation_alias="CAMPAIGN_SIGNER_URL")
    signer_port: int = Field(default=8105, ge=1, le=65535, validation_alias="CAMPAIGN_SIGNER_PORT")
    # The secret reporting presents to the signer (shared with the signer only).
    signer_client_secret_file: Path | None = Field(default=None, validation_alias="CAMPAIGN_SIGNER_CLIENT_SECRET_FILE")

    @field_validator("origin")
    @classmethod
    def _origin_is_a_key_name(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value) or "+" in value:
            raise ValueError("CAMPAIGN_AUDIT_ORIGIN must be non-empty, without spaces or '+'")
        return value

    def signer_client(self) -> SignerClient:
        if self.signer_client_secret_file is None:
            raise SignerUnavailable("CAMPAIGN_SIGNER_CLIENT_SECRET_FILE is not set: reporting cannot ask the signer "
                                    "for a checkpoint")
        try:
            secret = self.signer_client_secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SignerUnavailable(f"the signer's client secret cannot be read: {exc}") from exc
        return SignerClient(self.signer_url or f"http://127.0.0.1:{self.signer_port}", secret, self.origin)
