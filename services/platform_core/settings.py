"""Settings from environment variables (prefix ``CAMPAIGN_``), validated at start-up."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .services import SERVICES


class LogSettings(BaseSettings):
    """How a process logs: every process's, the audit signer's and its witness's too (they need nothing else here)."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore")

    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # A worker process (`campaign relay`, `campaign consume`) serves Prometheus /metrics here: its lag,
    # events published and projected, dead letters, freshness. 0 = none (scripts/services.sh sets one each).
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # The name a worker process keeps its heartbeat under (deploy/stack/processes.py sets one per relay and
    # consumer); unnamed workers keep none. A named worker beats this often; its service's /readyz calls it dead after
    # worker_stale_after_s of silence (platform_core.workers).
    worker_name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9.:_-]*$")
    worker_heartbeat_s: float = Field(default=5.0, gt=0, le=300)
    worker_stale_after_s: float = Field(default=30.0, gt=0, le=3600)


class PlatformSettings(LogSettings):
    """One settings class for every service process; bad configuration fails fast. A service's bootstrap
    reads what is its own from here and hands it to the parts it wires."""

    # The process's own role; its password in a libpq password file the URL names (``?passfile=``) ...
    database_url: str = "postgresql+psycopg2://campaign@127.0.0.1:55432/campaign"
    # ... or in this file (containers: platform_core.db.create_db_engine says why)
    database_password_file: Path | None = None
    # A streaming-replication standby the query endpoints may read from (the same role and password), while
    # its replay is at most read_max_lag_s behind the primary; else they read from the primary
    # (platform_core.read_replica, docs/operations.md). Unset: every read goes to the primary.
    read_database_url: str | None = None
    read_max_lag_s: float = Field(default=5.0, gt=0, le=3600)
    kafka_bootstrap: str = "127.0.0.1:39092"
    # Kafka login (docs/security.md): the process's own principal, its password in a file. The local
    # stack speaks SASL_PLAINTEXT on loopback; production SASL_SSL (CA file for the broker's certificate).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    topic_partitions: int = Field(default=3, ge=1, le=256)
    # Copies of each topic `campaign topics` makes: 1 on one broker, 3 on a cluster (`stack.py up --brokers 3`
    # sets it); from 3 on, a write needs 2 in-sync copies (min.insync.replicas) and producers wait for all.
    topic_replication_factor: int = Field(default=1, ge=1, le=5)
    # An event's payload (the event store refuses a larger one, 413): at most a quarter of the 1 MiB a
    # producer may send and the broker accepts (platform_core.kafka_io.MAX_REQUEST_SIZE), so the envelope,
    # its headers and a dead-letter copy's headers always fit beside it.
    max_payload_bytes: int = Field(default=64 * 1024, ge=1024, le=256 * 1024)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Group commit (platform_core.group_commit): up to this many commands that a service process runs at the
    # same moment are written in one transaction, each in a savepoint; 1 (the default) writes each in its own.
    # Off by default: on this 2-core machine it measured no faster (docs/performance.md, "Group commit").
    group_commit_max: int = Field(default=1, ge=1, le=1000)
    # ... with up to this many groups running their commands at once (a second one's Python overlaps the
    # first's waits on PostgreSQL).
    group_commit_executing: int = Field(default=2, ge=1, le=64)
    # A file upload (multipart/form-data: the registry's imports) may be this large; every other body
    # max_request_bytes. Both are counted as the bytes arrive, chunked bodies included (platform_core.http).
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # An imported sheet (附表1/附表2, verification lists) may have this many data rows; more is refused
    # before its cells are read (registry.adapters.spreadsheet).
    import_max_rows: int = Field(default=100_000, ge=1)
    # Department tokens (platform_core.tokens): services hold the issuer's PUBLIC keys (a JWK Set, by kid);
    # only the issuer (the operator's `campaign token`, the demo simulator) reads the private key file.
    # No defaults on purpose: deploy/stack.py generates both under .run/secrets/ for local use.
    token_public_keys_file: Path | None = None
    token_issuer_key_file: Path | None = None
    # The audience every token names; a token issued for another platform (another audience) is refused.
    token_audience: str = Field(default="campaign-platform", min_length=1, max_length=200)
    # Membership's personal data master key ring (platform_core/vault.py): one or more secrets, newest
    # first, separated by whitespace; wraps each member's data key and keys the duplicate-detection hash.
    personal_data_key: SecretStr | None = None
    # The registry's own master key ring, for entity persons: a file, one secret per line, newest first.
    registry_personal_data_key_file: Path | None = None
    # (No audit signing key: only the signer process holds it, services/audit_signer.)
    # Another city's territory JSON (platform_core.reference), every service alike; default: the 2016 city.
    territory_file: Path | None = None
    # The departments' systems on the Kafka intake (docs/intake.md); default: the bundled table.
    intake_departments_file: Path | None = None
    # Reporting over another schema: a separate instance with its own projections, reports, bulletins and
    # audit log (an isolated simulated campaign on a shared stack).
    reporting_schema: str = "reporting"
    # The CJK font file bulletin charts are drawn with, tried before the known ones.
    reporting_cjk_font: Path | None = None
    # Where browsers reach the registry's API: the dashboard's 表格下载 page links to its blank forms there.
    # Default: the host the dashboard was reached on, at the registry's port (CAMPAIGN_REGISTRY_PORT).
    registry_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # The 通报's red header (its issuer), its 文号's prefix (武组通〔year〕N号) and its 主送 line (recipients
    # separated by "，" or ","): docs/reporting.md, "The 通报".
    reporting_bulletin_issuer: str = Field(default="中共武汉市委组织部", min_length=1, max_length=40)
    reporting_bulletin_number_prefix: str = Field(default="武组通", min_length=1, max_length=12)
    reporting_bulletin_recipients: str = Field(
        default="各区委组织部，市直机关工委，市民政局，市工商联，各有关市直部门党组（党委）", min_length=1, max_length=400)
    # As-of snapshots (docs/reporting.md, "As-of figures"): one every this many events, besides each bulletin
    # cutoff and report deadline; an as-of question folds at most about this many events after its snapshot.
    reporting_as_of_snapshot_every: int = Field(default=20000, ge=100, le=10_000_000)
    # Demo and tests only: requests may name their business time (platform_core.clock). Never in production.
    simulated_clock: bool = False

    def require_personal_data_key(self) -> str:
        return _required(self.personal_data_key, "CAMPAIGN_PERSONAL_DATA_KEY", "personal data cannot be protected")

    def require_registry_personal_data_key(self) -> str:
        name, path = "CAMPAIGN_REGISTRY_PERSONAL_DATA_KEY_FILE", self.registry_personal_data_key_file
        if path is None:
            return _required(None, name, "entity persons' personal data cannot be protected")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuntimeError(f"{name} {path} cannot be read ({exc.strerror})") from None
        return _required(SecretStr(text.strip()), name, "entity persons' personal data cannot be protected")

    @model_validator(mode="after")
    def _kafka_login_complete(self) -> "PlatformSettings":
        if self.kafka_security_protocol.startswith("SASL") and not (self.kafka_username and self.kafka_password_file):
            raise ValueError(f"CAMPAIGN_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "CAMPAIGN_KAFKA_USERNAME and CAMPAIGN_KAFKA_PASSWORD_FILE")
        return self

    def kafka_password(self) -> str:
        """The principal's password, read from its file when a client is built (never from the environment)."""
        try:
            password = self.kafka_password_file.read_text(encoding="utf-8").strip()
        except (AttributeError, OSError) as exc:
            raise RuntimeError(f"CAMPAIGN_KAFKA_PASSWORD_FILE={self.kafka_password_file} cannot be read: {exc}") from exc
        if not password:
            raise RuntimeError(f"CAMPAIGN_KAFKA_PASSWORD_FILE={self.kafka_password_file} is empty")
        return password

    @field_validator("territory_file", "intake_departments_file", "reporting_cjk_font", "reporting_schema",
                     "read_database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object, info) -> object:
        return cls.model_fields[info.field_name].default if value == "" else value

    @field_validator("reporting_schema")
    @classmethod
    def _schema_identifier(cls, value: str) -> str:
        if not value.replace("_", "").isalnum() or not value[0].isalpha() or value != value.lower():
            raise ValueError(f"CAMPAIGN_REPORTING_SCHEMA must be a lower-case identifier, got {value!r}")
        return value

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _postgres_only(cls, value: str | None, info) -> str | None:
        if value is not None and not value.startswith("postgresql"):
            raise ValueError(f"CAMPAIGN_{info.field_name.upper()} must be a postgresql:// URL")
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


class _PortSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", extra="ignore")


# CAMPAIGN_<SERVICE>_PORT: where scripts/services.sh starts each service's HTTP app on this machine
ServicePorts = create_model("ServicePorts", __base__=_PortSettings, **{
    f"{s.name}_port": (int, Field(default=s.default_port, ge=1, le=65535)) for s in SERVICES})


def local_service_urls() -> dict[str, str]:
    """Each service's URL on this machine, for the clients that run beside it (the simulator, scripts)."""
    ports = ServicePorts()
    return {s.name: f"http://127.0.0.1:{getattr(ports, f'{s.name}_port')}" for s in SERVICES}
