"""The registry as the routes take it (their caller and idempotency key: platform_core.http)."""

from typing import Annotated

from fastapi import Depends, Request

from registry.handlers.context import RegistryContext


async def registry_context(request: Request) -> RegistryContext:
    return request.app.state.registry


Service = Annotated[RegistryContext, Depends(registry_context)]
