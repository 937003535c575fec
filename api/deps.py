"""FastAPI dependencies shared by the routes: the app context and the calling principal.

The principal comes from ``Authorization: Bearer <token>``; declaring it through the bearer
security scheme puts the requirement into the OpenAPI document of every operation that needs it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import Principal, authenticate
from api.context import AppContext
from api.openapi import bearer_scheme


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


def get_principal(
    ctx: Context,
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 otherwise."""
    return authenticate(ctx.engine, request.headers.get("authorization"))


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
