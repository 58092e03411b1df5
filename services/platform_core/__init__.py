"""The one shared library of the platform.

Every service imports its envelope, event store, outbox relay, Kafka I/O,
projection consumer, metrics, logging and HTTP scaffolding from here; no
service keeps its own copy.
"""
