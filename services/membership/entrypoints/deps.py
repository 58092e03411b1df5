"""The membership service as the routes take it (their caller and idempotency key: platform_core.http)."""

from typing import Annotated

from fastapi import Depends, Request

from ..bootstrap import Membership


async def membership(request: Request) -> Membership:
    return request.app.state.membership


Service = Annotated[Membership, Depends(membership)]
