"""``/``: a placeholder landing page until the dashboard lands (``storestack serve`` prints a login
URL pointing here). It never echoes the ``?token=`` it may be opened with."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["home"])

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Storestack</title></head>
<body><h1>Storestack</h1>
<p>The control plane is running. The API lives under <code>/api/v1</code>; see <a href="/docs">/docs</a>.
Use your token as <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>
"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home() -> HTMLResponse:
    return HTMLResponse(PAGE)
