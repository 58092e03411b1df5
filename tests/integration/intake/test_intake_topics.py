"""The intake's topics are created with a bounded retention (commands carry personal data in clear)."""

import uuid

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from platform_core.intake.departments import INTAKE_RETENTION_MS
from platform_core.kafka_io import ensure_topics, kafka_options


def test_a_topic_is_created_with_its_configuration(settings):
    topic = f"intake.t{uuid.uuid4().hex[:8]}"
    assert ensure_topics(settings.kafka_bootstrap, 1, (topic,), {topic: {"retention.ms": str(INTAKE_RETENTION_MS)}}) \
        == [topic]
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        assert described["topic"][topic]["retention.ms"]["value"] == str(INTAKE_RETENTION_MS)
    finally:
        admin.delete_topics([topic])
        admin.close()
