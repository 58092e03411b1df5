"""Each consumer principal may read every topic its projections subscribe to, under its own group prefix: a
projection left without a grant never learns anything and its service refuses commands for good."""

from types import SimpleNamespace

import pytest

from deploy.stack.kafka_access import KAFKA_ACCESS
from platform_core.services import load_bootstrap

# principal -> (service, the projections its process runs: scripts/services.sh, docker-compose.yml)
CONSUMERS = {"membership-consumer": ("membership", None), "formation-consumer": ("formation", None),
             "reporting-consumer": ("reporting", {"audit-log"}), "reporting-processor": ("reporting", {"coverage"}),
             "reporting-signals": ("reporting", {"signals"})}


@pytest.mark.parametrize("principal", sorted(CONSUMERS))
def test_the_consumer_may_read_what_its_projections_subscribe_to(principal):
    service, names = CONSUMERS[principal]
    access = KAFKA_ACCESS[principal]
    specs = load_bootstrap(service).build_projections(SimpleNamespace(schema=service))
    run = [spec for spec in specs if names is None or spec.name in names]
    assert run and (names is None or {spec.name for spec in run} == names), principal
    for spec in run:
        assert set(spec.topics) <= set(access.reads), spec.group_id
        assert any(spec.group_id.startswith(prefix) for prefix in access.group_prefixes), spec.group_id
    assert access.dead_letters
