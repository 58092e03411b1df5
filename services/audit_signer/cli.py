"""The signer's command line (operators, on the signer's machine):

    python -m audit_signer serve                  listen on CAMPAIGN_SIGNER_HOST:CAMPAIGN_SIGNER_PORT (127.0.0.1:8105)
    python -m audit_signer init --empty           start the record of a NEW log (nothing appended yet)
    python -m audit_signer init --adopt NOTE      start it at a checkpoint this key signed before [--id N]
    python -m audit_signer status                 the record (exit status 3 while not initialised)
    python -m audit_signer keygen FILE            write a new signing key (Ed25519 seed, mode 600)
    python -m audit_signer client-secret FILE     write the secret reporting presents (mode 600)
    python -m audit_signer verifier-key           the public key inspectors verify checkpoints with
    python -m audit_signer witness serve|init|status|keygen|verifier-key
                                                  the witness: its own key and record (CAMPAIGN_WITNESS_*)
"""

import base64
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from platform_core.cosignature import WitnessKey
from platform_core.signed_note import NoteError, SignerKey

from .bootstrap import build_app, build_signer, build_witness, build_witness_app
from .settings import SignerSettings
from .signing import AlreadyInitialized
from .witness import WitnessSettings

app = typer.Typer(help="The audit log's checkpoint signer.", no_args_is_help=True)
witness_app = typer.Typer(help="The witness that cosigns the log's consistent checkpoints.", no_args_is_help=True)
app.add_typer(witness_app, name="witness")
NOT_INITIALIZED_EXIT = 3


def _serve(name: str, application_factory, host: str, port: int) -> None:
    import uvicorn

    from platform_core.heap import freeze_startup_heap
    from platform_core.logs import configure_logging
    from platform_core.settings import LogSettings

    logs = LogSettings()
    configure_logging(name, logs.log_level, logs.log_format)
    application = application_factory()
    freeze_startup_heap()
    uvicorn.run(application, host=host, port=port, access_log=False, log_config=None)


@app.command()
def serve() -> None:
    """Serve the signing API until stopped."""
    settings = SignerSettings()
    _serve("audit-signer", lambda: build_app(settings), settings.signer_host, settings.signer_port)


@app.command()
def init(empty: Annotated[bool, typer.Option("--empty", help="the log is new: no event appended yet")] = False,
         adopt: Annotated[Path | None, typer.Option(help="a checkpoint note this key signed")] = None,
         checkpoint_id: Annotated[int | None, typer.Option("--id", min=1,
                                                           help="the adopted note's id, if it has no id line")] = None
         ) -> None:
    """Start the signer's record, once: of an empty log, or at a checkpoint its own key signed."""
    _check_one_way(empty, adopt)
    signer = build_signer()
    _initialise(lambda: signer.init_empty() if empty else signer.adopt(adopt.read_text(encoding="utf-8"),
                                                                          checkpoint_id))


def _check_one_way(empty: bool, adopt: Path | None) -> None:
    if empty == (adopt is not None):
        raise typer.BadParameter("give exactly one of --empty and --adopt NOTE")


def _initialise(start) -> None:
    try:
        state = start()
    except (AlreadyInitialized, NoteError, ValueError, OSError) as exc:
        typer.echo(f"not initialised: {exc}", err=True)
        raise typer.Exit(1)
    typer.echo(f"initialised {state.origin}: checkpoint {state.checkpoint_id}, size {state.tree_size}")


def _status(state, origin: str, command: str) -> None:
    if state is None:
        typer.echo(f"{origin}: not initialised ({command} init --empty | --adopt NOTE)")
        raise typer.Exit(NOT_INITIALIZED_EXIT)
    typer.echo(f"{state.origin}: checkpoint {state.checkpoint_id}, size {state.tree_size}, "
               f"root {base64.b64encode(state.root_hash).decode()}")


@app.command()
def status(note: Annotated[Path | None, typer.Option(help="also write the last note signed (or adopted) here")] = None
           ) -> None:
    """Print the signer's record of the last checkpoint it signed."""
    signer = build_signer()
    state = signer.state()
    _status(state, signer.origin, "python -m audit_signer")
    last = signer.directory.last_record()
    if note is not None and state.checkpoint_id and last is not None:
        note.write_text(last.note, encoding="utf-8")


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrites a key
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def _new_key(file: Path) -> bytes:
    """A new Ed25519 seed written to FILE as base64 (mode 600); FILE must not exist."""
    seed = secrets.token_bytes(32)
    try:
        _write_new(file, base64.b64encode(seed).decode())
    except FileExistsError:
        raise typer.BadParameter(f"{file} exists; a key is never overwritten")
    return seed


@app.command()
def keygen(file: Path) -> None:
    """Write a new Ed25519 signing key (base64 seed) to FILE, which must not exist; print its verifier key."""
    typer.echo(SignerKey(SignerSettings().audit_origin, _new_key(file)).verifier().encode())


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


@witness_app.command("serve")
def witness_serve() -> None:
    """Serve the witness API (c2sp.org/tlog-witness add-checkpoint) until stopped."""
    settings = WitnessSettings()
    _serve("audit-witness", lambda: build_witness_app(settings), settings.host, settings.port)


@witness_app.command("init")
def witness_init(empty: Annotated[bool, typer.Option("--empty", help="the log is new")] = False,
                 adopt: Annotated[Path | None, typer.Option(help="a checkpoint note the log's key signed")] = None
                 ) -> None:
    """Start the witness's record, once: of an empty log, or at a checkpoint the log's key signed."""
    _check_one_way(empty, adopt)
    witness = build_witness()
    _initialise(lambda: witness.init_empty() if empty else witness.adopt(adopt.read_text(encoding="utf-8")))


@witness_app.command("status")
def witness_status() -> None:
    """Print the witness's record of the last checkpoint it cosigned."""
    witness = build_witness()
    _status(witness.state(), witness.origin, "python -m audit_signer witness")


@witness_app.command("keygen")
def witness_keygen(file: Path) -> None:
    """Write a new witness key (base64 Ed25519 seed) to FILE, which must not exist; print its public key."""
    typer.echo(WitnessKey(WitnessSettings().name, _new_key(file)).verifier().encode())


@witness_app.command("verifier-key")
def witness_verifier_key() -> None:
    """Print the witness's public key (type 0x04), for the signer's CAMPAIGN_SIGNER_WITNESS_KEY and inspectors."""
    typer.echo(WitnessSettings().witness_key().verifier().encode())
