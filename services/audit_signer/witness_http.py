"""The witness's HTTP API, as c2sp.org/tlog-witness defines it: ``POST /add-checkpoint`` with ``old <size>``, the
consistency proof lines, an empty line and the signed checkpoint; the answer is the cosignature line (200),
or 409 with the size it last cosigned (``text/x.tlog.size``) or on a fork, 422 when the proof fails, 403/404
for a checkpoint not signed by the log it watches, 400 for a malformed body, 503 before ``init``. No caller
authentication: it cosigns only what the log's key signed and what extends its own record."""

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from platform_core.http import LimitAndMeasureMiddleware

from .domain import FORK, NOT_INITIALIZED, STATE_DAMAGED, OldSizeMismatch, SigningRefused
from .http import add_operations
from .witness import BadSubmission, Witness, parse_submission

SERVICE = "audit-witness"
MAX_REQUEST_BYTES = 16 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"


def create_witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(title="audit witness", version="0.1.0",
                  description="Cosigns the audit log's checkpoints that extend the last one it cosigned.")
    app.add_middleware(LimitAndMeasureMiddleware, service=SERVICE, max_body_bytes=MAX_REQUEST_BYTES)

    @app.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        """Cosign a checkpoint, given a consistency proof from the size last cosigned."""
        try:
            line = witness.add_checkpoint(parse_submission(await request.body()))
        except BadSubmission as exc:
            return PlainTextResponse(exc.message + "\n", status_code=exc.status)
        except OldSizeMismatch as exc:
            return PlainTextResponse(f"{exc.state.tree_size}\n", status_code=409, media_type=SIZE_MEDIA_TYPE)
        except SigningRefused as exc:
            status = {FORK: 409, NOT_INITIALIZED: 503, STATE_DAMAGED: 503}.get(exc.reason, 422)
            return PlainTextResponse(f"{exc.reason}: {exc.message}\n", status_code=status)
        return PlainTextResponse(line)

    add_operations(app, SERVICE, witness.state, "python -m audit_signer witness init",
                   lambda state: {"tree_size": state.tree_size, "verifier_key": witness.verifier_key})
    return app
