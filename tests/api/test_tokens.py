"""Token lifecycle: list (never the secret), revoke (admins any, owners their own), expiry, last use;
a revoked or expired token gets 401 on its next request and its open event stream ends."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlmodel import Session, select

from api.client import parse_sse
from api.models import Token
from tests.api.conftest import Harness, LiveServer, bearer


def _make(harness: Harness, owner: str, **extra: object) -> dict[str, object]:
    made = harness.client.post("/api/v1/tokens", json={"owner": owner, **extra}, headers=harness.admin)
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def test_tokens_are_listed_without_their_secret_and_owners_see_only_theirs(harness: Harness) -> None:
    made = _make(harness, "carol", expires_in_seconds=3600)
    assert made["active"] is True and made["expires_at"] is not None and str(made["token"]).startswith("sst_")
    everyone = harness.client.get("/api/v1/tokens", headers=harness.admin)
    assert everyone.status_code == 200
    assert {t["owner"] for t in everyone.json()} >= {"root", "alice", "bob", "carol"}
    assert all("token" not in t and "token_hash" not in t for t in everyone.json())
    mine = harness.client.get("/api/v1/tokens", headers=bearer(str(made["token"]))).json()
    assert [t["id"] for t in mine] == [made["id"]]
    assert mine[0]["last_used_at"] is not None  # this very request used it
    other = harness.client.get(
        "/api/v1/tokens", params={"owner": "alice"}, headers=bearer(str(made["token"]))
    )
    assert other.status_code == 403


def test_revocation_takes_effect_on_the_next_request(harness: Harness) -> None:
    made = _make(harness, "dave")
    token = bearer(str(made["token"]))
    assert harness.client.get("/api/v1/whoami", headers=token).status_code == 200
    # an owner cannot revoke another owner's token (it is not found), but can revoke its own
    alice_id = harness.client.get("/api/v1/tokens", headers=harness.alice).json()[0]["id"]
    refused = harness.client.delete(f"/api/v1/tokens/{alice_id}", headers=token)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "token_not_found"
    revoked = harness.client.delete(f"/api/v1/tokens/{made['id']}", headers=token)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    after = harness.client.get("/api/v1/whoami", headers=token)
    assert after.status_code == 401 and after.json()["error"]["code"] == "unauthorized"
    # admins revoke anyone's; repeating is harmless
    assert harness.client.delete(f"/api/v1/tokens/{alice_id}", headers=harness.admin).status_code == 200
    assert harness.client.delete(f"/api/v1/tokens/{alice_id}", headers=harness.admin).status_code == 200
    assert harness.client.get("/api/v1/stores", headers=harness.alice).status_code == 401
    assert harness.client.delete("/api/v1/tokens/999999", headers=harness.admin).status_code == 404


def test_an_expired_token_is_refused(harness: Harness) -> None:
    made = _make(harness, "erin", expires_in_seconds=60)
    token = bearer(str(made["token"]))
    assert harness.client.get("/api/v1/whoami", headers=token).status_code == 200
    with Session(harness.engine) as session:
        row = session.exec(select(Token).where(Token.id == made["id"])).one()
        row.expires_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert harness.client.get("/api/v1/whoami", headers=token).status_code == 401
    listed = harness.client.get("/api/v1/tokens", params={"owner": "erin"}, headers=harness.admin).json()
    assert listed[0]["active"] is False and listed[0]["revoked_at"] is None


def test_expiry_is_bounded(harness: Harness) -> None:
    for seconds in (0, 59, 10**12):
        response = harness.client.post(
            "/api/v1/tokens", json={"owner": "x", "expires_in_seconds": seconds}, headers=harness.admin
        )
        assert response.status_code == 422
        assert response.json()["error"]["message"].startswith("expires_in_seconds: ")


def test_an_open_event_stream_ends_when_its_token_is_revoked(live_server: LiveServer) -> None:
    harness = live_server.harness
    made = _make(harness, "alice")
    token = bearer(str(made["token"]))
    gate = harness.fleet.block("watched", "up")
    try:
        with httpx.Client(base_url=live_server.url, timeout=httpx.Timeout(10, read=5)) as http:
            assert (
                http.post(
                    "/api/v1/stores", json={"name": "watched", "engine": "woocommerce"}, headers=token
                ).status_code
                == 202
            )
            with http.stream(
                "GET", "/api/v1/stores/watched/events", headers={**token, "Accept": "text/event-stream"}
            ) as response:
                assert response.status_code == 200
                revoked = False
                ended = None
                for event in parse_sse(response.iter_lines()):
                    if not revoked:
                        assert (
                            http.delete(f"/api/v1/tokens/{made['id']}", headers=harness.admin).status_code
                            == 200
                        )
                        revoked = True
                    if event["kind"] == "end":
                        ended = event
                        break
                assert ended == {"reason": "unauthorized", "kind": "end"}
    finally:
        gate.set()
