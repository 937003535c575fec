"""FastAPI dependencies shared by the routes: the app context and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.auth import Principal, authenticate
from api.context import AppContext


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


def get_principal(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 otherwise."""
    return authenticate(ctx.engine, authorization)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
