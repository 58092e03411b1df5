"""The signer's command line (operators, on the signer's machine):

    python -m audit_signer serve                  listen on CAMPAIGN_SIGNER_HOST:CAMPAIGN_SIGNER_PORT (127.0.0.1:8105)
    python -m audit_signer init --empty           start the record of a NEW log (nothing appended yet)
    python -m audit_signer init --adopt NOTE      start it at a checkpoint this key signed before [--id N]
    python -m audit_signer status                 the record (exit status 3 while not initialised)
    python -m audit_signer keygen FILE            write a new signing key (Ed25519 seed, mode 600)
    python -m audit_signer client-secret FILE     write the secret reporting presents (mode 600)
    python -m audit_signer verifier-key           the public key inspectors verify checkpoints with
"""

import base64
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from platform_core.signed_note import NoteError, SignerKey

from .bootstrap import build_app, build_signer
from .settings import SignerSettings
from .signing import AlreadyInitialized

app = typer.Typer(help="The audit log's checkpoint signer.", no_args_is_help=True)
NOT_INITIALIZED_EXIT = 3


@app.command()
def serve() -> None:
    """Serve the signing API until stopped."""
    import uvicorn

    from platform_core.heap import freeze_startup_heap
    from platform_core.logs import configure_logging

    settings = SignerSettings()
    configure_logging("audit-signer", os.environ.get("CAMPAIGN_LOG_LEVEL", "INFO"),
                      os.environ.get("CAMPAIGN_LOG_FORMAT", "json"))
    application = build_app(settings)
    freeze_startup_heap()
    uvicorn.run(application, host=settings.signer_host, port=settings.signer_port, access_log=False,
                log_config=None)


@app.command()
def init(empty: Annotated[bool, typer.Option("--empty", help="the log is new: no event appended yet")] = False,
         adopt: Annotated[Path | None, typer.Option(help="a checkpoint note this key signed")] = None,
         checkpoint_id: Annotated[int | None, typer.Option("--id", min=1,
                                                           help="the adopted note's id, if it has no id line")] = None
         ) -> None:
    """Start the signer's record, once: of an empty log, or at a checkpoint its own key signed."""
    if empty == (adopt is not None):
        raise typer.BadParameter("give exactly one of --empty and --adopt NOTE")
    signer = build_signer()
    try:
        state = signer.init_empty() if empty else signer.adopt(adopt.read_text(encoding="utf-8"), checkpoint_id)
    except (AlreadyInitialized, NoteError, ValueError, OSError) as exc:
        typer.echo(f"not initialised: {exc}", err=True)
        raise typer.Exit(1)
    typer.echo(f"initialised {state.origin}: checkpoint {state.checkpoint_id}, size {state.tree_size}")


@app.command()
def status() -> None:
    """Print the signer's record of the last checkpoint it signed."""
    signer = build_signer()
    state = signer.state()
    if state is None:
        typer.echo(f"{signer.origin}: not initialised (python -m audit_signer init --empty | --adopt NOTE)")
        raise typer.Exit(NOT_INITIALIZED_EXIT)
    typer.echo(f"{state.origin}: checkpoint {state.checkpoint_id}, size {state.tree_size}, "
               f"root {base64.b64encode(state.root_hash).decode()}")


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrites a key
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


@app.command()
def keygen(file: Path) -> None:
    """Write a new Ed25519 signing key (base64 seed) to FILE, which must not exist; print its verifier key."""
    seed = base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        _write_new(file, seed)
    except FileExistsError:
        raise typer.BadParameter(f"{file} exists; a signing key is never overwritten")
    typer.echo(SignerKey.from_base64_seed(SignerSettings().audit_origin, seed).verifier().encode())


@app.command("client-secret")
def client_secret(file: Path) -> None:
    """Write a new client secret to FILE, which must not exist (give it to the signer and reporting only)."""
    try:
        _write_new(file, secrets.token_urlsafe(32))
    except FileExistsError:
        raise typer.BadParameter(f"{file} exists")
    typer.echo(f"wrote {file}")


@app.command("verifier-key")
def verifier_key() -> None:
    """Print the verifier key (public) of CAMPAIGN_AUDIT_SIGNING_KEY_FILE, for inspectors' key files."""
    typer.echo(SignerSettings().signing_key().verifier().encode())
