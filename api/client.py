"""A small HTTP client of the Storestack API, used by the ``storestack`` CLI (and handy in scripts).

Errors come back as ``ClientError`` carrying the API's stable ``code`` and ``message``; the server-
sent event feed is parsed into dicts by ``stream_events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


class ClientError(Exception):
    """The API answered with an error, or could not be reached (``status`` 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ApiClient:
    """Calls ``/api/v1`` with a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(
                0, "unreachable", f"cannot reach {self.base_url} ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            _raise_for(response)
        return response

    def whoami(self) -> dict[str, str]:
        result: dict[str, str] = self._request("GET", "/api/v1/whoami")
        return result

    def create_store(
        self,
        name: str,
        *,
        title: str = "",
        admin_email: str | None = None,
        expires_in_seconds: int | None = None,
        plan: str | None = None,
        domains: list[str] | None = None,
        idempotency_key: str | None = None,
        engine: str = "woocommerce",
        from_backup: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "engine": engine}
        if from_backup is not None:
            body["from_backup"] = from_backup
        if title:
            body["title"] = title
        if admin_email:
            body["admin_email"] = admin_email
        if expires_in_seconds is not None:
            body["expires_in_seconds"] = expires_in_seconds
        if plan is not None:
            body["plan"] = plan
        if domains:
            body["domains"] = domains
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: dict[str, Any] = self._request("POST", "/api/v1/stores", json=body, headers=headers)
        return result

    def list_stores(
        self, *, include_deleted: bool = False, status: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, str] = {"include_deleted": "true" if include_deleted else "false"}
        if status:
            params["status"] = status
        items: list[dict[str, Any]] = self._request("GET", "/api/v1/stores", params=params)["items"]
        return items

    def list_engines(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/engines")
        return result

    def list_plans(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/plans")
        return result

    def get_store(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/api/v1/stores/{name}")
        return result

    def update_store(self, name: str, **changes: Any) -> tuple[dict[str, Any], bool]:
        """PATCH the store (``title=``, ``admin_email=``): the store, and whether a change was
        recorded (202; 200 when every value already was so)."""
        response = self._send("PATCH", f"/api/v1/stores/{name}", json=changes)
        return response.json(), response.status_code == 202

    def delete_store(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("DELETE", f"/api/v1/stores/{name}")
        return result

    def retry_store(self, name: str) -> dict[str, Any]:
        return self.act(name, "retry")

    def act(self, name: str, action: str) -> dict[str, Any]:
        """``POST /stores/{name}/{action}``: retry, repair, check-drift, suspend or resume."""
        result: dict[str, Any] = self._request("POST", f"/api/v1/stores/{name}/{action}")
        return result

    # backups

    def create_backup(self, name: str) -> dict[str, Any]:
        """Ask for a backup of the store now: the job (queued, or the one already queued)."""
        result: dict[str, Any] = self._request("POST", f"/api/v1/stores/{name}/backups")
        return result

    def list_backups(self, name: str) -> dict[str, Any]:
        """``{"backups": [...], "jobs": [...]}``, newest first."""
        result: dict[str, Any] = self._request("GET", f"/api/v1/stores/{name}/backups")
        return result

    def restore_backup(self, name: str, backup_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/api/v1/stores/{name}/backups/{backup_id}/restore")
        return result

    # revisions and rollouts (admins)

    def list_revisions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/revisions")
        return result

    def get_revision(self, number: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/api/v1/revisions/{number}")
        return result

    def create_revision(
        self, changes: dict[str, Any], *, description: str = "", parent: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"changes": changes, "description": description}
        if parent is not None:
            body["parent"] = parent
        result: dict[str, Any] = self._request("POST", "/api/v1/revisions", json=body)
        return result

    def start_rollout(self, revision: int, **options: Any) -> dict[str, Any]:
        """``POST /rollouts``; ``options``: canary, growth, max_concurrency, rollback_all."""
        body = {"revision": revision, **{k: v for k, v in options.items() if v is not None}}
        result: dict[str, Any] = self._request("POST", "/api/v1/rollouts", json=body)
        return result

    def list_rollouts(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/rollouts")
        return result

    def get_rollout(self, rollout_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/api/v1/rollouts/{rollout_id}")
        return result

    def rollout_action(self, rollout_id: int, action: str) -> dict[str, Any]:
        """``POST /rollouts/{id}/{action}``: pause, resume or abort."""
        result: dict[str, Any] = self._request("POST", f"/api/v1/rollouts/{rollout_id}/{action}")
        return result

    def events(self, name: str, *, after: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request(
            "GET", f"/api/v1/stores/{name}/events", params={"after": after}
        )
        return result

    def credentials(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/api/v1/stores/{name}/credentials")
        return result

    def stream_events(self, name: str, *, after: int = 0) -> Iterator[dict[str, Any]]:
        """Follow the store's SSE feed; yields each event (and ``{"kind": "end"}`` at the end)."""
        headers = {"Accept": "text/event-stream"}
        if after:
            headers["Last-Event-ID"] = str(after)
        try:
            with self._http.stream(
                "GET", f"/api/v1/stores/{name}/events", headers=headers, timeout=httpx.Timeout(30, read=None)
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                yield from parse_sse(response.iter_lines())
        except httpx.HTTPError as exc:
            raise ClientError(0, "unreachable", f"event stream broke ({type(exc).__name__})") from None


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Turn SSE lines into event dicts (the JSON ``data``; ``kind`` from the ``event`` field)."""
    kind: str = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                payload = json.loads("\n".join(data))
                if not isinstance(payload, dict):
                    payload = {"data": payload}
                payload.setdefault("kind", kind)
                if kind == "end":
                    payload["kind"] = "end"
                yield payload
            kind, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)


def _raise_for(response: httpx.Response) -> None:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.reason_phrase
    raise ClientError(response.status_code, code, message)
