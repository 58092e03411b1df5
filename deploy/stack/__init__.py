"""Local stack manager: a private Kafka broker and a private PostgreSQL cluster.

Usage: python3 deploy/stack.py up|down|status|env (the entry point; this package holds the parts:
settings, system helpers, the Kafka protocol probe, Kafka, PostgreSQL, local secrets, the CLI).

Why this exists: the project's machines have no Docker and no Kafka download site, only PyPI,
Maven Central and the Debian package repository. So Kafka 3.9.1 is assembled from Maven Central
jars and started with ``java`` (single-node KRaft), and PostgreSQL runs as a private cluster from
the OS packages (``initdb`` + ``pg_ctl``) on its own port and data folder. Background facts:
docs/architecture.md ("Running") for the Maven coordinates, runtime scope and KRaft settings.

This file uses the Python standard library only, so it runs before any virtualenv exists.

Settings (environment variables):
  CAMPAIGN_RUN_DIR                 default <repo root>/.run   all state lives below it
  CAMPAIGN_KAFKA_PORT              default 39092              broker (PLAINTEXT) listener
  CAMPAIGN_KAFKA_CONTROLLER_PORT   default 39093              KRaft controller listener
  CAMPAIGN_PG_PORT                 default 55432              PostgreSQL
Everything listens on 127.0.0.1 only.
"""
