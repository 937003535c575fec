"""The app's error handlers: every error becomes ``{"error": {"code", "message"}}`` with a stable code.

Installed by ``api.app.create_app``: the api layer's ``ApiError`` tree, the stacks layer's
``FleetError``, request validation (422 naming the field, in words a user can act on; malformed
JSON 400) and Starlette's HTTP errors (404, 405 with every allowed method, 413). Unhandled
exceptions are ``api.middleware.UnhandledErrorMiddleware``'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError
from stacks.errors import FleetError, StoreNotFoundError

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


# What a pattern or length error on these fields means, in words (the JSON schema has the regex).
RULES = {
    "name": "must be 3-40 characters of lowercase letters, digits and '-', start with a letter, "
    "end with a letter or digit, and have no '--'",
    "owner": "must be 1-64 characters of lowercase letters, digits, '.', '_', '@' and '-'",
    "Idempotency-Key": "must be 1-200 printable ASCII characters without spaces",
}
_SHAPE_ERRORS = ("string_pattern_mismatch", "string_too_short", "string_too_long")
INVALID_JSON = "the request body is not valid JSON (UTF-8, not compressed)"


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _describe(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    field = _field(error.get("loc", ()))
    if kind == "extra_forbidden":
        return f"{field}: unknown field"
    if kind == "missing":
        return f"{field}: required" if field != "body" else "body: a JSON object is required"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return f"{field}: must be a JSON object"
    if kind in _SHAPE_ERRORS and field in RULES:
        return f"{field}: {RULES[field]}"
    if kind == "string_pattern_mismatch":
        return f"{field}: invalid format"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{field}: {message}"


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers or None)


async def _fleet_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FleetError)
    if isinstance(exc, StoreNotFoundError):
        return error_response(404, exc.code, exc.message)
    if exc.temporary:
        return error_response(503, exc.code, exc.message, {"Retry-After": "5"})
    return error_response(502, exc.code, exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [dict(e) for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", INVALID_JSON)
    message = "; ".join(_describe(e) for e in errors[:3])
    if len(errors) > 3:
        message += f"; and {len(errors) - 3} more"
    return error_response(422, "validation_error", message)


def _allowed_methods(request: Request) -> str | None:
    """Every method the API document lists for the request's path (Starlette names only the first
    route's), for the ``Allow`` header of a 405; None for paths outside the document."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 400:  # Starlette could not read the body (bad UTF-8, nesting too deep...)
        code, message = "invalid_json", INVALID_JSON
    allowed = _allowed_methods(request) if exc.status_code == 405 else None
    if allowed:
        headers["Allow"] = allowed
    return error_response(exc.status_code, code, message, headers or None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(FleetError, _fleet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
