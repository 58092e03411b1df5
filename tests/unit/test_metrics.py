"""observe_all counts like Histogram.observe, one amount at a time (the projections' freshness)."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from platform_core.metrics import observe_all

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
amounts = st.lists(st.one_of(st.sampled_from(BUCKETS), st.floats(min_value=0, max_value=100, allow_nan=False)),
                   max_size=20)


def samples(observe) -> dict[tuple, float]:
    registry = CollectorRegistry()
    histogram = Histogram("freshness_seconds", "test", ["group"], buckets=BUCKETS, registry=registry)
    observe(histogram.labels(group="g"))
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for metric in registry.collect() for s in metric.samples if not s.name.endswith("_created")}


@settings(suppress_health_check=[HealthCheck.too_slow])  # generation, not the code, is slow on a loaded machine
@given(first=amounts, second=amounts)
def test_observe_all_leaves_the_same_histogram_as_observing_each(first, second):
    def one_by_one(child):
        for amount in first + second:
            child.observe(amount)

    def in_batches(child):
        observe_all(child, first)
        observe_all(child, second)

    expected, got = samples(one_by_one), samples(in_batches)
    total = ("freshness_seconds_sum", (("group", "g"),))
    assert math.isclose(got.pop(total), expected.pop(total), rel_tol=1e-9, abs_tol=1e-9)  # summed in another order
    assert got == expected  # every bucket and the count exactly
