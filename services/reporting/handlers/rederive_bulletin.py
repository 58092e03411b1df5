"""The offline verifier's bulletin check (a ``reporting.audit.verify.Rederiver``): re-derive a
published bulletin's figures from the log prefix its checkpoint covers and compare them, byte
for byte, with the published data file (figures.json).

Uses the same fold, status derivation, rate functions and assembly as the projections.
"""

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from platform_core.contracts import every_event_type
from platform_core.envelope import EventEnvelope
from platform_core.errors import PlatformError
from reporting.domain.bulletin import FIGURES_FORMAT, RULES_VERSION
from reporting.domain.rederive import fold_events
from reporting.domain.reports import end_of_day
from reporting.handlers.bulletin_figures import assemble, standalone_start

REGISTRY = every_event_type()


class BulletinRederiver:
    """Checks one bulletin at the checkpoint it carries (``tree_size``)."""

    def __init__(self, figures: bytes, tree_size: int):
        self.figures = figures
        self.data = json.loads(figures)
        self.tree_size = tree_size
        self.name = f"bulletin {self.data['cutoff_date']}"

    @classmethod
    def from_directory(cls, folder: Path) -> "BulletinRederiver":
        """A folder with figures.json and manifest.json (``cli export-bulletin`` writes both)."""
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return cls((folder / "figures.json").read_bytes(), int(manifest["checkpoint_tree_size"]))

    def applies_to(self, size: int) -> bool:
        return size == self.tree_size

    def check(self, events: Sequence[bytes], checkpoint) -> list[str]:
        if checkpoint.size != self.tree_size:
            return []
        envelopes = []
        for number, raw in enumerate(events, start=1):
            try:
                envelope = EventEnvelope.from_bytes(raw)
            except PlatformError as exc:
                return [f"events line {number} cannot be read: {exc.message}"]
            try:
                envelopes.append(REGISTRY.readable(envelope))
            except PlatformError:
                continue  # logged as published, but no projection applies it (an unknown type, off its contract)
        return self.compare(envelopes)

    def compare(self, envelopes: list[EventEnvelope]) -> list[str]:
        published_rules = self.data.get("rules_version", 1)
        if published_rules != RULES_VERSION:
            return [f"published under counting rules version {published_rules}; this verifier derives version "
                    f"{RULES_VERSION} (docs/rules.md): run the verifier of the release that published it"]
        figures_format = self.data.get("figures_format", 1)
        if figures_format > FIGURES_FORMAT:
            return [f"data file format {figures_format} is newer than this verifier's ({FIGURES_FORMAT}): "
                    "run the verifier of the release that published it"]
        cutoff = date.fromisoformat(self.data["cutoff_date"])
        previous = self.data["previous_cutoff_date"]
        previous = date.fromisoformat(previous) if previous else None
        now = fold_events(envelopes, end_of_day(cutoff))
        before = fold_events(envelopes, end_of_day(previous)) if previous else None
        start = standalone_start(cutoff) if figures_format >= 2 else None
        at_start = fold_events(envelopes, end_of_day(start)) if start else None
        # The document (文号, 主送, narrative) is written, not derived: taken as published here; the verifier checks
        # the whole data file's SHA-256 against the BulletinPublished event in the log (docs/audit.md).
        derived = replace(assemble(now, before, cutoff, previous, at_start, start, figures_format),
                          document=self.data.get("document"))
        if derived.data_bytes() == self.figures:
            return []
        return differences(derived.as_dict(), self.data) or ["the data file differs from the re-derived figures"]


def differences(derived: dict, published: dict, path: str = "", limit: int = 20) -> list[str]:
    """Where two figure documents differ (first ``limit`` places)."""
    found: list[str] = []

    def walk(a, b, where):
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            found.append(f"{where}: published {json.dumps(b, ensure_ascii=False)}, "
                         f"re-derived from the log {json.dumps(a, ensure_ascii=False)}")

    walk(derived, published, path)
    return found
