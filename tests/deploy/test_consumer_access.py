"""Each service's consumer principal may read every topic its projections subscribe to, under its own group
prefix: a projection left without a grant never learns anything and its service refuses commands for good."""

from types import SimpleNamespace

import pytest

from deploy.stack.kafka_access import KAFKA_ACCESS
from formation.bootstrap import build_projections as formation_projections
from membership.bootstrap import build_projections as membership_projections


@pytest.mark.parametrize("principal, build", [("membership-consumer", membership_projections),
                                              ("formation-consumer", formation_projections)])
def test_the_consumer_may_read_what_its_projections_subscribe_to(principal, build):
    access = KAFKA_ACCESS[principal]
    for spec in build(SimpleNamespace(schema=principal.split("-")[0])):
        assert set(spec.topics) <= set(access.reads), spec.group_id
        assert any(spec.group_id.startswith(prefix) for prefix in access.group_prefixes), spec.group_id
    assert access.dead_letters
