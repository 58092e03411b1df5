"""HTTP scaffolding every service shares: health, readiness, metrics, errors, limits."""

import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from kafka import KafkaAdminClient
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from .auth import Forbidden, Principal, Unauthenticated, verify_token
from .errors import PlatformError
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, OUTBOX_BACKLOG, metrics_payload

log = logging.getLogger(__name__)


class KafkaReadiness:
    """Keeps one admin client and asks the broker for its cluster description."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._admin: KafkaAdminClient | None = None

    def check(self) -> None:
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000,
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
            conn.execute(sa.text(
                f"INSERT INTO {schema}.refused_commands (department, user_name, permission, target, reason)"
                " VALUES (:d, :u, :p, :t, :r)"),
                {"d": refusal.principal.department, "u": refusal.principal.user,
                 "p": refusal.permission, "t": refusal.target, "r": refusal.message})
    except Exception:
        log.exception("could not record a refused command")
    log.warning("refused command", extra={"department": refusal.principal.department,
                                          "permission": refusal.permission, "reason": refusal.message})


def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the calling department, from ``Authorization: Bearer <token>``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send the department token as 'Authorization: Bearer <token>'",
                              field="Authorization")
    return verify_token(request.app.state.auth_secret, token.strip())


def idempotency_key(request: Request) -> str | None:
    """FastAPI dependency: the optional ``Idempotency-Key`` header of a command."""
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        raise PlatformError("Idempotency-Key must be 1 to 200 printable characters", field="Idempotency-Key")
    return key


def _validation_body(exc: RequestValidationError) -> dict:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(location) or "body", "rule": error.get("msg", "invalid")})
    first = details[0] if details else {"field": "body", "rule": "invalid"}
    return {"error": "validation_failed", "message": f"{first['field']}: {first['rule']}",
            "field": first["field"], "details": details}


def create_service_app(service: str, engine: Engine, kafka_bootstrap: str, auth_secret: str, *,
                       max_request_bytes: int = 1024 * 1024, version: str = "0.1.0",
                       description: str = "", on_startup: Callable[[], None] | None = None) -> FastAPI:
    """A FastAPI app with /healthz, /readyz, /metrics and the platform's error format."""
    readiness = KafkaReadiness(kafka_bootstrap)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if on_startup is not None:
            on_startup()
        yield
        readiness.close()

    app = FastAPI(title=f"{service} service", version=version, description=description, lifespan=lifespan)
    app.state.engine = engine
    app.state.readiness = readiness
    app.state.auth_secret = auth_secret

    @app.middleware("http")
    async def limit_and_measure(request: Request, call_next):
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_request_bytes:
            return JSONResponse(status_code=413, content={
                "error": "payload_too_large", "field": "body",
                "message": f"request body of {declared} bytes exceeds the limit of {max_request_bytes}"})
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(service, request.method, template, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, template).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, exc: PlatformError):
        if isinstance(exc, Forbidden):
            record_refusal(engine, service, exc)
        return JSONResponse(status_code=exc.status, content=exc.to_dict())

    @app.exception_handler(sa.exc.OperationalError)
    async def database_unavailable(_: Request, exc: sa.exc.OperationalError):
        # Nothing was committed; the client may retry (with the same Idempotency-Key).
        log.warning("database unavailable", extra={"error": str(exc.orig)[:200]})
        return JSONResponse(status_code=503, headers={"Retry-After": "1"}, content={
            "error": "database_unavailable", "message": "the database is unavailable; nothing was written, retry"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content=_validation_body(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        return JSONResponse(status_code=exc.status_code, content={"error": "http_error", "message": str(exc.detail)})

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database and Kafka are reachable."""
        checks = {}
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            readiness.check()
            checks["kafka"] = "ok"
        except Exception as exc:
            checks["kafka"] = f"unreachable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(status_code=200 if ready else 503,
                            content={"status": "ready" if ready else "not_ready", "checks": checks})

    @app.get("/metrics", tags=["operations"])
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
