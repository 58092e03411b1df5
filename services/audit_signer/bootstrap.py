"""The one place that wires the signer: settings -> key, state directory -> LogSigner -> app."""

from fastapi import FastAPI

from .http import create_app
from .settings import SignerSettings
from .signing import LogSigner
from .state_dir import SignerDirectory
from .witness import Witness, WitnessSettings
from .witness_http import create_witness_app


def build_signer(settings: SignerSettings | None = None) -> LogSigner:
    """Fails fast when the key file or the state directory is not configured or unreadable."""
    settings = settings or SignerSettings()
    return LogSigner(SignerDirectory(settings.state_dir()), settings.signing_key(), witness=settings.witness())


def build_app(settings: SignerSettings | None = None) -> FastAPI:
    settings = settings or SignerSettings()
    return create_app(build_signer(settings), settings.client_secret())


def build_witness_app(settings: WitnessSettings | None = None) -> FastAPI:
    settings = settings or WitnessSettings()
    return create_witness_app(build_witness(settings))


def build_witness(settings: WitnessSettings | None = None) -> Witness:
    settings = settings or WitnessSettings()
    return Witness(settings.directory(), settings.witness_key(), settings.trusted_log())
