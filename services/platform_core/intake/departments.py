"""Which departments' systems may write commands to the intake, and as whom (configuration, docs/intake.md).

Standard library only: the local stack (deploy/stack/kafka_access.py) reads the same table to give each
department's Kafka principal WRITE on its own topic, before any virtualenv exists.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

BUNDLED = Path(__file__).resolve().parents[1] / "reference" / "data" / "intake-departments.json"
# Commands carry personal data in clear (a person in charge, a member's name and identity number) and outcomes
# the HTTP answers: the intake's topics keep them 3 days, enough to ride out an outage (docs/intake.md). Each
# department reads its outcomes on a topic of its own: an ACL cannot tell one key of a shared topic from another.
INTAKE_RETENTION_MS = 3 * 24 * 3600 * 1000
TOPIC_PREFIX = "intake."
NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class IntakeDepartment:
    """A department system: its topic, its Kafka principal, and the scope its commands run with."""

    name: str  # e.g. "market-regulation", "district-420102"
    kind: str  # a department kind of platform_core.auth.PERMISSIONS
    territory: str | None = None
    sectors: tuple[str, ...] = ()
    user: str = "intake"
    ce_source: str | None = None  # the table's "source"; by default /departments/<name>

    @property
    def source(self) -> str:
        """The ``ce_source`` its commands must carry (CloudEvents' producer context): a command on its topic
        naming another source is refused (docs/intake.md, "Attributes checked")."""
        return self.ce_source or f"/departments/{self.name}"

    @property
    def topic(self) -> str:
        return f"{TOPIC_PREFIX}{self.name}"

    @property
    def results_topic(self) -> str:
        """Where its commands' outcomes go; only its own principal may read it (a name has no dots: no clash)."""
        return f"{TOPIC_PREFIX}{self.name}.results"

    @property
    def kafka_principal(self) -> str:
        return f"intake-{self.name}"

    @property
    def department(self) -> str:
        """The department as its HTTP token names it (``campaign token``: ``kind`` or ``kind:territory``)."""
        return f"{self.kind}:{self.territory}" if self.territory else self.kind


def load_intake_departments(path: Path | str | None = None) -> tuple[IntakeDepartment, ...]:
    """The table in ``path`` (CAMPAIGN_INTAKE_DEPARTMENTS_FILE), else the bundled one; ValueError when malformed."""
    source = Path(path) if path is not None else BUNDLED
    document = json.loads(source.read_text(encoding="utf-8"))
    departments = []
    for row in document.get("departments", []):
        name = row.get("name", "")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValueError(f"{source}: department name {name!r} must be lower-case words joined by '-'")
        if not isinstance(row.get("kind"), str):
            raise ValueError(f"{source}: department {name} has no kind")
        source = row.get("source")
        if source is not None and (not isinstance(source, str) or not source.strip()):
            raise ValueError(f"{source!r}: department {name}'s source must be a non-empty string (a URI-reference)")
        departments.append(IntakeDepartment(name, row["kind"], row.get("territory"), tuple(row.get("sectors", ())),
                                            row.get("user", "intake"), source))
    if len({d.name for d in departments}) != len(departments):
        raise ValueError(f"{source}: a department name is listed twice")
    return tuple(departments)


def intake_topics(departments: tuple[IntakeDepartment, ...]) -> tuple[str, ...]:
    """Every department's command topic and its results topic."""
    return tuple(topic for d in departments for topic in (d.topic, d.results_topic))
