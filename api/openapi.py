"""The OpenAPI document's shared parts: the error body, the error responses each operation lists,
stable operation ids and the bearer-token security scheme.

The route modules pass ``errors(...)`` as their ``responses=`` so every status code an operation can
answer is in ``/openapi.json`` with the ``{"error": {"code", "message"}}`` schema, the codes it may
carry and an example of each; ``api.app.create_app`` uses ``operation_id`` for the ids. The contract
test (``tests/e2e/test_contract.py``) fuzzes the running server against this document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="An API token (`sst_...`): `storestack token create`, or the one `storestack serve` "
    "prints on its first start.",
)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable reason; the operation lists the ones it uses")
    message: str = Field(description="one sentence for people; never holds a secret")


class ErrorResponse(BaseModel):
    """Every error the API answers has this body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "store_not_found", "message": "no store named 'x'"}}]
        }
    )

    error: ErrorDetail


_STATUS = {
    400: "The request body is not valid JSON.",
    401: "No bearer token, or one that is not valid.",
    403: "The token's role may not do this.",
    404: "No such store for this caller (another owner's store is reported the same way).",
    409: "The request conflicts with the store's current state.",
    413: "The request body is larger than the server's limit.",
    422: "A parameter, header or body field is invalid; the message names it.",
    429: "A limit was hit; retry after `Retry-After` seconds.",
    502: "The engine failed to read the store.",
    503: "The cluster or the engine is unavailable for now; retry after `Retry-After` seconds.",
}

_EXAMPLES = {
    "invalid_json": "the request body is not valid JSON",
    "unauthorized": "a valid bearer token is required",
    "forbidden": "only admins can create tokens",
    "store_not_found": "no store named 'shop'",
    "token_not_found": "no token with id 7",
    "store_exists": "a store named 'shop' already exists",
    "invalid_state": "store 'shop' is provisioning; only failed stores can be retried",
    "payload_too_large": "the request body is larger than 16384 bytes",
    "validation_error": "name: must be 3-40 characters of lowercase letters, digits and '-'",
    "idempotency_key_reused": "this Idempotency-Key was already used with a different request body",
    "rate_limited": "at most 10 stores may be created per minute",
    "quota_exceeded": "owner 'alice' already has 10 of at most 10 active stores; delete one first",
    "operation_failed": "the engine could not read the store's outputs",
    "cluster_unreachable": "the Kubernetes API server is not reachable",
    "store_busy": "another operation holds the store's stack",
}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}

# What every operation behind the bearer token, and every one with a body, can answer.
AUTH = {401: ("unauthorized",)}
BODY = {400: ("invalid_json",), 413: ("payload_too_large",)}
VALIDATION = {422: ("validation_error",)}


def errors(*groups: Mapping[int, tuple[str, ...]]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation: one entry per status code with its error codes."""
    merged: dict[int, list[str]] = {}
    for group in groups:
        for status, codes in group.items():
            merged.setdefault(status, [])
            merged[status] += [c for c in codes if c not in merged[status]]
    responses: dict[int | str, dict[str, Any]] = {}
    for status, names in sorted(merged.items()):
        examples = {
            code: {"value": {"error": {"code": code, "message": _EXAMPLES.get(code, code.replace("_", " "))}}}
            for code in names
        }
        entry: dict[str, Any] = {
            "model": ErrorResponse,
            "description": f"{_STATUS[status]} Codes: " + ", ".join(f"`{c}`" for c in names) + ".",
            "content": {"application/json": {"examples": examples}},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        responses[status] = entry
    return responses


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route function's name (``create_store``, ``list_stores``...)."""
    return route.name


def document_offered_plans(app: FastAPI, plans: Sequence[str], engines: Sequence[str]) -> None:
    """Narrow the documented ``plan`` of the create and change bodies to the environment's plans
    (an enum, or only ``null`` when it offers none), and the create body's ``engine`` to its
    engines: the document then says which values this server takes, and a client generated from it
    can offer exactly those."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            schema["components"]["schemas"]["CreateStoreRequest"]["properties"]["engine"]["enum"] = list(
                engines
            )
            for model in ("CreateStoreRequest", "UpdateStoreRequest"):
                field = schema["components"]["schemas"][model]["properties"]["plan"]
                field.pop("pattern", None)
                choices: list[dict[str, Any]] = [{"type": "string", "enum": list(plans)}] if plans else []
                field["anyOf"] = [*choices, {"type": "null"}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
