"""``/api/v1/stores/{name}/backups``: back a store up, list its backups, restore one into it.

Each route calls one ``api.services.backups.BackupService`` method: the asking routes record a job
(run by the reconciler, ``api.backup_jobs``) and answer ``202`` with it; the job's progress shows in
the listing's ``jobs`` and as ``backup`` events of the store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import Context, CurrentPrincipal
from api.input_rules import BACKUP_ID_PATTERN
from api.openapi import AUTH, VALIDATION, errors
from api.routes.stores import NOT_FOUND, StoreName
from api.schemas_backups import BackupJobOut, BackupList

router = APIRouter(prefix="/api/v1", tags=["backups"])
_ASK = errors(
    AUTH, NOT_FOUND, VALIDATION, {409: ("invalid_state", "backups_not_configured"), 503: ("unavailable",)}
)
_RESTORE = errors(
    AUTH,
    VALIDATION,
    {
        404: ("store_not_found", "backup_not_found"),
        409: ("invalid_state", "backups_not_configured"),
        503: ("unavailable",),
    },
)
_LIST = errors(AUTH, NOT_FOUND, VALIDATION, {503: ("unavailable",)})
BackupId = Annotated[str, Path(min_length=1, max_length=64, pattern=BACKUP_ID_PATTERN)]


def _accepted(job: BackupJobOut) -> JSONResponse:
    return JSONResponse(job.model_dump(mode="json"), status_code=202)


@router.post("/stores/{name}/backups", status_code=202, response_model=BackupJobOut, responses=_ASK)
def create_backup(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> JSONResponse:
    """Back the store up now: a consistent dump of its database and an archive of its app's files,
    in the object store. Answers the job already queued or running, if there is one."""
    return _accepted(ctx.backups.request_backup(principal, name))


@router.get("/stores/{name}/backups", response_model=BackupList, responses=_LIST)
def list_backups(name: StoreName, ctx: Context, principal: CurrentPrincipal) -> BackupList:
    """The store's complete backups, newest first, with size and age; and its latest jobs."""
    return ctx.backups.list(principal, name)


@router.post(
    "/stores/{name}/backups/{backup_id}/restore",
    status_code=202,
    response_model=BackupJobOut,
    responses=_RESTORE,
)
def restore_backup(
    name: StoreName, backup_id: BackupId, ctx: Context, principal: CurrentPrincipal
) -> JSONResponse:
    """Put the backup's data back into the store: it goes to ``restoring``, its database and files
    are replaced by the backup's, its app restarts, and it is ``ready`` again."""
    return _accepted(ctx.backups.request_restore(principal, name, backup_id))
