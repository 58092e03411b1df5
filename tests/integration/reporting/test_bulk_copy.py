"""The replay's bulk writer on the real PostgreSQL: COPY text, index builds after the COPY, failures."""

import threading
import uuid

import pytest
import sqlalchemy as sa

from reporting.adapters.bulk_copy import PlainText, copy_tables, copy_text
from reporting.adapters.projection_store import create_tables
from reporting.adapters.replay import COPIED_TABLES, _drop_indexes
from reporting_support import drop_schema  # noqa: I001 (sets the path)

pytestmark = pytest.mark.integration


@pytest.fixture
def schema(engine):
    name = f"t_copy_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
        conn.execute(sa.text(f"CREATE TABLE {name}.t (id text PRIMARY KEY, note text, tags text[], n int, ok boolean)"))
    yield name
    drop_schema(engine, name)


def test_values_that_need_escaping_arrive_unchanged(engine, schema):
    rows = [("a", "tab\there\nnew line \\ back", ["x,y", 'q"uote', "s p"], 3, True),
            ("b", None, [], None, False), ("c", "中文", ["甲"], -1, None)]
    with engine.begin() as conn:
        copy_tables(conn, [(f"{schema}.t", ("id", "note", "tags", "n", "ok"), rows)])
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT id, note, tags, n, ok FROM {schema}.t ORDER BY id")).all()
    assert [tuple(r) for r in found] == [tuple(r) for r in rows]


def test_plain_text_rows_and_statements_after_a_table(engine, schema):
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {schema}.t DROP CONSTRAINT t_pkey"))
        copy_tables(conn, [(f"{schema}.t", ("id", "note"), PlainText((i, copy_text("g\t1")) for i in ids))],
                    after={f"{schema}.t": [f"ALTER TABLE {schema}.t ADD PRIMARY KEY (id)"]})
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(DISTINCT id), min(note) FROM {schema}.t")).one() == (1000, "g\t1")
        assert conn.execute(sa.text("SELECT count(*) FROM pg_indexes WHERE schemaname = :s"),
                            {"s": schema}).scalar_one() == 1


def test_a_failing_row_source_fails_the_transaction_and_writes_nothing(engine, schema):
    def rows():
        yield ("a", "fine", [], 1, True)
        raise ValueError("the fold's state is broken")

    before = threading.active_count()
    with pytest.raises(ValueError, match="broken"):
        with engine.begin() as conn:
            copy_tables(conn, [(f"{schema}.t", ("id", "note", "tags", "n", "ok"), [("z", None, [], 0, True)]),
                               (f"{schema}.t", ("id", "note", "tags", "n", "ok"), rows())])
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {schema}.t")).scalar_one() == 0
    assert threading.active_count() == before  # the builder thread is gone


def test_a_refused_copy_stops_the_builder_and_raises(engine, schema):
    duplicate = [("a", None, [], 0, True), ("a", None, [], 0, True)]
    many = [(f"{schema}.t", ("id", "note", "tags", "n", "ok"), duplicate)] + \
        [(f"{schema}.t", ("id", "note", "tags", "n", "ok"), [(f"x{i}", None, [], 0, True)]) for i in range(10)]
    before = threading.active_count()
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            copy_tables(conn, many)
    assert threading.active_count() == before


def test_indexes_dropped_for_the_copy_are_built_again_the_same(engine):
    name = f"t_copy_{uuid.uuid4().hex[:10]}"
    indexes = sa.text("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY 2")
    try:
        with engine.begin() as conn:
            create_tables(conn, name)
            conn.execute(sa.text(f"CREATE TABLE {name}.stream_versions (group_id text, topic text, stream_id text,"
                                 " version bigint, previous_version bigint NOT NULL DEFAULT 0,"
                                 " PRIMARY KEY (group_id, topic, stream_id))"))
            created = conn.execute(indexes, {"s": name}).all()
            rebuild = _drop_indexes(conn, name, COPIED_TABLES)
            dropped = {r.tablename for r in conn.execute(indexes, {"s": name})}
            assert not dropped & {*COPIED_TABLES, "stream_versions"}
            for statements in rebuild.values():
                for statement in statements:
                    conn.exec_driver_sql(statement)
            assert conn.execute(indexes, {"s": name}).all() == created
    finally:
        drop_schema(engine, name)
