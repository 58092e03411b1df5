"""Finding and reading the bundled JSON files (or a caller's own file)."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")


def read_json(path: str | Path | None, default_name: str) -> dict[str, Any]:
    """The JSON object in ``path``, or the bundled ``data/<default_name>`` when no path is given."""
    return _read(str(Path(path) if path is not None else DATA / default_name))


@lru_cache(maxsize=32)
def _read(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        value = json.load(handle)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return value
