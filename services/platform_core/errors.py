"""Errors a caller can cause, each mapped to one HTTP status at the edge."""


class PlatformError(Exception):
    """Base class: ``status`` is the HTTP status, ``field`` and ``rule`` name what was wrong."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.rule is not None:
            body["rule"] = self.rule
        return body


class ConcurrencyConflict(PlatformError):
    """Another command changed the stream since the caller read it."""

    status = 409
    code = "concurrency_conflict"


class IdempotencyKeyReused(PlatformError):
    """The same idempotency key came with a different request."""

    status = 409
    code = "idempotency_key_reused"


class UnknownEventType(PlatformError):
    status = 422
    code = "unknown_event_type"


class SchemaViolation(PlatformError):
    status = 422
    code = "schema_violation"


class PayloadTooLarge(PlatformError):
    status = 413
    code = "payload_too_large"


class RuleViolation(PlatformError):
    """A command breaks a campaign rule (docs/rules.md R1-R13); ``rule`` names it."""

    status = 422
    code = "rule_violation"


class NotFound(PlatformError):
    status = 404
    code = "not_found"


class Gone(PlatformError):
    """The thing existed and was erased for good (personal data after crypto-shredding)."""

    status = 410
    code = "gone"


class AlreadyExists(PlatformError):
    """The thing exists already; the message names the existing one."""

    status = 409
    code = "already_exists"


class Busy(PlatformError):
    """A shared resource is taken by other work; nothing was done, retry after ``retry_after`` seconds."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None, retry_after: int = 10):
        super().__init__(message, field=field, rule=rule)
        self.retry_after = retry_after


class NotYetProjected(PlatformError):
    """The command names something this service does not know YET (its projection of another service's topic
    lags behind): not a rule violation. Nothing was written; retry after ``retry_after`` seconds."""

    status = 409
    code = "not_yet_projected"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None, retry_after: int = 2):
        super().__init__(message, field=field, rule=rule)
        self.retry_after = retry_after
class ProjectionBehind(PlatformError):
    """A refusal that rests on facts from other services' events, while this service's projection of their
    topics has not yet seen everything they published: not a rule refusal; retry after ``retry_after``."""

    status = 409
    code = "projection_behind"

    def __init__(self, message: str, *, field: str | None = None, retry_after: int = 1,
                 behind: dict[str, int] | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after
        self.behind = dict(behind or {})

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["details"] = [{"topic": topic, "events_behind": count} for topic, count in sorted(self.behind.items())]
        return body
