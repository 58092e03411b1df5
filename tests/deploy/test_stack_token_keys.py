"""deploy/stack.py makes the token keys (openssl, no Python packages) that platform_core.tokens reads."""

import os
import subprocess
import sys
from pathlib import Path

from platform_core.auth import Principal
from platform_core.local_processes import stack_module
from platform_core.tokens import load_issuer, load_verifier

ROOT = Path(__file__).resolve().parents[2]
stack = stack_module()


STACK_RUN_DIR = Path(os.environ.get("CAMPAIGN_RUN_DIR") or ROOT / ".run")  # the stack scripts/test.sh started


def env_lines(run_dir: Path) -> dict[str, str]:
    """`stack.py env` of the running stack (it needs the credentials `up` made), none of the caller's secrets."""
    kept = ("CAMPAIGN_KAFKA_PORT", "CAMPAIGN_KAFKA_CONTROLLER_PORT", "CAMPAIGN_PG_PORT")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_") or k in kept}
    environ["CAMPAIGN_RUN_DIR"] = str(run_dir)
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "stack.py"), "env"], env=environ,
                            capture_output=True, text=True, timeout=60, check=True)
    return dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())


def test_env_prints_key_file_paths_and_no_key_material():
    printed = env_lines(STACK_RUN_DIR)
    private, public = Path(printed["CAMPAIGN_TOKEN_ISSUER_KEY_FILE"]), Path(printed["CAMPAIGN_TOKEN_PUBLIC_KEYS_FILE"])
    assert private.parent == public.parent == STACK_RUN_DIR / "secrets"
    assert "CAMPAIGN_AUTH_SECRET" not in printed
    pem = private.read_text()
    assert "PRIVATE KEY" in pem and oct(private.stat().st_mode & 0o777) == "0o600"
    body = "".join(pem.splitlines()[1:-1])
    assert all(body not in value for value in printed.values())
    issuer, verifier = load_issuer(private, "campaign-platform"), load_verifier(public, "campaign-platform")
    assert list(verifier.keys) == [issuer.kid]  # stack.py's thumbprint is platform_core's
    principal = Principal("district_org:420102", "district_org", "u", "420102")
    assert verifier.verify(issuer.issue(principal)) == principal


def test_keys_are_made_once_and_the_set_follows_a_new_issuer_key(tmp_path):
    settings = stack.load_settings({"CAMPAIGN_RUN_DIR": str(tmp_path)})
    private, public = stack.token_key_files(settings)
    first = private.read_bytes(), public.read_bytes()
    assert stack.token_key_files(settings) == (private, public)
    assert (private.read_bytes(), public.read_bytes()) == first
    old_kid = load_issuer(private, "a").kid
    private.unlink()  # a lost private key: a new one is made, the old public key stays until retired
    stack.token_key_files(settings)
    kids = list(load_verifier(public, "a").keys)
    assert kids == [old_kid, load_issuer(private, "a").kid]
