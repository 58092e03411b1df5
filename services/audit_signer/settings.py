"""The signer's settings (environment, prefix ``CAMPAIGN_``); what it needs is read from files, so the
key never sits in an environment other processes inherit."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_core.cosignature import CosignerKey
from platform_core.signed_note import DEFAULT_ORIGIN, NoteError, SignerKey

from .witness_client import WitnessClient

MIN_CLIENT_SECRET = 32


class SignerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore")

    audit_origin: str = DEFAULT_ORIGIN
    # base64 of the 32-byte Ed25519 seed; readable by the signer only (mode 600, or a container secret)
    audit_signing_key_file: Path | None = None
    # the record of the last signed checkpoint and the file of every signed note (a volume of its own)
    signer_state_dir: Path | None = None
    # the secret the reporting service presents (Authorization: Bearer); shared with reporting only
    signer_client_secret_file: Path | None = None
    # loopback only, locally; docker-compose listens on an internal network only reporting joins
    signer_host: str = "127.0.0.1"
    signer_port: int = Field(default=8105, ge=1, le=65535)
    # A witness (python -m audit_signer witness serve) that must cosign every checkpoint, and its public key
    # (<name>+<key id>+<base64 0x04 key>); both or neither.
    signer_witness_url: str | None = None
    signer_witness_key: str | None = None

    def witness(self) -> WitnessClient | None:
        if not self.signer_witness_url and not self.signer_witness_key:
            return None
        if not (self.signer_witness_url and self.signer_witness_key):
            raise RuntimeError("set both CAMPAIGN_SIGNER_WITNESS_URL and CAMPAIGN_SIGNER_WITNESS_KEY, or neither")
        return WitnessClient(self.signer_witness_url, CosignerKey.parse(self.signer_witness_key))

    def signing_key(self) -> SignerKey:
        path = _required(self.audit_signing_key_file, "CAMPAIGN_AUDIT_SIGNING_KEY_FILE", "nothing can be signed")
        try:
            return SignerKey.from_base64_seed(self.audit_origin, path.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            raise RuntimeError(f"CAMPAIGN_AUDIT_SIGNING_KEY_FILE {path}: {exc}") from exc

    def state_dir(self) -> Path:
        return _required(self.signer_state_dir, "CAMPAIGN_SIGNER_STATE_DIR", "the signer keeps no record")

    def client_secret(self) -> str:
        path = _required(self.signer_client_secret_file, "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE",
                         "no caller could be authenticated")
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < MIN_CLIENT_SECRET:
            raise RuntimeError(f"{path}: the client secret must be {MIN_CLIENT_SECRET} characters at least")
        return secret


def _required(path: Path | None, variable: str, consequence: str) -> Path:
    if path is None:
        raise RuntimeError(f"{variable} is not set: {consequence}")
    return path
