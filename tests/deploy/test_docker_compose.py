"""docker-compose.yml stays valid and true to the project (no engine needed to parse it)."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["registry", "membership", "formation", "reporting"]
DEFAULT_PORTS = {"registry": 8101, "membership": 8102, "formation": 8103, "reporting": 8104}


@pytest.fixture(scope="module")
def compose() -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose (the OS package) is not installed; scripts/test.sh installs it"
    env = {"PATH": "/usr/bin:/bin", "CAMPAIGN_AUTH_SECRET": "x" * 32, "CAMPAIGN_PERSONAL_DATA_KEY": "y" * 32,
           "CAMPAIGN_AUDIT_SIGNING_KEY_FILE": "/secrets/audit-signing-key",
           "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE": "/secrets/signer-client-secret",
           "CAMPAIGN_WITNESS_KEY_FILE": "/secrets/witness-key", "CAMPAIGN_WITNESS_LOG_KEY": "log+00000000+AQ==",
           "CAMPAIGN_SIGNER_WITNESS_KEY": "witness+00000000+BA=="}
    result = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


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
        has_projections = "def build_projections" in (ROOT / "services" / name / "bootstrap.py").read_text()
        if has_projections:
            assert services[f"{name}-consumer"]["command"] == ["campaign", "consume", name]
        if (ROOT / "services" / name / "processors" / "__main__.py").is_file():
            assert services[f"{name}-processor"]["command"] == ["python", "-m", f"{name}.processors", "worker",
                                                               "-l", "info"]


def test_the_default_ports_match_the_local_run_script():
    script = (ROOT / "scripts" / "services.sh").read_text()
    for name, port in DEFAULT_PORTS.items():
        assert f"CAMPAIGN_{name.upper()}_PORT:-{port}" in script


def test_every_named_volume_is_declared(compose):
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_only_the_signer_holds_the_signing_key_and_only_reporting_may_ask_it(compose):
    services = compose["services"]
    signer = services["audit-signer"]
    assert signer["command"] == ["python", "-m", "audit_signer", "serve"]
    assert importlib.util.find_spec("audit_signer.cli") is not None
    holders = {name for name, s in services.items()
               if any(secret["source"] == "audit-signing-key" for secret in s.get("secrets", []))}
    assert holders == {"audit-signer"}
    askers = {name for name, s in services.items()
              if any(secret["source"] == "signer-client-secret" for secret in s.get("secrets", []))}
    assert askers == {"audit-signer", "reporting", "reporting-consumer"}
    for name, service in services.items():
        assert not any("SIGNING_KEY" in k and not k.endswith("_FILE") for k in service.get("environment", {})), name
    # its state on a volume of its own, reachable only on an internal network it shares with reporting
    assert [v.split(":")[0] if isinstance(v, str) else v["source"] for v in signer["volumes"]] == ["signer-state"]
    assert "ports" not in signer and compose["networks"]["signer"]["internal"] is True
    on_signer_network = {name for name, s in services.items() if "signer" in (s.get("networks") or {})}
    assert on_signer_network == {"audit-signer", "audit-witness", "reporting", "reporting-consumer"}
    assert services["reporting"]["environment"]["CAMPAIGN_SIGNER_URL"] == "http://audit-signer:8105"
    # the witness: its own key and volume; the signer asks it
    witness = services["audit-witness"]
    assert witness["command"] == ["python", "-m", "audit_signer", "witness", "serve"]
    assert {s["source"] for s in witness["secrets"]} == {"witness-key"} and "ports" not in witness
    assert [v.split(":")[0] if isinstance(v, str) else v["source"] for v in witness["volumes"]] == ["witness-state"]
    assert signer["environment"]["CAMPAIGN_SIGNER_WITNESS_URL"] == "http://audit-witness:8106"
