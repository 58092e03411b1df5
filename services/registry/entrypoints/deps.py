"""Annotated dependencies the routes share."""

from typing import Annotated

from fastapi import Depends, Request

from platform_core.auth import Principal
from platform_core.http import authenticate, idempotency_key
from registry.handlers.context import RegistryContext


async def registry_context(request: Request) -> RegistryContext:
    return request.app.state.registry


Caller = Annotated[Principal, Depends(authenticate)]
Registry = Annotated[RegistryContext, Depends(registry_context)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
