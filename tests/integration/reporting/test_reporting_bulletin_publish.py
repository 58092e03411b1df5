"""Publishing a bulletin on the real stack: as-of figures, signed checkpoint, BulletinPublished,
files; the offline verifier re-derives its figures from the audit log; a full replay regenerates
the data file byte for byte."""

import hashlib
import json
import sys
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from reporting_support import (  # noqa: I001 (sets the path)
    create_topics, delete_topics, drop_schemas_like, fill_audit_log, make_context, publish)
from reporting_scenario import campaign
from platform_core.auth import Forbidden, Principal
from platform_core.errors import AlreadyExists, RuleViolation, SchemaViolation
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import verify_files
from reporting.bootstrap import checkpoint_signer
from reporting.handlers import bulletins
from reporting.handlers.rederive_bulletin import BulletinRederiver
from signer_process import reporting_asks, running_signer

pytestmark = pytest.mark.integration
CITY = Principal(department="city_org", kind="city_org", user="tester")
DISTRICT = Principal(department="district_org:420102", kind="district_org", user="tester", territory="420102")
CUTOFF = date(2016, 9, 25)


@pytest.fixture
def signer(tmp_path):
    """The signer process the bulletin's checkpoint is asked from (reporting holds no key)."""
    with running_signer(tmp_path / "signer", "campaign.example/test/bulletins") as process, reporting_asks(process):
        yield process


@pytest.fixture
def logged(engine, settings):
    """The scenario's events on fresh topics, reporting on a scratch schema, every event in its audit log."""
    topics = create_topics(settings.kafka_bootstrap)
    schema = f"t_rpb_{uuid.uuid4().hex[:8]}"
    context = make_context(settings, schema, topics["reporting"])
    try:
        context.migrate()
        publish(settings.kafka_bootstrap, topics, campaign().events)
        fill_audit_log(engine, settings.kafka_bootstrap, schema, topics)
        yield topics, schema, context
    finally:
        context.engine.dispose()
        drop_schemas_like(engine, schema)
        delete_topics(settings.kafka_bootstrap, topics)


def test_publish_verify_and_regenerate(engine, settings, tmp_path, signer, logged):
    topics, schema, context = logged
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

    # A full replay regenerates the data file byte for byte (with the document it was published with).
    assert bulletins.regenerate(context, CUTOFF, figures, tuple(topics.values())) == figures
    # A bulletin published before the 通报 (figures format 1, no document) still verifies.
    old = replace(bulletins.figures(context, CUTOFF, tuple(topics.values())), figures_format=1).data_bytes()
    assert b"figures_format" not in old and b"work_coverage" not in old
    (folder / "figures.json").write_bytes(old)
    report = verify_files(tmp_path / "keys.vkey", tmp_path / "checkpoint.txt", tmp_path / "events.jsonl",
                          rederivers=[BulletinRederiver.from_directory(folder)])
    assert report.ok, report.render()


def test_edited_narrative_is_published_signed_and_verified(engine, settings, tmp_path, signer, logged, capsys):
    """The city department drafts, edits and publishes; the PDF carries the 文号, 主送 and the edited text, its
    dates are the publication date; the new figures are re-derived by the inspectors' path; a narrative changed
    in the store afterwards fails verification. 文号 numbers follow each other per year."""
    import shutil
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit"))
    from audit_fixtures import publish_outbox  # the relay, as the audit tests run it
    from reporting.audit.export import export_bundle
    from reporting.audit.verify import main as verify_main
    from reporting.domain.reports import city_date

    assert shutil.which("pdftotext") and shutil.which("pdfinfo"), "poppler-utils: scripts/test.sh installs it"
    topics, schema, context = logged
    signs = partial(checkpoint_signer, context)
    later = date(2016, 11, 25)
    drafted = bulletins.draft(context, CITY, later, topics=tuple(topics.values()))
    assert drafted["narrative"].startswith("一、进展") and "二、存在问题" in drafted["narrative"]
    assert drafted["recipients"][0] == "各区委组织部"
    with pytest.raises(Forbidden):  # a district may neither draft nor publish the city's 通报
        bulletins.draft(context, DISTRICT, later, topics=tuple(topics.values()))
    edited = drafted["narrative"] + "\n4. 市委组织部将于12月初组织专项督查。"
    with pytest.raises(SchemaViolation) as refused:  # nothing is signed or stored for a bad text
        bulletins.publish(context, CITY, later, signer=signs, topics=tuple(topics.values()),
                          narrative=edited + "\x07")
    assert (refused.value.field, refused.value.rule) == ("narrative", "narrative_characters")
    assert bulletins.published(context, later) is None

    first = bulletins.publish(context, CITY, CUTOFF, signer=signs, topics=tuple(topics.values()))
    done = bulletins.publish(context, CITY, later, signer=signs, topics=tuple(topics.values()), narrative=edited)
    year = city_date(datetime.now(timezone.utc)).year
    assert first.document_number == f"武组通〔{year}〕1号" and done.document_number == f"武组通〔{year}〕2号"

    retried = bulletins.publish(context, CITY, later, signer=signs, topics=tuple(topics.values()), narrative=edited,
                                idempotency_key="retry")
    assert retried.replayed and retried.document_number == done.document_number
    with pytest.raises(AlreadyExists):  # a retry with another text does not pass for the published one
        bulletins.publish(context, CITY, later, signer=signs, topics=tuple(topics.values()), narrative="一、进展\n另一稿",
                          idempotency_key="retry")
    data = json.loads(bulletins.bulletin_file(context, later, "json")[0])
    assert data["document"]["narrative"] == edited and data["document"]["narrative_edited"] is True
    assert data["document"]["number"] == done.document_number
    assert data["total"]["rates"]["work_coverage"] == {"numerator": 2, "denominator": 4, "percent": "50.00"}
    assert data["total"]["change"]["standalone_rate_points"] is not None and "since_start" in data["total"]
    (tmp_path / "b.pdf").write_bytes(bulletins.bulletin_file(context, later, "pdf")[0])
    text = subprocess.run(["pdftotext", str(tmp_path / "b.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout.replace("\n", "")
    for expected in (done.document_number, "各区委组织部，市直机关工委", "市委组织部将于12月初组织专项督查。",
                     "一、进展", "二、存在问题", "三、下步要求"):
        assert expected in text, expected
    info = subprocess.run(["pdfinfo", "-isodates", str(tmp_path / "b.pdf")], check=True, capture_output=True,
                          text=True).stdout
    published_on = data["document"]["published_on"]
    assert f"CreationDate:    {published_on}T00:00:00+08" in info and f"ModDate:         {published_on}" in info

    # The inspectors' path: the BulletinPublished events reach the log, a later checkpoint covers them, the
    # export is verified with the bulletins re-derived (the new figures included).
    publish_outbox(engine, schema, settings.kafka_bootstrap)
    fill_audit_log(engine, settings.kafka_bootstrap, schema, topics)
    checkpoint_signer(context).sign_now()
    export_bundle(engine, schema, tmp_path / "export", source="log")
    argv = ["--keys", str(tmp_path / "export" / "audit-keys.vkey"), "--checkpoints",
            str(tmp_path / "export" / "checkpoints"), "--events", str(tmp_path / "export" / "events.jsonl")]
    assert verify_main(argv) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert f"bulletin {later}: figures.json (with its narrative) is the file BulletinPublished recorded" in out
    assert f"bulletin {later}: the figures re-derived" in out

    # The narrative altered in the store afterwards: the verifier refuses it.
    with engine.begin() as conn:
        stored = bytes(conn.execute(sa.text(f"SELECT figures_json FROM {schema}.bulletins WHERE cutoff_date = :c"),
                                    {"c": later}).scalar())
        altered = stored.replace("专项督查".encode(), "表彰大会".encode())
        assert altered != stored
        conn.execute(sa.text(f"UPDATE {schema}.bulletins SET figures_json = :f WHERE cutoff_date = :c"),
                     {"f": altered, "c": later})
    export_bundle(engine, schema, tmp_path / "export2", source="log")
    argv = [a.replace(str(tmp_path / "export"), str(tmp_path / "export2")) for a in argv]
    assert verify_main(argv) == 1
    out = capsys.readouterr().out
    assert f"bulletin {later}: figures.json has SHA-256" in out and "altered after publication" in out
