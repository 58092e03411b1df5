"""The compiled accelerations the measured throughput depends on are installed (docs/performance.md).

Each has a pure-Python fallback that works, only slower, so a missing wheel would not fail any other
test: it would quietly cost a third of the relay's CPU (CRC-32C) or much of uvicorn's.
"""

import importlib

from kafka.record import util as kafka_record_util


def test_kafka_python_checksums_record_batches_in_c():
    assert kafka_record_util._crc32c is not kafka_record_util.crc32c_py
    assert kafka_record_util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283  # the CRC-32C check value


def test_uvicorn_runs_on_uvloop_and_httptools():
    for module in ("uvloop", "httptools"):
        importlib.import_module(module)
