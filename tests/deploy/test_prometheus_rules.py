"""The Prometheus configuration and the audit alert rules are valid (promtool check) and fire on exactly
the signer refusals they watch (promtool test rules, tests/deploy/alerts_test.yml)."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool (the prometheus OS package) is not installed; scripts/test.sh installs it"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, cwd=Path(args[-1]).parent)


def test_the_config_and_its_rule_files_are_valid():
    checked = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout + checked.stderr
    rules = promtool("check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_the_audit_alerts_fire_on_their_refusals_only():
    tested = promtool("test", "rules", str(Path(__file__).with_name("alerts_test.yml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_prometheus_scrapes_the_signer_and_the_alerts_watch_what_it_exports():
    from platform_core.metrics import AUDIT_SIGNER_REFUSALS, AUDIT_WITNESS_REFUSALS

    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert {"job_name": "audit-signer", "static_configs": [{"targets": ["127.0.0.1:8105"]}]} in config["scrape_configs"]
    assert {"job_name": "audit-witness", "static_configs": [{"targets": ["127.0.0.1:8106"]}]} in config["scrape_configs"]
    alerts = (PROMETHEUS / "alerts.yml").read_text()
    assert f"{AUDIT_SIGNER_REFUSALS._name}_total" in alerts and f"{AUDIT_WITNESS_REFUSALS._name}_total" in alerts
