"""``PATCH /api/v1/stores/{name}`` and ``storestack update``: the state machine of a change, with the
fake fleet (the in-place up on a real engine is in ``tests/cluster/test_store_changes.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from api import cli
from stacks.errors import OperationFailedError
from tests.api.conftest import Harness, LiveServer


def _patch(harness: Harness, name: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return harness.client.patch(f"/api/v1/stores/{name}", json=body, headers=headers or harness.alice)


def test_a_change_is_recorded_and_converged_by_an_up_of_the_new_spec(harness: Harness) -> None:
    harness.create("changing", title="Old Title")
    harness.reconcile()
    ready = harness.store("changing")
    response = _patch(harness, "changing", {"title": "New Title", "admin_email": "Owner@Example.com"})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == "/api/v1/stores/changing"
    assert response.json()["status"] == "pending"
    assert response.json()["title"] == "New Title"
    harness.reconcile()
    after = harness.store("changing")
    assert after["status"] == "ready"
    assert after["created_at"] == ready["created_at"] and after["url"] == ready["url"]
    ups = [spec for spec in harness.fleet.specs if spec.name == "changing"]
    assert [(s.title, s.admin_email) for s in ups] == [
        ("Old Title", "admin@example.com"),
        ("New Title", "Owner@example.com"),  # the domain normalised, as at create
    ]
    changed = [e for e in harness.events("changing") if e["kind"] == "changed"]
    assert len(changed) == 1
    assert changed[0]["actor"] == "alice"
    assert changed[0]["data"]["before"] == {"admin_email": "admin@example.com", "title": "Old Title"}
    assert changed[0]["data"]["after"] == {"admin_email": "Owner@example.com", "title": "New Title"}
    assert "title 'Old Title' → 'New Title'" in changed[0]["message"]
    statuses = [e["data"]["status"] for e in harness.events("changing") if e["kind"] == "status"]
    assert statuses == ["provisioning", "ready", "provisioning", "ready"]


def test_a_change_to_the_same_values_is_200_and_records_nothing(harness: Harness) -> None:
    harness.create("steady", title="Same")
    harness.reconcile()
    events = harness.events("steady")
    response = _patch(harness, "steady", {"title": "Same"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    assert harness.events("steady") == events
    harness.reconcile()
    assert harness.fleet.count("up", "steady") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"title": None}, "title"),
        ({"title": "bad\u202etitle"}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"admin_email": "nobody"}, "admin_email"),
        ({"name": "renamed"}, "name"),  # the name is the store's identity: never changed
        ({"engine": "woocommerce"}, "engine"),
    ],
)
def test_bad_changes_are_422_naming_the_field_and_change_nothing(
    harness: Harness, body: dict[str, Any], field: str
) -> None:
    harness.create("strict", title="Kept")
    harness.reconcile()
    response = _patch(harness, "strict", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"], error
    assert harness.store("strict")["title"] == "Kept"
    assert [e for e in harness.events("strict") if e["kind"] == "changed"] == []


def test_only_the_owner_or_an_admin_may_change_a_store_and_a_deleting_one_not_at_all(
    harness: Harness,
) -> None:
    harness.create("mine")
    harness.reconcile()
    assert _patch(harness, "mine", {"title": "Bob's"}, headers=harness.bob).status_code == 404
    assert _patch(harness, "nothing-here", {"title": "x"}).status_code == 404
    assert _patch(harness, "mine", {"title": "By the admin"}, headers=harness.admin).status_code == 202
    assert harness.client.delete("/api/v1/stores/mine", headers=harness.alice).status_code == 202
    refused = _patch(harness, "mine", {"title": "Too late"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "invalid_state"
    assert "cannot be changed" in refused.json()["error"]["message"]


def test_a_change_during_an_up_cancels_it_and_the_new_spec_goes_up_at_once(harness: Harness) -> None:
    gate = harness.fleet.block("moving", "up")  # the first up would wait 30 s
    harness.create("moving", title="First")
    reconciler = harness.reconciler()
    assert reconciler.tick() == 1
    assert _patch(harness, "moving", {"title": "Second"}).status_code == 202
    assert reconciler.run_until_idle(timeout=10)  # well before the blocked up would end
    gate.set()
    assert harness.fleet.cancelled == ["moving"]
    assert harness.store("moving")["status"] == "ready"
    assert harness.fleet.specs[-1].title == "Second"
    messages = [e["message"] for e in harness.events("moving")]
    assert "provisioning cancelled: the store was changed" in messages


def test_a_change_to_a_failed_store_provisions_it_again(harness: Harness) -> None:
    error = OperationFailedError("up failed (bad_spec): refused", temporary=False)
    harness.fleet.fail("broken", "up", error)
    harness.create("broken")
    harness.reconcile()
    assert harness.store("broken")["status"] == "failed"
    assert _patch(harness, "broken", {"title": "Fixed"}).status_code == 202
    harness.reconcile()
    store = harness.store("broken")
    assert (store["status"], store["title"], store["last_error"]) == ("ready", "Fixed", None)


def test_cli_update(live_server: LiveServer) -> None:
    auth = ["--url", live_server.url, "--token", live_server.harness.alice["Authorization"].split()[1]]
    runner = CliRunner()
    assert runner.invoke(cli.app, ["create", "cli-change", "--wait", *auth]).exit_code == 0
    result = runner.invoke(cli.app, ["update", "cli-change", "--title", "Renamed", "--wait", *auth])
    assert result.exit_code == 0, result.output
    assert "cli-change is ready" in result.output
    same = runner.invoke(cli.app, ["update", "cli-change", "--title", "Renamed", *auth])
    assert same.exit_code == 0, same.output
    assert "nothing to change" in same.output
    empty = runner.invoke(cli.app, ["update", "cli-change", *auth])
    assert empty.exit_code == 2
    assert "--title, --admin-email, --plan, --domain" in empty.output
    bad = runner.invoke(cli.app, ["update", "cli-change", "--admin-email", "nobody", *auth])
    assert bad.exit_code == 1
    assert "validation_error" in bad.output and "admin_email" in bad.output
