"""``/healthz`` (the process answers) and ``/readyz`` (the database and the cluster answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.db import ping
from api.deps import Context
from api.schemas import Health, Readiness, ReadyChecks

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database or the cluster does not answer."}},
)
def readyz(ctx: Context) -> JSONResponse:
    """Readiness: 200 when the database and the cluster answer, else 503 naming which does not."""
    database = ping(ctx.engine)
    try:
        cluster = bool(ctx.fleet.cluster_reachable())
    except Exception:
        cluster = False
    ready = database and cluster
    body = Readiness(
        status="ready" if ready else "unready", checks=ReadyChecks(database=database, cluster=cluster)
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)
