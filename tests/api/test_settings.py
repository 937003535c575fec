"""Settings: environment prefix, defaults, the generated passphrase file, the FleetConfig."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from api.settings import Settings


def test_environment_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STORESTACK_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("STORESTACK_PORT", "9123")
    monkeypatch.setenv("STORESTACK_ENVIRONMENT", "local")
    monkeypatch.setenv("STORESTACK_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.delenv("STORESTACK_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.port == 9123
    assert settings.environment == "local"
    assert settings.tools_dir == tmp_path / "tools"
    assert settings.resolved_database_url() == f"sqlite:///{(tmp_path / 'd' / 'storestack.db').resolve()}"
    assert settings.resolved_public_url() == "http://127.0.0.1:9123"


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("STORESTACK_DATA_DIR", "STORESTACK_TOOLS_DIR"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert "~" not in str(settings.data_dir)
    assert str(settings.data_dir).endswith(".local/share/storestack")
    assert str(settings.tools_dir).endswith(".cache/storestack/tools")


def test_passphrase_is_generated_once_with_mode_600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pulumi_passphrase=None)
    first = settings.passphrase().get_secret_value()
    second = Settings(data_dir=tmp_path, pulumi_passphrase=None).passphrase().get_secret_value()
    assert first == second
    assert len(first) >= 32
    path = tmp_path / "passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_explicit_passphrase_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pulumi_passphrase="given")
    assert settings.passphrase().get_secret_value() == "given"
    assert not (tmp_path / "passphrase").exists()


def test_fleet_config(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        tools_dir=tmp_path / "tools",
        kubeconfig=tmp_path / "kubeconfig",
        environment="prod",
        pulumi_backend_url="s3://bucket/prefix",
        pulumi_passphrase="pp",
    )
    config = settings.fleet_config()
    assert config.data_dir == (tmp_path / "data").resolve()
    assert config.tools_dir == (tmp_path / "tools").resolve()
    assert config.kubeconfig == tmp_path / "kubeconfig"
    assert config.environment == "prod"
    assert config.backend_url == "s3://bucket/prefix"
    assert config.passphrase.get_secret_value() == "pp"


def test_sim_environment_uses_the_simulated_clusters_kubeconfig(tmp_path: Path) -> None:
    sim = Settings(data_dir=tmp_path, environment="sim", pulumi_passphrase="pp", kubeconfig=None)
    assert sim.fleet_config().kubeconfig == tmp_path.resolve() / "cluster" / "kubeconfig"
    real = Settings(data_dir=tmp_path, environment="realnode", pulumi_passphrase="pp", kubeconfig=None)
    assert real.fleet_config().kubeconfig == tmp_path.resolve() / "cluster" / "kubeconfig"
    local = Settings(data_dir=tmp_path, environment="local", pulumi_passphrase="pp", kubeconfig=None)
    assert local.fleet_config().kubeconfig is None
