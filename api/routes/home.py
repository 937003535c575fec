"""The dashboard: ``/`` (the store list and the create form), ``/stores/{name}`` (one store's detail
and history) and ``/static/...`` (its CSS, JavaScript and icon).

Included by ``api.app.create_app`` like every route module. The pages are Jinja2 templates from
``api/templates`` holding no data and no secret: the browser script (``api/static``) reads the API
token from the login URL ``storestack serve`` prints (``/#token=...``), keeps it in
``sessionStorage``, strips it from the address bar and calls ``/api/v1`` with it as a bearer token,
streaming each store's events with ``fetch`` (``EventSource`` cannot send the header). So these
routes need no authentication, never see the token and never render it. Every page goes out with a
strict Content-Security-Policy (scripts and styles from this origin only, no inline code) and
``Referrer-Policy: no-referrer``, so a token still in the URL cannot leak through a ``Referer``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.deps import Context
from api.schemas_engines import ENGINE_LABELS
from stacks.types import ENGINES, STORE_NAME_RE

router = APIRouter(tags=["dashboard"], include_in_schema=False)

HERE = Path(__file__).resolve().parents[1]
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class EngineChoice:
    """One option of the create form's engine menu."""

    value: str
    label: str
    available: bool


def engine_choices(offered: Collection[str]) -> list[EngineChoice]:
    """Every engine the code knows; those the environment does not offer are shown disabled."""
    return [EngineChoice(e, ENGINE_LABELS[e], e in offered) for e in ENGINES]


def _page(template: str, *, status_code: int = 200, **context: object) -> HTMLResponse:
    html = _templates.get_template(template).render(engine_labels=ENGINE_LABELS, **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


@router.get("/", response_class=HTMLResponse)
def dashboard(ctx: Context) -> HTMLResponse:
    """The store list and the create form; the script reads a ``#token=`` fragment, never the server."""
    offered = [engine.name for engine in ctx.engines]
    return _page("dashboard.html", page="dashboard", script="dashboard.js", engines=engine_choices(offered))


@router.get("/stores/{name}", response_class=HTMLResponse)
def store_page(name: str) -> HTMLResponse:
    """One store: status, progress, failure reason, actions and its event history."""
    if not STORE_NAME_RE.fullmatch(name) or "--" in name:
        return _page("missing.html", status_code=404, page="missing", script=None, name=name[:80])
    return _page("store.html", page="store", script="store.js", name=name)


def _static_files() -> dict[str, Path]:
    return {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in MEDIA_TYPES}


STATIC_FILES = _static_files()


@router.get("/static/{filename}")
def static(filename: str, request: Request) -> Response:
    """A file of ``api/static`` (a fixed list, so no path can escape it), revalidated by ETag."""
    path = STATIC_FILES.get(filename)
    if path is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[path.suffix], headers=headers)
