"""The faust app: one consumer group (``reporting-projections``) over every event topic.

Not faust's exactly_once mode (open bugs on rebalance): effectively once comes from
committing each batch's projection rows with its offsets in PostgreSQL (runner.py).
"""

import tempfile
from pathlib import Path

import faust
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_core.kafka_io import EVENT_TOPICS, faust_credentials
from platform_core.settings import get_settings
from reporting.adapters.projection_store import PROJECTION_GROUP


class ProcessorSettings(BaseSettings):
    """CAMPAIGN_REPORTING_PROCESSOR_*: where the projections live and what they read (tests use scratch ones)."""

    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_REPORTING_PROCESSOR_")
    schema_name: str = "reporting"
    topics: str = ",".join(EVENT_TOPICS)
    group_id: str = PROJECTION_GROUP
    batch: int = 1000
    # How long a batch may gather. 0.1 s, not 0.5: freshness p99 475 ms instead of 1,042 ms at 600 events/s
    # (bench/freshness.py), for a little more CPU per event (more, smaller transactions).
    within_seconds: float = 0.1
    session_timeout_seconds: float = 30.0  # how soon a killed worker's partitions move (>= the broker's 6 s)
    web_port: int = 6066  # faust binds its web port even with the web disabled: two workers on a host need two
    metrics_port: int = 0  # Prometheus /metrics (events projected, freshness, dead letters); 0 = off
    # faust's local folder (nothing durable: tables are in memory, projections in PostgreSQL); not in the repo
    data_dir: str = str(Path(tempfile.gettempdir()) / "campaign-faust")


processor = ProcessorSettings()
Path(processor.data_dir).mkdir(parents=True, exist_ok=True)  # faust creates only the last level
settings = get_settings()

app = faust.App(
    processor.group_id,
    broker=[f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")],
    broker_credentials=faust_credentials(settings),
    value_serializer="raw", key_serializer="raw",
    datadir=str(Path(processor.data_dir) / processor.group_id),
    web_enabled=False, web_port=processor.web_port, topic_disable_leader=True, store="memory://",
    consumer_auto_offset_reset="earliest", broker_commit_every=500, broker_commit_interval=2.0,
    stream_wait_empty=False, producer_acks=-1,
    broker_session_timeout=processor.session_timeout_seconds,
    broker_heartbeat_interval=min(3.0, processor.session_timeout_seconds / 3),
)
events = app.topic(*processor.topics.split(","), value_type=bytes, key_type=bytes, value_serializer="raw",
                   key_serializer="raw")
