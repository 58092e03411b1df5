"""scripts/services.sh start (and with it scripts/run.sh) fails, naming the process, when a process it
started is not running 10 s later: a worker that dies on start must not pass for a running platform."""

import subprocess

from test_run_and_monitoring import ROOT, services_environment


def test_a_worker_that_dies_on_start_fails_the_start_and_is_named(tmp_path):
    _, env = services_environment(tmp_path)
    env["CAMPAIGN_REPORTING_PROCESSOR_METRICS_PORT"] = "not-a-port"  # its settings refuse it: it exits at once
    script = str(ROOT / "scripts" / "services.sh")
    try:
        started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=300)
        assert started.returncode != 0, started.stdout[-2000:]
        assert "reporting-processor exited after starting" in started.stderr, started.stderr[-3000:]
        assert "metrics_port" in started.stderr  # its last log lines say why
        status = subprocess.run([script, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert "reporting-processor: stopped" in status.stdout and "reporting: running" in status.stdout
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)
