"""Publishing a bulletin on the real stack: as-of figures, signed checkpoint, BulletinPublished,
files; the offline verifier re-derives its figures from the audit log; a full replay regenerates
the data file byte for byte."""

import hashlib
import json
import uuid
from datetime import date, datetime, timezone
from functools import partial

import pytest
import sqlalchemy as sa

from reporting_support import (  # noqa: I001 (sets the path)
    create_topics, delete_topics, drop_schemas_like, fill_audit_log, make_context, publish)
from reporting_scenario import campaign
from platform_core.auth import Principal
from platform_core.errors import AlreadyExists, RuleViolation
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import verify_files
from reporting.bootstrap import checkpoint_signer
from reporting.handlers import bulletins
from reporting.handlers.rederive_bulletin import BulletinRederiver
from signer_process import reporting_asks, running_signer

pytestmark = pytest.mark.integration
CITY = Principal(department="city_org", kind="city_org", user="tester")
CUTOFF = date(2016, 9, 25)


@pytest.fixture
def signer(tmp_path):
    """The signer process the bulletin's checkpoint is asked from (reporting holds no key)."""
    with running_signer(tmp_path / "signer", "campaign.example/test/bulletins") as process, reporting_asks(process):
        yield process


def test_publish_verify_and_regenerate(engine, settings, tmp_path, signer):
    topics = create_topics(settings.kafka_bootstrap)
    schema = f"t_rpb_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    try:
        context.migrate()
        publish(settings.kafka_bootstrap, topics, campaign().events)
        fill_audit_log(engine, settings.kafka_bootstrap, schema, topics)
        signs = partial(checkpoint_signer, context)
        with pytest.raises(RuleViolation):  # a day that has not ended cannot be published
            bulletins.publish(context, CITY, CUTOFF, signer=signs, now=datetime(2016, 9, 25, 12, tzinfo=timezone.utc),
                              topics=tuple(topics.values()))
        done = bulletins.publish(context, CITY, CUTOFF, signer=signs, topics=tuple(topics.values()))
        with pytest.raises(AlreadyExists):
            bulletins.publish(context, CITY, CUTOFF, signer=signs, topics=tuple(topics.values()))

        figures, _ = bulletins.bulletin_file(context, CUTOFF, "json")
        assert hashlib.sha256(figures).hexdigest() == done.figures_sha256
        data = json.loads(figures)
        assert data["total"]["rates"]["organization_coverage"] == {"numerator": 8, "denominator": 12,
                                                                   "percent": "66.67"}
        pdf, media = bulletins.bulletin_file(context, CUTOFF, "pdf")
        assert media == "application/pdf" and pdf.startswith(b"%PDF")
        with engine.connect() as conn:
            event = conn.execute(sa.text(f"SELECT payload FROM {schema}.events WHERE type = 'BulletinPublished'")).scalar()
            note = conn.execute(sa.text(f"SELECT checkpoint_note FROM {schema}.bulletins")).scalar()
        assert event["figures_sha256"] == done.figures_sha256 and event["checkpoint_tree_size"] == done.checkpoint_tree_size
        assert done.checkpoint_tree_size == len(campaign().events)  # the audit log held every scenario event
        html, _ = bulletins.bulletin_file(context, CUTOFF, "html")
        assert note.splitlines()[2] in html.decode()

        # Offline: keys, the checkpoint, the events the log holds, and the published bulletin folder.
        store = AuditLogStore(schema)
        with engine.connect() as conn:
            lines = [bytes(e.canonical) for e in store.iter_events(conn, done.checkpoint_tree_size)]
        (tmp_path / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        (tmp_path / "checkpoint.txt").write_text(note, encoding="utf-8")
        (tmp_path / "keys.vkey").write_text(signer.cli("verifier-key").stdout)
        folder = tmp_path / "bulletin"
        folder.mkdir()
        (folder / "figures.json").write_bytes(figures)
        (folder / "manifest.json").write_text(json.dumps({"checkpoint_tree_size": done.checkpoint_tree_size}))
        report = verify_files(tmp_path / "keys.vkey", tmp_path / "checkpoint.txt", tmp_path / "events.jsonl",
                              rederivers=[BulletinRederiver.from_directory(folder)])
        assert report.ok, report.render()
        assert any("re-derived" in line for line in report.passed), report.render()

        # A published figure altered by one: the verifier names it.
        altered = figures.replace(b'"baseline":12', b'"baseline":13', 1)
        assert altered != figures
        (folder / "figures.json").write_bytes(altered)
        report = verify_files(tmp_path / "keys.vkey", tmp_path / "checkpoint.txt", tmp_path / "events.jsonl",
                              rederivers=[BulletinRederiver.from_directory(folder)])
        assert not report.ok and any("total.counters.baseline" in f for f in report.findings), report.render()

        # A full replay regenerates the data file byte for byte.
        regenerated = bulletins.figures(context, CUTOFF, tuple(topics.values()), rebuild=True).data_bytes()
        assert regenerated == figures
    finally:
        context.engine.dispose()
        drop_schemas_like(engine, schema)
        delete_topics(settings.kafka_bootstrap, topics)
