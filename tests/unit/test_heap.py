"""Freezing the startup heap: once per process, and garbage made afterwards is still collected."""

import gc
import weakref

from platform_core.heap import freeze_startup_heap


class _Node:
    pass


def test_the_startup_heap_is_frozen_once_and_later_garbage_is_still_collected():
    frozen = freeze_startup_heap()
    assert frozen > 0 and gc.get_freeze_count() == frozen
    assert freeze_startup_heap() == frozen  # a second start in the same process changes nothing

    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    assert alive() is None
