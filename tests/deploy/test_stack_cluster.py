"""deploy/stack.py's replicated cluster (`up --brokers 3`) without starting it: each node's ports, files and
configuration, what the run folder remembers, and the refusals (pure settings; no JVM)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from platform_core.local_processes import stack_module

ROOT = Path(__file__).resolve().parents[2]
stack = stack_module()


def settings_for(tmp_path, **environ):
    return stack.load_settings({"CAMPAIGN_RUN_DIR": str(tmp_path), "CAMPAIGN_KAFKA_PORT": "40092",
                                "CAMPAIGN_KAFKA_CONTROLLER_PORT": "40093", "CAMPAIGN_PG_PORT": "40432", **environ})


def test_one_broker_is_the_default_and_keeps_the_single_brokers_files(tmp_path):
    settings = settings_for(tmp_path)
    assert settings.kafka_brokers == 1 and settings.kafka_bootstrap == "127.0.0.1:40092"
    assert settings.kafka_data == tmp_path / "kafka" / "data" and settings.kafka_pid_file.name == "kafka.pid"
    assert (settings.replication_factor, settings.min_insync_replicas) == (1, 1)


def test_three_nodes_each_have_their_ports_files_and_the_whole_quorum(tmp_path):
    settings = settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS="3")
    nodes = settings.nodes()
    assert [(n.kafka_node, n.node_port, n.node_controller_port) for n in nodes] == [
        (1, 40092, 40093), (2, 40102, 40103), (3, 40112, 40113)]
    assert settings.kafka_bootstrap == "127.0.0.1:40092,127.0.0.1:40102,127.0.0.1:40112"
    assert settings.controller_quorum_voters == "1@127.0.0.1:40093,2@127.0.0.1:40103,3@127.0.0.1:40113"
    assert len({n.kafka_data for n in nodes} | {n.kafka_props for n in nodes}) == 6
    assert len({n.kafka_pid_file for n in nodes} | {n.kafka_server_log for n in nodes}) == 6
    assert (settings.replication_factor, settings.min_insync_replicas) == (3, 2)


def test_a_nodes_configuration_names_itself_the_quorum_and_the_replication(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS="3")
    node = settings.nodes()[1]
    properties = dict(line.split("=", 1) for line in stack.server_properties(
        "127.0.0.1", "127.0.0.1", node.node_port, node.node_controller_port, str(node.kafka_data), {},
        node_id=node.kafka_node, voters=settings.controller_quorum_voters,
        replication_factor=settings.replication_factor, min_insync_replicas=settings.min_insync_replicas
    ).splitlines() if line and not line.startswith("#"))
    assert properties["node.id"] == "2"
    assert properties["controller.quorum.voters"] == settings.controller_quorum_voters
    assert properties["listeners"] == "SASL_PLAINTEXT://127.0.0.1:40102,CONTROLLER://127.0.0.1:40103"
    assert properties["log.dirs"] == str(tmp_path / "kafka" / "data-2")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "default.replication.factor"):
        assert properties[key] == "3"
    assert properties["min.insync.replicas"] == properties["transaction.state.log.min.isr"] == "2"


def test_the_run_folder_remembers_its_brokers_and_the_environment_overrides(tmp_path):
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "brokers").write_text("3\n")
    assert settings_for(tmp_path).kafka_brokers == 3
    assert settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS="1").kafka_brokers == 1


@pytest.mark.parametrize("value", ["0", "6", "three", "-1"])
def test_a_number_of_brokers_out_of_range_is_refused_by_name(tmp_path, value):
    with pytest.raises(stack.StackError, match="CAMPAIGN_KAFKA_BROKERS"):
        settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS=value)


def test_nodes_ports_that_collide_are_refused(tmp_path):
    with pytest.raises(stack.StackError, match="must differ"):
        settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS="3", CAMPAIGN_KAFKA_CONTROLLER_PORT="40102")


def test_the_operator_makes_topics_with_as_many_copies_as_the_cluster_has(tmp_path):
    placement = stack.local_placement(settings_for(tmp_path, CAMPAIGN_KAFKA_BROKERS="3"))
    assert placement.topic_replication_factor == 3
    assert placement.kafka_bootstrap.count(",") == 2


def test_up_with_another_number_of_brokers_than_the_storage_was_made_with_says_what_to_do(tmp_path):
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("version=1\nnode.id=1\ncluster.id=l108lXOFSnO44ukmH0V9YQ\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(CAMPAIGN_RUN_DIR=str(tmp_path), CAMPAIGN_KAFKA_PORT="40092", CAMPAIGN_KAFKA_CONTROLLER_PORT="40093",
               CAMPAIGN_PG_PORT="40432")
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), "up", "--brokers", "3"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "was made with 1 broker(s), not 3" in result.stderr and "rm -rf" in result.stderr
    assert not (tmp_path / "pg").exists() and not (tmp_path / "kafka" / "brokers").exists()


def test_brokers_is_an_option_of_up_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env["CAMPAIGN_RUN_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), "status", "--brokers", "3"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1 and "--brokers is for `up`" in result.stderr
