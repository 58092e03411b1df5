"""deploy/stack.py's PostgreSQL standby (`up --pg-standby`, `--pg-sync-standby`, `promote`) without starting it:
its port and files, what the run folder remembers, the replication settings of each side, who gets the read URL,
and the refusals (pure settings; the running standby is exercised by tests/faults/test_fault_pg_failover.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from platform_core.local_processes import stack_module
from test_stack_cluster import settings_for  # the same stack ports, on a run folder of the test's own

ROOT = Path(__file__).resolve().parents[2]
stack = stack_module()


def environment_of(settings, process):
    passfiles = settings.run_dir / "secrets" / "postgres"
    passfiles.mkdir(parents=True, exist_ok=True)
    (passfiles / "campaign_owner.pgpass").write_text("*:*:*:campaign_owner:x\n")  # what `up` makes first
    return stack.process_environment(settings, process, inherited={})


def remember(tmp_path, mode):
    (tmp_path / "pg").mkdir(exist_ok=True)
    (tmp_path / "pg" / "standby").write_text(f"{mode}\n")


def test_no_standby_is_the_default_one_server_and_no_read_url(tmp_path):
    settings = settings_for(tmp_path)
    assert settings.pg_standby == "" and [s.pg_server for s in settings.pg_servers()] == ["primary"]
    assert settings.pg_data == tmp_path / "pg" / "data" and settings.pg_serving_port == 40432
    environment = environment_of(settings, "reporting")
    assert environment["CAMPAIGN_READ_DATABASE_URL"] is None
    assert ":40432/" in environment["CAMPAIGN_DATABASE_URL"]
    assert stack.replication_settings(settings) == ""


def test_the_standby_has_its_own_port_data_socket_and_log(tmp_path):
    settings = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async")
    primary, standby = settings.pg_servers()
    assert (primary.pg_server_port, standby.pg_server_port) == (40432, 40433)
    assert standby.pg_data == tmp_path / "pg" / "standby-data"
    assert len({primary.pg_data, standby.pg_data, primary.pg_socket_dir, standby.pg_socket_dir}) == 4
    assert primary.pg_log != standby.pg_log
    assert settings_for(tmp_path, CAMPAIGN_PG_STANDBY="sync", CAMPAIGN_PG_STANDBY_PORT="41000").pg_standby_port == 41000


def test_only_the_query_endpoints_and_the_operator_get_the_standbys_url(tmp_path):
    settings = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async")
    for process in ("reporting", "registry", "operator"):
        environment = environment_of(settings, process)
        assert ":40433/" in environment["CAMPAIGN_READ_DATABASE_URL"], process
        assert ":40432/" in environment["CAMPAIGN_DATABASE_URL"], process  # writes: the primary
    for worker in ("reporting-processor", "reporting-consumer", "registry-relay", "membership-consumer"):
        assert environment_of(settings, worker)["CAMPAIGN_READ_DATABASE_URL"] is None, worker


def test_the_primary_waits_for_a_synchronous_standby_only_once_it_streams(tmp_path):
    sync = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="sync")
    asynchronous = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async")
    assert "synchronous_standby_names = 'campaign_standby'" in stack.replication_settings(sync, standby_streaming=True)
    assert "synchronous_standby_names = ''" in stack.replication_settings(asynchronous, standby_streaming=True)
    # not before it streams: the stack manager's own commits would wait for a standby not made yet
    assert "synchronous_standby_names = ''" in stack.replication_settings(sync, standby_streaming=False)
    assert "max_slot_wal_keep_size" in stack.replication_settings(asynchronous)
    standby_lines = stack.replication_settings(sync.pg_view("standby"))
    assert "hot_standby_feedback = on" in standby_lines and "synchronous_standby_names" not in standby_lines


def test_the_run_folder_remembers_its_standby_and_the_environment_changes_its_mode(tmp_path):
    remember(tmp_path, "async")
    assert settings_for(tmp_path).pg_standby == "async"
    assert settings_for(tmp_path, CAMPAIGN_PG_STANDBY="sync").pg_standby == "sync"
    assert settings_for(tmp_path, CAMPAIGN_PG_STANDBY="none").pg_standby == ""


def test_a_promoted_standby_is_the_database_from_then_on(tmp_path):
    remember(tmp_path, "promoted")
    settings = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async")  # the data decides, not the wish
    assert settings.pg_promoted and settings.pg_serving_port == 40433
    environment = environment_of(settings, "reporting")
    assert ":40433/" in environment["CAMPAIGN_DATABASE_URL"] and environment["CAMPAIGN_READ_DATABASE_URL"] is None
    assert stack.replication_settings(settings) == stack.replication_settings(settings.pg_view("standby")) == ""


@pytest.mark.parametrize("value", ["promoted", "maybe", "2"])
def test_a_standby_setting_out_of_range_is_refused_by_name(tmp_path, value):
    with pytest.raises(stack.StackError, match="CAMPAIGN_PG_STANDBY"):
        settings_for(tmp_path, CAMPAIGN_PG_STANDBY=value)


def test_a_standby_port_that_collides_is_refused(tmp_path):
    with pytest.raises(stack.StackError, match="CAMPAIGN_PG_STANDBY_PORT"):
        settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async", CAMPAIGN_PG_STANDBY_PORT="40092")


def test_only_the_replication_role_may_copy_the_wal():
    lines = [line.split() for line in stack.hba_conf().splitlines() if line and not line.startswith("#")]
    assert [line[2] for line in lines if line[1] == "replication"] == ["campaign_replicator"]
    assert all(line[-1] in ("scram-sha-256", "reject") or line[0] == "local" for line in lines)


def run_stack(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(CAMPAIGN_RUN_DIR=str(tmp_path), CAMPAIGN_PG_PORT="40432")
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_the_standby_options_are_for_up_only(tmp_path):
    result = run_stack(tmp_path, "status", "--pg-standby")
    assert result.returncode == 1 and "are for `up`" in result.stderr


def test_promote_without_a_standby_says_how_to_make_one(tmp_path):
    result = run_stack(tmp_path, "promote")
    assert result.returncode == 1 and "no PostgreSQL standby" in result.stderr and "--pg-standby" in result.stderr


def test_promote_is_refused_while_the_primary_runs(tmp_path):
    settings = settings_for(tmp_path, CAMPAIGN_PG_STANDBY="async")
    with pytest.raises(stack.StackError, match="two primaries"):
        stack.promote(settings, runner=None, primary_pid=4242, standby_pid=4343)
    with pytest.raises(stack.StackError, match="standby is not running"):
        stack.promote(settings, runner=None, primary_pid=None, standby_pid=None)
