"""``/healthz`` (the process answers) and ``/readyz`` (the database and the cluster answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.db import ping
from api.deps import Context

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: Context) -> JSONResponse:
    database = ping(ctx.engine)
    try:
        cluster = bool(ctx.fleet.cluster_reachable())
    except Exception:
        cluster = False
    ready = database and cluster
    return JSONResponse(
        {"status": "ready" if ready else "unready", "checks": {"database": database, "cluster": cluster}},
        status_code=200 if ready else 503,
    )
