"""Prometheus metrics shared by every process of the platform."""

import logging
from bisect import bisect_left
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest, start_http_server

def observe_all(histogram, amounts: Iterable[float]) -> None:
    """``histogram.observe(a)`` for every amount, with one lock taken per bucket touched instead of two per
    amount: a projection observes each event of its batches (1,000 at a time), and one observation cost
    about as much as parsing a fifth of the event. Reads the labelled child's buckets as prometheus_client
    keeps them (``_upper_bounds``, ``_buckets``, ``_sum``; tests/unit/test_metrics.py holds it to
    ``observe``)."""
    bounds = histogram._upper_bounds  # ascending, the last +Inf
    counts = [0] * len(bounds)
    total = 0.0
    for amount in amounts:
        total += amount
        counts[bisect_left(bounds, amount)] += 1  # the first bound >= amount, as observe's "amount <= bound"
    if not any(counts):
        return
    histogram._sum.inc(total)
    for bucket, count in zip(histogram._buckets, counts):
        if count:
            bucket.inc(count)


HTTP_REQUESTS = Counter(
    "campaign_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "campaign_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_APPENDED = Counter(
    "campaign_events_appended_total", "Events appended to a service's event store", ["service", "type"])
GROUP_COMMIT_COMMANDS = Histogram(
    "campaign_group_commit_commands", "Commands written in one shared transaction (group commit)", ["service"],
    buckets=(2, 4, 8, 16, 32, 64, 128))
EVENTS_PUBLISHED = Counter(
    "campaign_events_published_total", "Outbox events published to Kafka", ["service", "topic"])
OUTBOX_BACKLOG = Gauge(
    "campaign_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "campaign_consumer_lag", "Records between a projection's position and the partition end",
    ["group", "topic", "partition"])
PROJECTION_FRESHNESS = Histogram(
    "campaign_projection_freshness_seconds", "From an event's recorded_at to its projection commit",
    ["group"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENTS_PROJECTED = Counter(
    "campaign_events_projected_total", "Events applied to a projection", ["group"])
DEAD_LETTERS = Counter(
    "campaign_dead_letters_total", "Messages sent to the dead-letter topic", ["group", "reason"])
# A message the broker would not take even as a dead letter: kept in PostgreSQL and skipped. Alert on any.
DEAD_LETTERS_UNDELIVERED = Counter(
    "campaign_dead_letters_undelivered_total", "Messages that could not be dead-lettered (recorded in PostgreSQL)",
    ["group"])

# The audit signer (services/audit_signer): what it signed and what it refused, by reason.
AUDIT_SIGNER_CHECKPOINTS = Counter(
    "campaign_audit_signer_checkpoints_total", "Checkpoints the audit signer signed", ["reason"])
AUDIT_SIGNER_REFUSALS = Counter(
    "campaign_audit_signer_refusals_total", "Tree heads the audit signer refused to sign", ["reason"])
AUDIT_WITNESS_COSIGNED = Counter(
    "campaign_audit_witness_cosignatures_total", "Checkpoints the audit witness cosigned")
AUDIT_WITNESS_REFUSALS = Counter(
    "campaign_audit_witness_refusals_total", "Checkpoints the audit witness refused to cosign", ["reason"])
AUDIT_SIGNER_TREE_SIZE = Gauge(
    "campaign_audit_signer_signed_tree_size", "Tree size of the last checkpoint the audit signer signed", ["origin"])


def serve_worker_metrics(port: int, host: str = "127.0.0.1") -> bool:
    """Serve this worker process's /metrics on ``host:port`` (0: not at all). A port already taken is logged and
    the worker runs on without it: its work matters more than its figures, and the scrape alerts on it."""
    if not port:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        logging.getLogger(__name__).error("cannot serve /metrics on %s:%d: %s", host, port, exc)
        return False
    return True


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text and its content type, for a /metrics endpoint."""
    return generate_latest(), CONTENT_TYPE_LATEST

# The Kafka intake (platform_core.intake): commands by outcome, and outcomes published to intake.<department>.results.
INTAKE_COMMANDS = Counter(
    "campaign_intake_commands_total", "Intake commands by outcome (accepted, refused, malformed, failed)",
    ["service", "status"])
INTAKE_OUTCOMES_PUBLISHED = Counter(
    "campaign_intake_outcomes_published_total", "Intake outcomes published to intake.<department>.results", ["service"])
