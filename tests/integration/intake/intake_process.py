"""The registry's intake as a process of its own over a scratch schema (the kill -9 test): argv is the schema,
the consumer group and the departments as JSON. Runs until killed."""

import json
import sys
import threading

from platform_core.contracts import event_types_for
from platform_core.intake.applier import IntakeApplier
from platform_core.intake.departments import IntakeDepartment
from platform_core.kafka_io import DeadLetterPublisher, create_producer
from platform_core.projection_consumer import ProjectionConsumer
from platform_core.service import bootstrap_service
from registry.bootstrap import build_registry
from registry.entrypoints.intake import intake_commands


def main(schema: str, group: str, departments_json: str) -> None:
    context = bootstrap_service("registry", event_types_for("registry"), schema=schema)
    departments = tuple(IntakeDepartment(**row) for row in json.loads(departments_json))
    producer = create_producer(context.settings.kafka_bootstrap, "intake-kill-test")
    applier = IntakeApplier("registry", schema, context.engine, intake_commands(build_registry(context)), departments,
                            ("registry",), DeadLetterPublisher(producer), producer, group_id=group)
    consumer = ProjectionConsumer(context.engine, context.settings.kafka_bootstrap, [d.topic for d in departments],
                                  applier, max_records=40)
    print("running", flush=True)
    consumer.run(threading.Event())


if __name__ == "__main__":
    main(*sys.argv[1:4])
