"""The reporting projections' faust-streaming processor: ``python -m reporting.processors worker``."""
