"""A real audit signer process (``python -m audit_signer serve``) on a free port, with its own key, client
secret and state directory, for tests that sign checkpoints of a scratch log; and the environment that
points the reporting code at it."""

import base64
import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from audit_signer.cli import NOT_INITIALIZED_EXIT
from platform_core.local_processes import free_port, stop_all, wait_ready
from platform_core.signed_note import DEFAULT_ORIGIN


@dataclass
class SignerProcess:
    folder: Path  # logs
    port: int
    origin: str
    key_file: Path
    secret_file: Path
    state_dir: Path
    process: subprocess.Popen | None = None
    witness: "WitnessProcess | None" = None

    @classmethod
    def in_folder(cls, folder: Path, origin: str) -> "SignerProcess":
        return cls(folder, free_port(), origin, folder / "signing-key", folder / "client-secret", folder / "state")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def signer_env(self) -> dict[str, str]:
        """The signer's own environment: its key, state and the secret its callers present."""
        env = {"CAMPAIGN_AUDIT_ORIGIN": self.origin, "CAMPAIGN_AUDIT_SIGNING_KEY_FILE": str(self.key_file),
               "CAMPAIGN_SIGNER_STATE_DIR": str(self.state_dir),
               "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE": str(self.secret_file), "CAMPAIGN_SIGNER_PORT": str(self.port)}
        if self.witness is not None:
            env.update(CAMPAIGN_SIGNER_WITNESS_URL=self.witness.url, CAMPAIGN_SIGNER_WITNESS_KEY=self.witness.public_key)
        return env

    def reporting_env(self) -> dict[str, str]:
        """What a reporting process needs to ask this signer (never the key)."""
        return {"CAMPAIGN_AUDIT_ORIGIN": self.origin, "CAMPAIGN_SIGNER_URL": self.url,
                "CAMPAIGN_SIGNER_CLIENT_SECRET_FILE": str(self.secret_file)}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "audit_signer", *args], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **self.signer_env()})

    def metric(self, name: str, **labels: str) -> float:
        return _metric(self.url, name, labels)

    def log(self) -> str:
        path = self.folder / "signer.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class WitnessProcess:
    """A witness (``python -m audit_signer witness serve``) with its own key and record, watching one log."""

    folder: Path
    port: int
    log_key: str  # the log's verifier key
    public_key: str = ""
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"CAMPAIGN_WITNESS_NAME": "witness.example/test", "CAMPAIGN_WITNESS_KEY_FILE": str(self.folder / "key"),
                "CAMPAIGN_WITNESS_STATE_DIR": str(self.folder / "state"), "CAMPAIGN_WITNESS_LOG_KEY": self.log_key,
                "CAMPAIGN_WITNESS_PORT": str(self.port)}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "audit_signer", "witness", *args], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **self.env()})

    def metric(self, name: str, **labels: str) -> float:
        return _metric(self.url, name, labels)


def _metric(url: str, name: str, labels: dict[str, str]) -> float:
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
    raise AssertionError(f"{wanted} is not among the metrics of {url}")


@contextmanager
def running_witness(folder: Path, log_key: str, init: bool = True) -> Iterator[WitnessProcess]:
    folder.mkdir(parents=True, exist_ok=True)
    witness = WitnessProcess(folder, free_port(), log_key)
    made = witness.cli("keygen", str(folder / "key"))
    assert made.returncode == 0, made.stdout + made.stderr
    witness.public_key = made.stdout.strip()
    if init:
        done = witness.cli("init", "--empty")
        assert done.returncode == 0, done.stdout + done.stderr
    witness.process = subprocess.Popen([sys.executable, "-m", "audit_signer", "witness", "serve"],
                                       env={**os.environ, **witness.env(), "CAMPAIGN_LOG_LEVEL": "WARNING"},
                                       stdout=(folder / "witness.log").open("ab"), stderr=subprocess.STDOUT)
    try:
        wait_ready(witness.port, 60, witness.process, "the audit witness", path="/healthz")
        yield witness
    finally:
        stop_all([witness.process])


@contextmanager
def running_signer(folder: Path, origin: str, seed: str | None = None, init: bool = True,
                   witnessed: bool = False) -> Iterator[SignerProcess]:
    """Start a signer with the given key seed (base64; a random one by default), initialised for a new
    (empty) log unless ``init`` is false, with a witness of its own when ``witnessed``; stop them afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    signer = SignerProcess.in_folder(folder, origin)
    signer.key_file.write_text((seed or base64.b64encode(secrets.token_bytes(32)).decode()) + "\n")
    signer.secret_file.write_text(secrets.token_urlsafe(32) + "\n")
    for path in (signer.key_file, signer.secret_file):
        path.chmod(0o600)
    if init:
        done = signer.cli("init", "--empty")
        assert done.returncode == 0, done.stdout + done.stderr
    with ExitStack() as stack:
        if witnessed:
            signer.witness = stack.enter_context(running_witness(folder / "witness", signer.cli("verifier-key").stdout.strip()))
        with serving(signer):
            yield signer


@contextmanager
def serving(signer: SignerProcess) -> Iterator[SignerProcess]:
    signer.process = subprocess.Popen([sys.executable, "-m", "audit_signer", "serve"],
                                      env={**os.environ, **signer.signer_env(), "CAMPAIGN_LOG_LEVEL": "WARNING"},
                                      stdout=(signer.folder / "signer.log").open("ab"), stderr=subprocess.STDOUT)
    try:
        try:
            wait_ready(signer.port, 60, signer.process, "the audit signer", path="/healthz")
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}: {signer.log()[-2000:]}") from exc
        yield signer
    finally:
        stop_all([signer.process])


@contextmanager
def running_stack_signer(run_dir: Path, folder: Path, env: dict[str, str]) -> Iterator[SignerProcess]:
    """The signer of the stack's own log (schema ``reporting``) as scripts/services.sh keeps it: key and client
    secret under ``run_dir/secrets``, record under ``run_dir/signer``. The first time, its record starts from
    what the database shows (an empty log, or the latest checkpoint, which the signer adopts only if its own
    key signed it); on a test stack whose log holds events no checkpoint covers, the test is the operator
    that declares the log new."""
    folder.mkdir(parents=True, exist_ok=True)
    secrets_dir = run_dir / "secrets"
    signer = SignerProcess(folder, free_port(), env.get("CAMPAIGN_AUDIT_ORIGIN", DEFAULT_ORIGIN),
                           secrets_dir / "audit-signing-key", secrets_dir / "signer-client-secret", run_dir / "signer")
    if not signer.key_file.exists():
        assert signer.cli("keygen", str(signer.key_file)).returncode == 0
    if not signer.secret_file.exists():
        assert signer.cli("client-secret", str(signer.secret_file)).returncode == 0
    if signer.cli("status").returncode == NOT_INITIALIZED_EXIT:
        note = folder / "latest-checkpoint.txt"
        start = subprocess.run([sys.executable, "-m", "reporting.audit.signer_start", "--note", str(note)],
                               env=env, capture_output=True, text=True, timeout=120)
        decision = start.stdout.split()
        init = ["init", "--adopt", str(note), "--id", decision[1]] if decision[0] == "adopt" else ["init", "--empty"]
        done = signer.cli(*init)
        assert done.returncode == 0, done.stdout + done.stderr
    with serving(signer):
        yield signer


@contextmanager
def reporting_asks(signer: SignerProcess) -> Iterator[None]:
    """os.environ pointed at ``signer`` for reporting code in this process (bulletins, POST /audit/checkpoints)."""
    saved = {name: os.environ.get(name) for name in signer.reporting_env()}
    os.environ.update(signer.reporting_env())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
