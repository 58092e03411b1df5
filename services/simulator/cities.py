"""A city of its own for an isolated campaign on a shared platform (tests, rehearsals).

The 2016 territory renumbered under a random city code that no other run uses: district and
street codes keep their last digits, so every figure per district is that run's alone. The
services that validate territory codes must run with CAMPAIGN_TERRITORY_FILE naming the file.
"""

import json
import random
from pathlib import Path

from platform_core.reference._files import DATA


def renumbered_city(path: Path, name: str = "模拟市", rng: random.Random | None = None) -> dict:
    """Write the 2016 territory under a fresh city code to ``path``; return it."""
    rng = rng or random.Random()
    raw = json.loads((DATA / "territory-420100-2016.json").read_text(encoding="utf-8"))
    prefix = f"{rng.randint(50, 89)}{rng.randint(10, 99)}"
    raw["code"], raw["name"] = f"{prefix}00", name
    for district in raw["districts"]:
        district["code"] = prefix + district["code"][4:]
        for street in district["streets"]:
            street["code"] = district["code"] + street["code"][6:]
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return raw
