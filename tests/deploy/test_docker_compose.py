"""docker-compose.yml stays valid and true to the project (no engine needed to parse it)."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from platform_core.local_processes import stack_module
from platform_core.services import SERVICES as PLATFORM_SERVICES, load_bootstrap

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [s.name for s in PLATFORM_SERVICES]
DEFAULT_PORTS = {s.name: s.default_port for s in PLATFORM_SERVICES}


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose (the OS package) is not installed; scripts/test.sh installs it"
    # its credentials and per-process environments first, as the file's header says
    made = subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), "compose"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert made.returncode == 0, made.stderr
    result = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env={"PATH": "/usr/bin:/bin",  # the two public keys tying the signer and its witness
                                 "CAMPAIGN_WITNESS_LOG_KEY": "log+00000000+AQ==",
                                 "CAMPAIGN_SIGNER_WITNESS_KEY": "witness+00000000+BA=="})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_each_process_gets_its_own_credentials_and_only_those(compose):
    """The one table (deploy/stack/processes.py) decides: a container mounts its role's password and its Kafka
    principal's, plus its rows' application secrets; its env file is its process's."""
    processes = stack_module().PROCESSES
    services = compose["services"]
    for name in processes:
        if name == "operator":
            continue
        mounted = sorted(secret["source"] for secret in services[name].get("secrets", []))
        assert mounted == sorted(stack_module().service_secrets(name)), name
        environment = (ROOT / ".run" / "compose" / "env" / f"{name}.env").read_text()
        if processes[name].kafka_principal is None:  # the signer and the witness: no broker, no database
            assert "CAMPAIGN_KAFKA_USERNAME" not in environment and "CAMPAIGN_DATABASE_URL" not in environment
            continue
        assert f"CAMPAIGN_KAFKA_USERNAME={processes[name].kafka_principal}\n" in environment
        assert f"postgresql+psycopg2://{processes[name].db_role}@postgres:5432/campaign\n" in environment
    for one_shot in ("topics", "migrate"):
        assert sorted(s["source"] for s in services[one_shot]["secrets"]) == sorted(
            stack_module().service_secrets("operator"))
    assert {s["source"] for s in services["postgres"]["secrets"]} == {
        "postgres-superuser.password", *(f"{role}.pgpass" for role in stack_module().db_roles())}
    secrets_folder = ROOT / ".run" / "compose" / "secrets"
    assert secrets_folder.stat().st_mode & 0o077 == 0  # the files are 0444 for the containers' users


def test_the_broker_requires_sasl_and_acls(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["entrypoint"] == ["/opt/campaign-kafka/start.sh"]
    properties = (ROOT / ".run" / "compose" / "kafka" / "server.properties").read_text()
    assert "listeners=SASL_PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093" in properties
    assert "allow.everyone.if.no.acl.found=false" in properties
    assert "PLAINTEXT://" not in properties.replace("SASL_PLAINTEXT://", "")
    acls = (ROOT / ".run" / "compose" / "kafka" / "acls.sh").read_text()
    assert "--allow-principal User:registry-relay --operation Describe --operation Write --topic registry.events" in acls
    assert compose["services"]["registry"]["depends_on"]["kafka-acls"]["condition"] == "service_completed_successfully"


def test_images_are_the_official_ones_of_the_local_versions(compose):
    assert compose["services"]["kafka"]["image"] == "apache/kafka:3.9.1"
    assert compose["services"]["postgres"]["image"].startswith("postgres:")


def test_every_build_names_files_that_exist(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            context = Path(service["build"]["context"])
            assert (context / service["build"]["dockerfile"]).is_file(), name
            for copied in re.findall(r"^COPY (.+) \S+$", (context / service["build"]["dockerfile"]).read_text(), re.M):
                for path in copied.split():
                    assert (ROOT / path).exists(), f"{name}: Dockerfile copies missing {path}"


def test_every_service_app_relay_and_consumer_is_there_and_exists(compose):
    services = compose["services"]
    for name in SERVICES:
        command = services[name]["command"]
        module = command[command.index("uvicorn") + 1].split(":")[0]
        assert importlib.util.find_spec(module) is not None, module
        assert services[name]["ports"][0]["target"] == DEFAULT_PORTS[name]
        assert services[f"{name}-relay"]["command"] == ["campaign", "relay", name]
        # every projection the service keeps is run by some consumer process (`--projection`: that one only)
        bootstrap = load_bootstrap(name)
        if hasattr(bootstrap, "build_projections"):
            kept = {spec.name for spec in bootstrap.build_projections(SimpleNamespace(schema=name))}
            run: set[str] = set()
            for service in services.values():
                command = service.get("command") or []
                if command[:3] == ["campaign", "consume", name]:
                    options = command[3:]
                    run |= {options[i + 1] for i, option in enumerate(options) if option == "--projection"} or kept
            assert run == kept, name


def test_the_default_ports_match_the_local_run_script(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not (k.startswith("CAMPAIGN_") and k.endswith("_PORT"))}
    urls = subprocess.run([str(ROOT / "scripts" / "services.sh"), "urls"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, env={**environment, "CAMPAIGN_SERVICES_DIR": str(tmp_path)})
    assert urls.returncode == 0, urls.stderr
    listed = {line.split()[0]: line.split()[1] for line in urls.stdout.splitlines()}
    for name, port in DEFAULT_PORTS.items():
        assert listed[name] == f"http://127.0.0.1:{port}/docs"


def test_every_named_volume_is_declared(compose):
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_http_services_get_the_token_public_keys_and_no_container_the_issuers_key(compose):
    for name, service in compose["services"].items():
        mounted = {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}
        assert "token-issuer-key.pem" not in mounted, name
        assert ("token-public-keys.json" in mounted) == (name in SERVICES), name
    for name in SERVICES:
        environment = (ROOT / ".run" / "compose" / "env" / f"{name}.env").read_text()
        assert "CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE=/run/secrets/token-public-keys.json\n" in environment
        assert "CAMPAIGN_TOKEN_ISSUER_KEY_FILE" not in environment and "CAMPAIGN_AUTH_SECRET" not in environment


def test_the_registry_alone_gets_its_personal_data_key_ring_as_a_file(compose):
    """The registry's app and its intake (which runs the same handlers, docs/intake.md)."""
    for name, service in compose["services"].items():
        mounted = {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}
        assert ("registry-personal-data-key" in mounted) == (name in ("registry", "registry-consumer")), name
    for process in ("registry", "registry-consumer"):
        environment = (ROOT / ".run" / "compose" / "env" / f"{process}.env").read_text()
        assert "CAMPAIGN_REGISTRY_PERSONAL_DATA_KEY_FILE=/run/secrets/registry-personal-data-key\n" in environment



def test_only_the_signer_holds_the_signing_key_and_only_reporting_may_ask_it(compose):
    services = compose["services"]
    signer = services["audit-signer"]
    assert signer["command"] == ["python", "-m", "audit_signer", "serve"]
    assert importlib.util.find_spec("audit_signer.cli") is not None

    def mounting(secret: str) -> set[str]:
        return {name for name, s in services.items() if any(x["source"] == secret for x in s.get("secrets", []))}

    assert mounting("audit-signing-key") == {"audit-signer"}
    assert mounting("signer-client-secret") == {"audit-signer", "reporting", "reporting-consumer"}
    assert mounting("witness-key") == {"audit-witness"}
    environment = (ROOT / ".run" / "compose" / "env" / "audit-signer.env").read_text()
    assert "CAMPAIGN_AUDIT_SIGNING_KEY_FILE=/run/secrets/audit-signing-key\n" in environment
    assert "CAMPAIGN_DATABASE_URL" not in environment and "CAMPAIGN_KAFKA_USERNAME" not in environment
    # its state on a volume of its own, reachable only on an internal network it shares with reporting
    assert [v.split(":")[0] if isinstance(v, str) else v["source"] for v in signer["volumes"]] == ["signer-state"]
    assert "ports" not in signer and compose["networks"]["signer"]["internal"] is True
    on_signer_network = {name for name, s in services.items() if "signer" in (s.get("networks") or {})}
    assert on_signer_network == {"audit-signer", "audit-witness", "reporting", "reporting-consumer"}
    assert services["reporting"]["environment"]["CAMPAIGN_SIGNER_URL"] == "http://audit-signer:8105"
    witness = services["audit-witness"]
    assert witness["command"] == ["python", "-m", "audit_signer", "witness", "serve"] and "ports" not in witness
    assert [v.split(":")[0] if isinstance(v, str) else v["source"] for v in witness["volumes"]] == ["witness-state"]
    assert signer["environment"]["CAMPAIGN_SIGNER_WITNESS_URL"] == "http://audit-witness:8106"


def compose_files(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), "compose", *arguments],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_cluster_profile_runs_three_nodes_and_every_process_names_them(compose):
    """`compose --brokers 3` + `docker-compose --profile cluster`: three KRaft nodes of the official image, topics
    with 3 copies and min.insync.replicas 2, every process's bootstrap naming all three; then back to one broker."""
    folder = ROOT / ".run" / "compose"
    (folder / "kafka" / "brokers").unlink()
    try:
        made = compose_files("--brokers", "3")
        assert made.returncode == 0, made.stderr
        assert "--profile cluster up" in made.stdout
        result = subprocess.run([shutil.which("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "--profile",
                                 "cluster", "config"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                                env={"PATH": "/usr/bin:/bin", "CAMPAIGN_WITNESS_LOG_KEY": "log+00000000+AQ==",
                                     "CAMPAIGN_SIGNER_WITNESS_KEY": "witness+00000000+BA=="})
        assert result.returncode == 0, result.stderr
        services = yaml.safe_load(result.stdout)["services"]
        voters = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        for node, name in enumerate(("kafka", "kafka-2", "kafka-3"), start=1):
            service = services[name]
            assert service["image"] == "apache/kafka:3.9.1"
            properties_file = "server.properties" if node == 1 else f"server-{node}.properties"
            assert service["entrypoint"][1:] == ([] if node == 1 else [properties_file])
            assert (name == "kafka") != (service.get("profiles") == ["cluster"])
            named = {v.split(":")[0] for v in service["volumes"] if not v.startswith(("/", "."))}
            assert named == {"kafka-data" if node == 1 else f"kafka-{node}-data"}, service["volumes"]
            properties = dict(line.split("=", 1) for line in (folder / "kafka" / properties_file).read_text().splitlines()
                              if line and not line.startswith("#"))
            assert properties["node.id"] == str(node) and properties["controller.quorum.voters"] == voters
            assert properties["advertised.listeners"] == f"SASL_PLAINTEXT://{name}:9092"
            assert properties["default.replication.factor"] == properties["offsets.topic.replication.factor"] == "3"
            assert properties["min.insync.replicas"] == properties["transaction.state.log.min.isr"] == "2"
        for process in ("registry", "registry-relay", "reporting-processor", "operator"):
            environment = (folder / "env" / f"{process}.env").read_text()
            assert "CAMPAIGN_KAFKA_BOOTSTRAP=kafka:9092,kafka-2:9092,kafka-3:9092\n" in environment, process
        assert "CAMPAIGN_TOPIC_REPLICATION_FACTOR=3\n" in (folder / "env" / "operator.env").read_text()
        # a written cluster keeps its controllers: another number is refused, saying how to start over
        refused = compose_files("--brokers", "1")
        assert refused.returncode == 1 and "written for 3 broker(s)" in refused.stderr and "down -v" in refused.stderr
        assert compose_files().returncode == 0  # without --brokers: what the folder was written for
        assert (folder / "kafka" / "brokers").read_text().strip() == "3"
    finally:
        (folder / "kafka" / "brokers").unlink(missing_ok=True)
        assert compose_files().returncode == 0  # the single broker, as the other tests expect
    assert "CAMPAIGN_KAFKA_BOOTSTRAP=kafka:9092\n" in (folder / "env" / "registry.env").read_text()
