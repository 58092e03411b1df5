"""HTTP scaffolding every service shares: health, readiness, metrics, errors, limits."""

import functools
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import unquote_to_bytes

import anyio
import orjson
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from kafka import KafkaAdminClient
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import clock
from .auth import Forbidden, Principal, Unauthenticated
from .errors import PlatformError
from .heap import freeze_startup_heap
from .kafka_io import kafka_options
from .refusals import insert_refusal
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, OUTBOX_BACKLOG, metrics_payload
from .tokens import TokenVerifier
from .workers import STALE_AFTER_SECONDS, read_dead_workers

log = logging.getLogger(__name__)

GIL_SWITCH_INTERVAL_S = 0.0005


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson: the apps' default response class (routes without a response model, error
    bodies). Routes with a response model keep FastAPI's own path, which pydantic serializes straight to
    bytes. Like the standard one it writes UTF-8 (Chinese as is) and non-string keys as strings."""

    def render(self, content) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # what orjson refuses (an integer past 64 bits) the standard encoder writes
            return super().render(content)


class KafkaReadiness:
    """Keeps one admin client and asks the broker for its cluster description."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._admin: KafkaAdminClient | None = None

    def check(self) -> None:
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(**kafka_options(self.bootstrap), request_timeout_ms=3000,
                                               client_id="readiness")
            self._admin.describe_cluster()
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            finally:
                self._admin = None


def record_refusal(engine: Engine, schema: str, refusal: Forbidden) -> None:
    """Keep the refusal; a failure to record must not turn a 403 into a 500."""
    try:
        with engine.begin() as conn:
            insert_refusal(conn, schema, refusal)
    except Exception:
        log.exception("could not record a refused command")


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the calling department, from ``Authorization: Bearer <token>``.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its thread pool,
    and that hop cost more than the check itself (docs/performance.md); a token's Ed25519 signature is
    verified once per process (platform_core.tokens)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send the department token as 'Authorization: Bearer <token>'",
                              field="Authorization")
    return request.app.state.token_verifier.verify(token.strip())


async def idempotency_key(request: Request) -> str | None:
    """FastAPI dependency: the optional ``Idempotency-Key`` header of a command."""
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        raise PlatformError("Idempotency-Key must be 1 to 200 printable characters", field="Idempotency-Key")
    return key


# The routes of every service take their caller and idempotency key so, and their service object as
# ``Service`` from their entrypoints/deps.py.
Caller = Annotated[Principal, Depends(authenticate)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def in_one_thread(endpoint: Callable) -> Callable:
    """A route doing blocking work (a plain ``def``) as an ``async`` route running it in the thread pool.

    FastAPI runs a plain ``def`` route in its thread pool, and then, when the route has a response model,
    validates the answer in a second hop there; a hop costs ~0.3 ms of CPU on this machine, about a command's
    whole framework cost (docs/performance.md, "Figures behind the code"). Wrapped, the route makes one hop. Its
    signature is the endpoint's (``functools.wraps``); the intake runs the endpoint itself (``__wrapped__``)."""

    @functools.wraps(endpoint)
    async def route(**arguments):
        return await run_in_threadpool(endpoint, **arguments)

    route.runs_in_one_thread = True
    return route


def mark_replayed(response: Response, replayed: bool) -> None:
    """A command answered with the result of its first run (same Idempotency-Key) says so in a header."""
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


def _validation_body(exc: RequestValidationError) -> dict:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(location) or "body", "rule": error.get("msg", "invalid")})
    first = details[0] if details else {"field": "body", "rule": "invalid"}
    return {"error": "validation_failed", "message": f"{first['field']}: {first['rule']}",
            "field": first["field"], "details": details}


class RefuseNulMiddleware:
    """PostgreSQL text and JSONB cannot hold U+0000, so a NUL anywhere in the path, the query or a JSON
    body is refused here with 422 naming where, instead of failing at the database as a 500."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        where = None
        if "\x00" in scope.get("path", ""):
            where = "path"
        elif b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            where = "query"
        content_type = _header(scope, b"content-type")
        if where is None and b"json" in content_type.lower():
            messages, body = [], b""
            while True:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")  # its size is limited as it arrives (LimitAndMeasureMiddleware)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            if b"\\u0000" in body:
                where = _nul_location(body)
            pending = iter(messages)

            async def replay():
                return next(pending, None) or await receive()

            receive = replay
        if where is not None:
            return await FastJSONResponse(status_code=422, content={
                "error": "validation_failed", "field": where,
                "message": f"{where}: U+0000 (NUL) characters are not accepted"})(scope, receive, send)
        await self.app(scope, receive, send)


def _header(scope, name: bytes) -> bytes:
    """A request header's raw value (b"" when absent); ``name`` lower-case, as ASGI servers give them."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return b""


def _nul_location(body: bytes) -> str | None:
    """The dotted path of the first JSON key or string holding a NUL (None when the body is not JSON)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's validation answers 422 for that

    def walk(node, path: str) -> str | None:
        if isinstance(node, str):
            return path if "\x00" in node else None
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            if isinstance(key, str) and "\x00" in key:
                return f"{path}.{key!r}"
            found = walk(child, f"{path}.{key}")
            if found:
                return found
        return None

    return walk(value, "body")


CLOCK_HEADER = "X-Campaign-Clock"
_CLOCK_KEY, _CAMPAIGN_TIME_KEY = CLOCK_HEADER.lower().encode(), clock.HEADER.lower().encode()


class CampaignTimeMiddleware:
    """Runs a request at the time its ``X-Campaign-Time`` header names, when the platform plays a simulated
    campaign (platform_core.clock); otherwise a request carrying the header is refused with 400. Every
    answer says which clock answered it: ``X-Campaign-Clock: real``, or ``simulated`` (with the business
    time the request named, if it named one)."""

    def __init__(self, app, enabled: bool):
        self.app, self.enabled = app, enabled
        self.answered_by = b"simulated" if enabled else b"real"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = _header(scope, _CAMPAIGN_TIME_KEY) or None
        answered_by = self.answered_by

        async def naming_the_clock(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (_CLOCK_KEY, answered_by)]}
            await send(message)

        if raw is None:
            return await self.app(scope, receive, naming_the_clock)
        try:
            if not self.enabled:
                raise PlatformError(f"{clock.HEADER} is accepted only by a platform playing a simulated campaign "
                                    "(CAMPAIGN_SIMULATED_CLOCK); business time here is the real time",
                                    field=clock.HEADER, rule="real clock")
            at = clock.parse_campaign_time(raw.decode("latin-1"))
        except PlatformError as exc:
            return await FastJSONResponse(status_code=exc.status, content=exc.to_dict())(scope, receive,
                                                                                        naming_the_clock)
        answered_by = b"simulated; at=" + at.isoformat().encode()
        with clock.campaign_time(at):
            await self.app(scope, receive, naming_the_clock)


class RequestTooLarge(Exception):
    """Raised from a request's ``receive`` once its body has gone past the limit."""


REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()


def _request_id(given: bytes) -> str:
    """The caller's X-Request-Id when it is a sane one (to follow a request across logs), else a new one."""
    text = given.decode("latin-1")
    return text if 8 <= len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text) else uuid.uuid4().hex


class LimitAndMeasureMiddleware:
    """Limits request bodies, names every request, counts and times it, and logs every 5xx.

    - The body is counted as it arrives, whatever its content type and whether or not it declares a
      Content-Length (chunked): past the limit, 413 in Chinese naming it. A file upload
      (multipart/form-data) may be ``max_upload_bytes``, any other body ``max_body_bytes``.
    - Every answer carries ``X-Request-Id`` (the caller's when sane); a 5xx is logged as JSON with it,
      an unhandled exception included (answered here as a JSON 500 rather than left to the server).
    - Requests are counted by route template and status.
    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs each request
    through an extra task and memory streams, about a fifth of a command's CPU here."""

    def __init__(self, app, service: str, max_body_bytes: int, max_upload_bytes: int | None = None):
        self.app, self.service, self.max_body_bytes = app, service, max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self._measures: dict[tuple[str, str, str], tuple] = {}

    def measures(self, method: str, template: str, status: str) -> tuple:
        """The request counter and latency histogram of a route and status: prometheus_client's ``labels``
        looks them up under a lock on every call; here once per (method, route, status)."""
        key = (method, template, status)
        found = self._measures.get(key)
        if found is None:
            found = self._measures[key] = (HTTP_REQUESTS.labels(self.service, method, template, status),
                                           HTTP_LATENCY.labels(self.service, method, template))
        return found

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        content_type = declared = given_id = b""
        for key, value in scope["headers"]:  # one pass for the three headers this needs
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                declared = value
            elif key == _REQUEST_ID_KEY:
                given_id = value
        upload = content_type.lower().startswith(b"multipart/form-data")
        limit, request_id = self.max_upload_bytes if upload else self.max_body_bytes, _request_id(given_id)
        request_id_header = (_REQUEST_ID_KEY, request_id.encode())
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= limit + DRAIN_BYTES:
                await _drain(receive)
            return await _too_large(limit, request_id)(scope, receive, send)
        started, status, received, ended, crashed = time.perf_counter(), [None], [0], [False], False

        async def counting():
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                ended[0] = not message.get("more_body", False)
                if received[0] > limit:
                    raise RequestTooLarge()
            return message

        async def noting(message):
            if message["type"] == "http.response.start":
                if received[0] > limit:
                    return  # the app's answer to a truncated body is replaced by the 413 below
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), request_id_header]}
            elif received[0] > limit:
                return
            await send(message)

        try:
            await self.app(scope, counting, noting)
        except RequestTooLarge:
            pass
        except Exception:
            if received[0] <= limit:
                log.exception("server error", extra={"request_id": request_id, "method": scope["method"],
                                                     "path": scope.get("path"), "status": 500})
                crashed = True
                if status[0] is None:
                    status[0] = 500
                    await FastJSONResponse(status_code=500, headers={REQUEST_ID_HEADER: request_id}, content={
                        "error": "internal_error", "request_id": request_id,
                        "message": f"服务器内部错误，请稍后重试；如仍失败请提供请求编号 {request_id}"})(scope, receive, send)
                return
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            if received[0] > limit and status[0] is None:
                status[0] = 413
                if not ended[0]:
                    await _drain(receive)
                await _too_large(limit, request_id)(scope, receive, send)
            elif status[0] is not None and status[0] >= 500 and not crashed:
                log.error("server error", extra={"request_id": request_id, "method": scope["method"],
                                                 "path": scope.get("path"), "route": template, "status": status[0]})
            requests, latency = self.measures(scope["method"], template, str(status[0] or 500))
            requests.inc()
            latency.observe(time.perf_counter() - started)


# Before a 413 the rest of a body up to this size is read and dropped (for a few seconds at most): a client
# still sending would otherwise see the connection reset instead of the answer (the server closes a
# connection whose request was not read to its end). Beyond it, the reset.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10


async def _drain(receive) -> None:
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained <= DRAIN_BYTES:
            message = await receive()
            drained += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                return


def _too_large(limit: int, request_id: str) -> JSONResponse:
    return FastJSONResponse(status_code=413, headers={REQUEST_ID_HEADER: request_id, "Connection": "close"}, content={
        "error": "payload_too_large", "field": "body", "rule": f"at most {limit} bytes",
        "message": f"请求体超过上限 {limit} 字节（{limit / 1024 / 1024:.1f} MiB），未写入任何数据；大文件请分批导入"})


class ErrorBody(BaseModel):
    """The platform's error format, as the OpenAPI documents it (every 4xx/5xx body has this shape)."""

    error: str
    message: str
    field: str | None = None
    rule: str | None = None
    details: list[dict] | None = None


# Declared on every service route (service.build_app) so a client, and schemathesis, know each status
# a command may answer besides its success: the handlers raise PlatformError subclasses for these.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "bad request (a malformed header or value)"),
        (401, "no valid department token"),
        (403, "the department may not do this here (recorded)"),
        (404, "not found"),
        (409, "conflict: already exists, concurrent change, an Idempotency-Key reused with another request, "
              "not_yet_projected (something named is not known here yet) or projection_behind (the service has "
              "not yet seen other services' latest events); nothing written, retry after Retry-After"),
        (410, "gone: personal data erased for good (crypto-shredding); nothing to read"),
        (413, "request body or payload too large"),
        (422, "invalid input or a campaign rule (R1-R13) refuses it; field and rule named"),
        (503, "the database is unavailable or the work is busy (an as-of replay); nothing was written, retry"
              " after Retry-After"),
    )
}


def create_service_app(service: str, engine: Engine, kafka_bootstrap: str, token_verifier: TokenVerifier, *,
                       max_request_bytes: int = 1024 * 1024, max_upload_bytes: int = 20 * 1024 * 1024,
                       version: str = "0.1.0",
                       description: str = "", on_startup: Callable[[], None] | None = None,
                       simulated_clock: bool = False, worker_stale_after_s: float = STALE_AFTER_SECONDS) -> FastAPI:
    """A FastAPI app with /healthz, /readyz, /metrics and the platform's error format."""
    readiness = KafkaReadiness(kafka_bootstrap)
    # A command makes several database round trips from a worker thread; after each one the thread
    # waits for the GIL, up to the switch interval (5 ms by default) while another thread computes.
    # 8 commands in flight made that wait most of a command's latency (docs/performance.md).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if on_startup is not None:
            on_startup()
        freeze_startup_heap()
        yield
        readiness.close()

    app = FastAPI(title=f"{service} service", version=version, description=description, lifespan=lifespan,
                  default_response_class=FastJSONResponse)
    app.state.engine = engine
    app.state.readiness = readiness
    app.state.token_verifier = token_verifier
    app.add_middleware(RefuseNulMiddleware)
    if simulated_clock:
        log.warning("simulated campaign clock: requests may name their business time (X-Campaign-Time)")

    app.add_middleware(LimitAndMeasureMiddleware, service=service, max_body_bytes=max_request_bytes,
                       max_upload_bytes=max_upload_bytes)
    # Outermost (added last): every answer names its clock, a 413 or a 500 of the middleware above included.
    app.add_middleware(CampaignTimeMiddleware, enabled=simulated_clock)

    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, exc: PlatformError):
        if isinstance(exc, Forbidden):  # its database write in a worker thread: never on the event loop
            await run_in_threadpool(record_refusal, engine, service, exc)
        retry_after = getattr(exc, "retry_after", None)  # Busy (503), NotYetProjected, ProjectionBehind (409)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return FastJSONResponse(status_code=exc.status, content=exc.to_dict(), headers=headers)

    @app.exception_handler(sa.exc.OperationalError)
    async def database_unavailable(_: Request, exc: sa.exc.OperationalError):
        # Nothing was committed; the client may retry (with the same Idempotency-Key).
        log.warning("database unavailable", extra={"error": str(exc.orig)[:200]})
        return FastJSONResponse(status_code=503, headers={"Retry-After": "1"}, content={
            "error": "database_unavailable", "message": "the database is unavailable; nothing was written, retry"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        return FastJSONResponse(status_code=422, content=_validation_body(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        # keeps the exception's headers: a 405 names the methods the path allows (Allow)
        return FastJSONResponse(status_code=exc.status_code, headers=getattr(exc, "headers", None),
                                content={"error": "http_error", "message": str(exc.detail)})

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        """The process is up."""  # async: no thread-pool hop for a probe that touches nothing
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database and Kafka are reachable, and none of the service's named workers is dead."""
        checks = {}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
                checks["database"] = "ok"
                dead = read_dead_workers(conn, service, worker_stale_after_s)
            checks["workers"] = "ok" if not dead else "; ".join(f"{name} {why}" for name, why in sorted(dead.items()))
        except Exception as exc:  # readiness reports, it does not raise
            if checks:  # the database answered; the workers' table did not (migrations pending?)
                checks["workers"] = f"unreadable: {type(exc).__name__}"
            else:
                checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            readiness.check()
            checks["kafka"] = "ok"
        except Exception as exc:
            checks["kafka"] = f"unreachable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return FastJSONResponse(status_code=200 if ready else 503,
                            content={"status": "ready" if ready else "not_ready", "checks": checks})

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}})
    def metrics() -> Response:
        """Prometheus metrics."""
        try:
            with engine.connect() as conn:
                OUTBOX_BACKLOG.labels(service).set(conn.execute(sa.text(
                    f"SELECT count(*) FROM {service}.outbox WHERE published_at IS NULL")).scalar_one())
        except Exception:
            log.warning("outbox backlog not measurable", exc_info=True)
        body, content_type = metrics_payload()
        return Response(content=body, media_type=content_type)

    return app
