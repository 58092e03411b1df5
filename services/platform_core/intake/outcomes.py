"""An outcome on ``intake.<department>.results``: keyed by the department, CloudEvents binary mode, the stored JSON as value."""

from .cloudevents import CloudEvent, binary_headers
from .command_types import NAMESPACE

OUTCOME_TYPE = f"{NAMESPACE}.intake.outcome.v1"


def outcome_record(service: str, row_id: int, department: str, ce_id: str,
                   outcome: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(value, key, headers) for ``KafkaProducer.send(topic, value, key, headers)``; the outcome's subject is the
    command's ce_id, its own id the service's outcome row."""
    headers = binary_headers(CloudEvent(id=f"{service}-outcome-{row_id}", source=f"/campaign/{service}/intake",
                                        type=OUTCOME_TYPE, subject=ce_id))
    return outcome, department.encode("utf-8"), headers
