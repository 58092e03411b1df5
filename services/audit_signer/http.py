"""The signer's HTTP API (``python -m audit_signer serve``): only the reporting service calls it, with
``Authorization: Bearer <client secret>``. The request and answer shapes follow c2sp.org/tlog-witness
(old size, consistency proof; 409 with the signed size when the old size is not it; 422 when the proof
fails), in JSON."""

import base64
import binascii
import hmac
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator

from platform_core.api_types import MAX_OFFSET
from platform_core.errors import PlatformError
from platform_core.http import ErrorBody, LimitAndMeasureMiddleware, _validation_body
from platform_core.metrics import metrics_payload

from .domain import (
    FORK, NOT_INITIALIZED, OLD_SIZE_MISMATCH, REASONS, STATE_DAMAGED, OldSizeMismatch, SigningRefused, SignRequest,
)
from .signing import LogSigner
from .state_dir import SignedRecord
from .witness_client import WITNESS_OLD_SIZE, WITNESS_UNAVAILABLE, WitnessOldSize

SERVICE = "audit-signer"
MAX_REQUEST_BYTES = 16 * 1024
MAX_PROOF_HASHES = 63  # a consistency proof in a tree of < 2^63 leaves (c2sp.org/tlog-witness)
# A failed proof is 422 (c2sp.org/tlog-witness); a stale old size and a fork 409; no usable record, or no
# witness to cosign, 503.
REFUSAL_STATUS = {NOT_INITIALIZED: 503, STATE_DAMAGED: 503, WITNESS_UNAVAILABLE: 503, OLD_SIZE_MISMATCH: 409,
                  WITNESS_OLD_SIZE: 409, FORK: 409}


class CallerNotAuthenticated(PlatformError):
    status = 401
    code = "unauthenticated"


def _hash(value: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{field} must be base64") from exc
    if len(raw) != 32:
        raise ValueError(f"{field} must be a 32-byte SHA-256 hash, got {len(raw)} bytes")
    return raw


class SignRequestBody(BaseModel):
    old_size: int = Field(ge=0, description="the size of the last checkpoint the signer signed")
    tree_size: int = Field(ge=0)
    root_hash: str = Field(description="base64 of the 32-byte RFC 6962 root")
    proof: list[str] = Field(max_length=MAX_PROOF_HASHES, description="RFC 9162 consistency proof, old_size -> tree_size")
    reason: Literal[REASONS]  # type: ignore[valid-type]
    witness_old_size: int | None = Field(default=None, ge=0, description="after a 409 witness_old_size_mismatch: "
                                                                          "the size the witness last cosigned")
    witness_proof: list[str] = Field(default=[], max_length=MAX_PROOF_HASHES,
                                     description="RFC 9162 consistency proof, witness_old_size -> tree_size")

    @field_validator("root_hash")
    @classmethod
    def _root(cls, value: str) -> str:
        _hash(value, "root_hash")
        return value

    @field_validator("proof", "witness_proof")
    @classmethod
    def _proof(cls, value: list[str]) -> list[str]:
        for number, item in enumerate(value):
            _hash(item, f"proof[{number}]")
        return value

    def command(self) -> SignRequest:
        return SignRequest(self.old_size, self.tree_size, base64.b64decode(self.root_hash),
                           tuple(base64.b64decode(p) for p in self.proof), self.reason, self.witness_old_size,
                           tuple(base64.b64decode(p) for p in self.witness_proof))


class SignedCheckpointPublic(BaseModel):
    checkpoint_id: int
    tree_size: int
    root_hash: str
    signed_at: str | None
    reason: str
    verifier_key: str
    note: str

    @classmethod
    def of(cls, record: SignedRecord) -> "SignedCheckpointPublic":
        return cls(**vars(record))


class SignerStatePublic(BaseModel):
    origin: str
    checkpoint_id: int
    tree_size: int
    root_hash: str
    verifier_key: str


def create_app(signer: LogSigner, client_secret: str) -> FastAPI:
    app = FastAPI(title="audit signer", version="0.1.0",
                  description="Signs the audit log's checkpoints, only when consistent with what it signed before.")
    app.add_middleware(LimitAndMeasureMiddleware, service=SERVICE, max_body_bytes=MAX_REQUEST_BYTES)
    secret = client_secret.encode()

    async def caller(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), secret):
            raise CallerNotAuthenticated("only the reporting service may call the signer: send its client secret "
                                         "as 'Authorization: Bearer <secret>'", field="Authorization")

    Caller = Annotated[None, Depends(caller)]

    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, exc: PlatformError):
        return JSONResponse(status_code=exc.status, content=exc.to_dict())

    @app.exception_handler(SigningRefused)
    async def refused(_: Request, exc: SigningRefused):
        body = {"error": "signing_refused", "reason": exc.reason, "message": exc.message}
        if isinstance(exc, OldSizeMismatch):
            body.update(field="old_size", tree_size=exc.state.tree_size, checkpoint_id=exc.state.checkpoint_id)
        elif isinstance(exc, WitnessOldSize):
            body.update(field="witness_old_size", witness_tree_size=exc.witness_size)
        return JSONResponse(status_code=REFUSAL_STATUS.get(exc.reason, 422), content=body)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content=_validation_body(exc))

    errors = {status: {"model": ErrorBody} for status in (401, 409, 422, 503)}

    @app.post("/checkpoints", status_code=201, response_model=SignedCheckpointPublic, responses=errors)
    def sign(body: SignRequestBody, _: Caller) -> SignedCheckpointPublic:
        """Sign the tree head when the proof leads from the last signed checkpoint to it."""
        return SignedCheckpointPublic.of(signer.sign(body.command()))

    @app.get("/checkpoints/latest", response_model=SignerStatePublic, responses=errors)
    def latest(_: Caller) -> SignerStatePublic:
        """The last checkpoint signed (id 0 and size 0 for a log initialised empty)."""
        state = signer.latest()
        return SignerStatePublic(origin=state.origin, checkpoint_id=state.checkpoint_id, tree_size=state.tree_size,
                                 root_hash=base64.b64encode(state.root_hash).decode(),
                                 verifier_key=signer.verifier_key)

    @app.get("/checkpoints", response_model=list[SignedCheckpointPublic], responses=errors)
    def signed(_: Caller, after_id: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[SignedCheckpointPublic]:
        """Every note signed (or adopted) with an id above ``after_id``, oldest first."""
        return [SignedCheckpointPublic.of(r) for r in signer.records(after_id, limit)]

    add_operations(app, SERVICE, signer.state, "python -m audit_signer init",
                   lambda state: {"checkpoint_id": state.checkpoint_id, "tree_size": state.tree_size})
    return app


def add_operations(app: FastAPI, service: str, read_state, init_command: str, describe) -> None:
    """/healthz, /readyz (ready once an operator initialised the record) and /metrics."""

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Ready when an operator initialised the record (`init`)."""
        try:
            state = read_state()
        except SigningRefused as exc:
            return JSONResponse(status_code=503, content={"status": exc.reason, "message": exc.message})
        if state is None:
            return JSONResponse(status_code=503, content={"status": "not_initialized",
                                                          "message": f"run `{init_command}`"})
        return JSONResponse(content={"status": "ready", **describe(state)})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics (checkpoints signed or cosigned, refusals by reason)."""
        body, content_type = metrics_payload()
        return Response(content=body, media_type=content_type)
