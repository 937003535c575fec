"""The live event feed over real HTTP (uvicorn): progress and status events, keepalives, resume."""

from __future__ import annotations

import time

import httpx

from api.client import parse_sse
from tests.api.conftest import LiveServer


def _stream(server: LiveServer, name: str, headers: dict[str, str], *, until: str) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    with (
        httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=10)) as http,
        http.stream(
            "GET",
            f"/api/v1/stores/{name}/events",
            headers={**server.harness.alice, "Accept": "text/event-stream", **headers},
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in parse_sse(response.iter_lines()):
            seen.append(event)
            data = event.get("data")
            if event["kind"] == until or (isinstance(data, dict) and data.get("status") == until):
                break
    return seen


def test_sse_streams_progress_until_ready(live_server: LiveServer) -> None:
    harness = live_server.harness
    with httpx.Client(base_url=live_server.url) as http:
        created = http.post(
            "/api/v1/stores", json={"name": "sse-shop", "engine": "woocommerce"}, headers=harness.alice
        )
        assert created.status_code == 202
    events = _stream(live_server, "sse-shop", {}, until="ready")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created"
    progress = [e for e in events if e["kind"] == "progress"]
    assert [p["data"]["done"] for p in progress] == [1, 2, 3, 4]  # type: ignore[index]
    assert all(p["data"]["total"] == 4 for p in progress)  # type: ignore[index]
    assert events[-1]["data"]["status"] == "ready"  # type: ignore[index]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)  # type: ignore[type-var]


def test_sse_resumes_after_last_event_id_and_ends_when_deleted(live_server: LiveServer) -> None:
    harness = live_server.harness
    with httpx.Client(base_url=live_server.url) as http:
        http.post(
            "/api/v1/stores", json={"name": "resume-shop", "engine": "woocommerce"}, headers=harness.alice
        )
        deadline = time.monotonic() + 10
        while http.get("/api/v1/stores/resume-shop", headers=harness.alice).json()["status"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        everything = http.get("/api/v1/stores/resume-shop/events", headers=harness.alice).json()
        cut = everything[2]["id"]
        assert http.delete("/api/v1/stores/resume-shop", headers=harness.alice).status_code == 202
    events = _stream(live_server, "resume-shop", {"Last-Event-ID": str(cut)}, until="end")
    ids = [e["id"] for e in events if e["kind"] != "end"]
    assert ids and min(ids) > cut  # type: ignore[type-var]
    assert {e["id"] for e in everything[3:]} <= set(ids)
    assert events[-1]["kind"] == "end"
    assert any(e["kind"] == "status" and e["data"]["status"] == "deleted" for e in events)  # type: ignore[index]


def test_sse_sends_keepalives(live_server: LiveServer) -> None:
    harness = live_server.harness
    gate = harness.fleet.block("quiet-shop", "up")
    try:
        with httpx.Client(base_url=live_server.url, timeout=httpx.Timeout(10, read=5)) as http:
            http.post(
                "/api/v1/stores", json={"name": "quiet-shop", "engine": "woocommerce"}, headers=harness.alice
            )
            with http.stream(
                "GET",
                "/api/v1/stores/quiet-shop/events",
                headers={**harness.alice, "Accept": "text/event-stream"},
            ) as response:
                for line in response.iter_lines():
                    if line.startswith(": keepalive"):
                        break
    finally:
        gate.set()


def test_sse_needs_auth_and_hides_other_owners(live_server: LiveServer) -> None:
    harness = live_server.harness
    with httpx.Client(base_url=live_server.url) as http:
        http.post(
            "/api/v1/stores", json={"name": "private-shop", "engine": "woocommerce"}, headers=harness.bob
        )
        sse = {"Accept": "text/event-stream"}
        assert http.get("/api/v1/stores/private-shop/events", headers=sse).status_code == 401
        other = http.get("/api/v1/stores/private-shop/events", headers={**sse, **harness.alice})
        assert other.status_code == 404


def test_last_event_id_out_of_range_is_ignored_not_sent_to_the_database() -> None:
    from api.sse import MAX_SQL_INT, parse_last_event_id

    assert parse_last_event_id("42") == 42
    assert parse_last_event_id(str(MAX_SQL_INT)) == MAX_SQL_INT
    for bad in (str(MAX_SQL_INT + 1), str(10**30), "-1", "x", ""):
        assert parse_last_event_id(bad) is None, bad
