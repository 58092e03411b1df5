"""The scratch schema and topics every benchmark works in, and their removal afterwards."""

import sqlalchemy as sa
from kafka import KafkaAdminClient


def remove_scratch(engine, schema: str, admin: KafkaAdminClient, topics) -> None:
    """Drop a benchmark's scratch schema and topics, then close the admin client and the engine."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.delete_topics(list(topics))
    admin.close()
    engine.dispose()
