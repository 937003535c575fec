"""The ``storestack`` CLI against a live server (uvicorn + fake fleet), and serve's first start."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from api import cli, cli_common
from tests.api.conftest import LiveServer
from tests.api.fakes import FAKE_PASSWORD, FakeFleet


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("STORESTACK_CLI_CONFIG", str(tmp_path / "cli.json"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("STORESTACK_URL", raising=False)
    monkeypatch.delenv("STORESTACK_TOKEN", raising=False)
    return CliRunner()


def _auth(server: LiveServer) -> list[str]:
    return ["--url", server.url, "--token", server.harness.alice["Authorization"].split()[1]]


def test_create_wait_list_get_events_credentials_delete(runner: CliRunner, live_server: LiveServer) -> None:
    auth = _auth(live_server)
    result = runner.invoke(cli.app, ["create", "cli-shop", "--title", "CLI", "--wait", *auth])
    assert result.exit_code == 0, result.output
    assert "cli-shop is ready: http://cli-shop.stores.test" in result.output

    listed = runner.invoke(cli.app, ["list", *auth])
    assert listed.exit_code == 0
    assert "cli-shop" in listed.output and "ready" in listed.output
    as_json = runner.invoke(cli.app, ["list", "--json", *auth])
    assert [s["name"] for s in json.loads(as_json.stdout)] == ["cli-shop"]

    got = runner.invoke(cli.app, ["get", "cli-shop", *auth])
    assert got.exit_code == 0
    assert json.loads(got.stdout)["title"] == "CLI"

    events = runner.invoke(cli.app, ["events", "cli-shop", *auth])
    assert events.exit_code == 0
    assert "created" in events.output and "progress" in events.output and "ready" in events.output

    creds = runner.invoke(cli.app, ["credentials", "cli-shop", *auth])
    assert creds.exit_code == 0
    assert FAKE_PASSWORD in creds.output

    deleted = runner.invoke(cli.app, ["delete", "cli-shop", "--wait", *auth])
    assert deleted.exit_code == 0, deleted.output
    assert "cli-shop is deleted" in deleted.output

    followed = runner.invoke(cli.app, ["events", "cli-shop", "--follow", *auth])
    assert followed.exit_code == 0
    assert "deleted" in followed.output


def test_failed_store_reports_its_reason_and_retry(runner: CliRunner, live_server: LiveServer) -> None:
    from stacks.errors import InvalidSpecError

    live_server.harness.fleet.fail("bad-shop", "up", InvalidSpecError("no such image"))
    auth = _auth(live_server)
    result = runner.invoke(cli.app, ["create", "bad-shop", "--wait", *auth])
    assert result.exit_code == 1
    assert "invalid_spec" in result.output and "no such image" in result.output
    retried = runner.invoke(cli.app, ["retry", "bad-shop", "--wait", *auth])
    assert retried.exit_code == 0, retried.output
    assert "bad-shop is ready" in retried.output


def test_api_errors_exit_1_with_the_code(runner: CliRunner, live_server: LiveServer) -> None:
    result = runner.invoke(cli.app, ["get", "missing-shop", *_auth(live_server)])
    assert result.exit_code == 1
    assert "store_not_found" in result.output
    invalid = runner.invoke(cli.app, ["create", "Bad_Name", *_auth(live_server)])
    assert invalid.exit_code == 1
    assert "validation_error" in invalid.output


def test_unreachable_api(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["list", "--url", "http://127.0.0.1:9", "--token", "x"])
    assert result.exit_code == 1
    assert "unreachable" in result.output


def test_missing_token_is_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["list", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "no API token" in result.output


def test_url_and_token_from_env_and_config_file(
    runner: CliRunner, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = live_server.harness.bob["Authorization"].split()[1]
    monkeypatch.setenv("STORESTACK_URL", live_server.url)
    monkeypatch.setenv("STORESTACK_TOKEN", token)
    assert runner.invoke(cli.app, ["create", "env-shop"]).exit_code == 0
    monkeypatch.delenv("STORESTACK_URL")
    monkeypatch.delenv("STORESTACK_TOKEN")
    path = cli_common.write_cli_config(live_server.url, token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = runner.invoke(cli.app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [s["name"] for s in json.loads(listed.stdout)] == ["env-shop"]


def test_token_create_writes_a_hashed_token(
    runner: CliRunner, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORESTACK_DATABASE_URL", live_server.harness.settings.resolved_database_url())
    result = runner.invoke(cli.app, ["token", "create", "--owner", "zed"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("sst_")
    assert runner.invoke(cli.app, ["list", "--url", live_server.url, "--token", token]).exit_code == 0
    admin = runner.invoke(cli.app, ["token", "create", "--owner", "boss", "--admin"])
    assert admin.exit_code == 0
    bad = runner.invoke(cli.app, ["token", "create", "--owner", "Bad Owner"])
    assert bad.exit_code == 2


def test_token_list_and_revoke(
    runner: CliRunner, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORESTACK_DATABASE_URL", live_server.harness.settings.resolved_database_url())
    made = runner.invoke(cli.app, ["token", "create", "--owner", "yan", "--expires-in", "12h"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert runner.invoke(cli.app, ["list", "--url", live_server.url, "--token", token]).exit_code == 0
    listed = runner.invoke(cli.app, ["token", "list", "--owner", "yan"])
    assert listed.exit_code == 0, listed.output
    (row,) = [line.split() for line in listed.stdout.splitlines() if " yan " in f" {line} "]
    assert row[1:3] == ["yan", "owner"] and row[-1] == "active"
    assert token not in listed.stdout
    revoked = runner.invoke(cli.app, ["token", "revoke", row[0]])
    assert revoked.exit_code == 0 and f"token {row[0]} of yan revoked" in revoked.stdout
    refused = runner.invoke(cli.app, ["list", "--url", live_server.url, "--token", token])
    assert refused.exit_code == 1 and "unauthorized" in refused.output
    assert runner.invoke(cli.app, ["token", "list", "--owner", "yan"]).stdout.split()[-1] == "revoked"
    assert runner.invoke(cli.app, ["token", "revoke", "999999"]).exit_code == 1
    assert (
        runner.invoke(cli.app, ["token", "create", "--owner", "yan", "--expires-in", "soon"]).exit_code == 2
    )


def test_serve_first_start_prints_a_login_url_once(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STORESTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STORESTACK_DATABASE_URL", raising=False)
    monkeypatch.setenv("STORESTACK_PULUMI_PASSPHRASE", "pp")
    monkeypatch.setattr(cli, "_real_fleet", lambda settings, engine: FakeFleet())
    started: list[dict[str, Any]] = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append({"app": app, **kwargs}))

    first = runner.invoke(cli.app, ["serve", "--port", "8765", "--host", "127.0.0.1"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:8765/#token=sst_" in first.output
    config = json.loads((tmp_path / "cli.json").read_text())
    assert config["url"] == "http://127.0.0.1:8765"
    assert config["token"] in first.output
    assert stat.S_IMODE((tmp_path / "cli.json").stat().st_mode) == 0o600
    assert started[0]["port"] == 8765 and started[0]["host"] == "127.0.0.1"

    second = runner.invoke(cli.app, ["serve", "--port", "8765"])
    assert second.exit_code == 0
    assert "token=" not in second.output
    assert (tmp_path / "data" / "storestack.db").exists()


def test_cluster_commands_drive_the_sim_cluster(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []
    running = SimpleNamespace(running=True, healthy=True, describe=lambda: "cluster is running")
    stopped = SimpleNamespace(running=False, healthy=False, describe=lambda: "cluster is not running")
    made: list[Any] = []

    class FakeCluster:
        def __init__(self, settings: Any) -> None:
            made.append(settings.cluster_dir())

        def up(self, *, nodes: int, real_node: bool, log: Any) -> Any:
            calls.append(f"up {nodes}" + (" real" if real_node else ""))
            log("[cluster] starting")
            return running

        def down(self, *, log: Any) -> None:
            calls.append("down")

        def status(self) -> Any:
            calls.append("status")
            return stopped if "down" in calls else running

    monkeypatch.setenv("STORESTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cli, "_sim_cluster", FakeCluster)
    up = runner.invoke(cli.app, ["cluster", "up", "--nodes", "2"])
    assert up.exit_code == 0
    assert "[cluster] starting" in up.output and "cluster is running" in up.output
    assert runner.invoke(cli.app, ["cluster", "status"]).exit_code == 0
    assert runner.invoke(cli.app, ["cluster", "down"]).exit_code == 0
    assert runner.invoke(cli.app, ["cluster", "status"]).exit_code == 1
    assert runner.invoke(cli.app, ["cluster", "up", "--real-node"]).exit_code == 0
    assert calls == ["up 2", "status", "down", "status", "up 3 real"]
    assert made[0] == (tmp_path / "data").resolve() / "cluster"
