"""ASGI middleware of the app (added by ``api.app.create_app``): the request body size limit (413
before the body is parsed), the last line of defence for unhandled errors (500, no message) and
the security headers of every response."""

from __future__ import annotations

import json
import logging
import secrets

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import where

log = logging.getLogger("storestack.api")


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class BodySizeLimitMiddleware:
    """Reject request bodies over ``max_bytes``: by Content-Length up front, else while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is larger than {self.max_bytes} bytes"
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length > self.max_bytes:
                    await _reject(send, message)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=message)
            return event

        await self.app(scope, limited_receive, send)


async def _reject(send: Send, message: str) -> None:
    body = error_body("payload_too_large", message)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UnhandledErrorMiddleware:
    """Answer an unhandled exception with a 500 ``internal_error`` that names a request id, and log
    the exception's type, the route and that id, never its message (which may hold anything).

    Starlette's own handler for ``Exception`` re-raises after answering, so uvicorn would log the
    full traceback with the message; this middleware stops the exception here instead. Every
    response carries the request's id in ``X-Request-ID``. ``with_messages`` (the
    ``STORESTACK_LOG_ERROR_MESSAGES`` setting, for debugging only) adds the message to the log line.
    """

    def __init__(self, app: ASGIApp, *, with_messages: bool = False) -> None:
        self.app = app
        self.with_messages = with_messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            route = scope.get("route")
            path = getattr(route, "path", None) or "(no route)"
            log.error(
                "unhandled error in %s %s (request %s): %s",
                scope.get("method", "?"),
                path,
                request_id,
                where(exc) + (f"\nmessage: {exc}" if self.with_messages else ""),
            )
            if not started:
                body = error_body("internal_error", f"internal error (request {request_id})")
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})


API_CSP = b"default-src 'none'; frame-ancestors 'none'"
HSTS = b"max-age=31536000"


class SecurityHeadersMiddleware:
    """Headers on every response that a page or route did not set itself: no MIME sniffing, no
    referrer, no framing, a deny-all Content-Security-Policy for the API's JSON (the dashboard and
    ``/docs`` set their own), and HSTS when the request came over TLS or the public URL is https."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if scope.get("path", "").startswith("/api/"):
            extra.append((b"content-security-policy", API_CSP))
        if self.https or scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
